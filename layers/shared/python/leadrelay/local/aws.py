"""AWS on loopback: moto's server, the process environment, and the resources from `definitions`.

moto keeps its state per process, so one server per process is enough: tests and the benchmark can
hand an already running `MotoServer` to several stacks in turn; each stack recreates its tables.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from leadrelay import definitions

REGION = "ap-south-1"
ACCOUNT_ID = "123456789012"  # moto's default account
SERVICE_NAME = "leadrelay"

LOCAL_TABLE_NAMES = {
    definitions.LEADS_TABLE.env_var: "leadrelay-local-leads",
    definitions.ORG_TABLE.env_var: "leadrelay-local-org",
}
LOCAL_BUS_NAME = "leadrelay-local"
LOCAL_DLQ_NAME = "leadrelay-local-route-dlq"
LOCAL_EXPORTS_BUCKET = "leadrelay-local-exports"
# Every event that reaches the local bus is copied here (as infra's audit rule keeps them in a log
# group), so a developer or a test can see what left: `leadrelay` → SQS → receive_message.
LOCAL_EVENTS_QUEUE_NAME = "leadrelay-local-bus-events"
LOCAL_EVENTS_RULE_NAME = "leadrelay-local-all-events"


def quiet_werkzeug() -> None:
    """moto's werkzeug server logs every request; the local stack prints only what matters."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)


class _OneRequestAtATime:
    """WSGI middleware: moto applies a request to shared in-memory state without locks, so two
    concurrent transactions can interleave (and crash deep-copying a table). DynamoDB applies each
    request atomically; serialising requests restores that, while our clients still race between
    their reads and their conditional writes — which is the concurrency worth testing."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: Any, start_response: Any) -> list[bytes]:
        with self.lock:
            return list(self.app(environ, start_response))


def _serialised_moto_server(port: int) -> Any:
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    class SerialisedMotoServer(ThreadedMotoServer):
        def _server_entry(self) -> None:
            app = _OneRequestAtATime(DomainDispatcherApplication(create_backend_app))
            self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
            self._server_ready_event.set()
            self._server.serve_forever()

    return SerialisedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)


# "0" runs moto as released, without `moto_speed`'s patches: slower, but the atomicity the
# concurrency tests rely on is then moto's own (one CI run does this).
MOTO_SPEED_ENV = "LEADRELAY_MOTO_SPEED"


def moto_speed_wanted() -> bool:
    return os.environ.get(MOTO_SPEED_ENV, "1").strip().lower() not in ("0", "false", "no")


class MotoServer:
    """moto's server on 127.0.0.1 and a free port, one request at a time.

    By default it runs in a child process (`python -m leadrelay.local.moto_process`): the handlers,
    the gateway and the poller then have this process's interpreter to themselves while moto works
    on the other core, as DynamoDB would be elsewhere. `LEADRELAY_MOTO_IN_PROCESS=1` (or
    `in_process=True`) keeps it in a thread of this process instead.
    """

    def __init__(self, port: int = 0, *, in_process: bool | None = None, speed: bool | None = None) -> None:
        if in_process is None:
            in_process = os.environ.get("LEADRELAY_MOTO_IN_PROCESS", "") not in ("", "0", "false")
        if speed is None:
            speed = moto_speed_wanted()
        self._server: Any = None
        self._process: subprocess.Popen[bytes] | None = None
        self._stopped = False
        if in_process:
            from leadrelay.local import moto_speed

            quiet_werkzeug()
            if speed:
                moto_speed.install()
            self._server = _serialised_moto_server(port)
            self._server.start()
            host, bound = self._server.get_host_and_port()
        else:
            # The child binds the port itself (0: any free one) and says which, so no other
            # process can take it between a probe and the bind.
            self._process = subprocess.Popen(
                [sys.executable, "-m", "leadrelay.local.moto_process", "--port", str(port)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                env={**os.environ, MOTO_SPEED_ENV: "1" if speed else "0"},
            )
            host, bound = "127.0.0.1", _announced_port(self._process)
        self.endpoint = f"http://{host}:{bound}"

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._server is not None:
            self._server.stop()
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


def _announced_port(process: subprocess.Popen[bytes], timeout: float = 60.0) -> int:
    """The port the moto child listens on, from the one line it prints once it is ready."""
    assert process.stdout is not None
    ready = threading.Event()
    line: list[bytes] = []

    def read() -> None:
        line.append(process.stdout.readline() if process.stdout else b"")
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(timeout) or not line[0].startswith(b"LISTENING "):
        process.kill()
        raise RuntimeError(f"the moto server did not start (exit code {process.poll()}, said {line[:1]!r})")
    return int(line[0].split()[1])


def base_env(endpoint: str) -> dict[str, str]:
    """What every handler sees: where AWS is, fake credentials, and Powertools settings."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "STAGE": "local",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": "LeadRelay",
        # Fake providers on loopback (a test's IndiaMART or Graph) may be set as pull_url / graph_url.
        "PROVIDER_URLS_ALLOW_LOOPBACK": "true",
    }


@contextmanager
def patched_environ(values: Mapping[str, str], remove: tuple[str, ...] = ()) -> Iterator[None]:
    """Set environment variables for the duration of the block, then put the old ones back."""
    saved = {name: os.environ.get(name) for name in (*values, *remove)}
    try:
        for name in remove:
            os.environ.pop(name, None)
        os.environ.update(values)
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


def client(service: str, endpoint: str) -> Any:
    """A boto3 client for the local moto server (independent of the process environment)."""
    import boto3
    from botocore.config import Config

    session: Any = boto3.session.Session()
    return session.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 2, "mode": "standard"}, max_pool_connections=50),
    )


def create_table(dynamodb: Any, table_def: definitions.TableDef, name: str, *, replace: bool = True) -> str:
    """Create `name` from its definition (stream and TTL included); returns its stream ARN or ''."""
    if replace:
        with suppress(dynamodb.exceptions.ResourceNotFoundException):
            dynamodb.delete_table(TableName=name)
    described = dynamodb.create_table(**table_def.create_table_kwargs(name))["TableDescription"]
    if table_def.ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": table_def.ttl_attribute},
        )
    return str(described.get("LatestStreamArn", ""))


def stream_arn_for_lambda(stream_arn: str) -> str:
    """moto builds stream ARNs in us-east-1 at times; Lambda events carry the table's region."""
    parts = stream_arn.split(":")
    if len(parts) > 4 and parts[0] == "arn":
        parts[3] = REGION
    return ":".join(parts)


@dataclass(frozen=True)
class LocalResources:
    """Names and addresses of everything the stack created on moto."""

    endpoint: str
    tables: dict[str, str]  # env var -> table name
    leads_stream_arn: str
    event_bus_name: str
    dlq_url: str
    events_dlq_url: str = ""
    # The queue every event on the local bus is copied to.
    bus_events_queue_url: str = ""
    # Large CSV exports (definitions.EXPORTS); presigned URLs point at the moto server.
    exports_bucket: str = ""

    def env(self) -> dict[str, str]:
        return {
            **base_env(self.endpoint),
            **self.tables,
            definitions.EVENT_BUS_ENV: self.event_bus_name,
            definitions.DLQ_ENV: self.dlq_url,
            definitions.EVENTS_DLQ_ENV: self.events_dlq_url,
            definitions.EXPORTS.env_var: self.exports_bucket,
        }


def create_resources(endpoint: str) -> LocalResources:
    """Tables (from `definitions`), the event bus and the router's on-failure queue."""
    dynamodb = client("dynamodb", endpoint)
    stream_arn = ""
    for table_def in definitions.TABLES:
        arn = create_table(dynamodb, table_def, LOCAL_TABLE_NAMES[table_def.env_var])
        if table_def is definitions.LEADS_TABLE:
            stream_arn = arn
    events = client("events", endpoint)
    with suppress(events.exceptions.ResourceAlreadyExistsException):
        events.create_event_bus(Name=LOCAL_BUS_NAME)
    sqs = client("sqs", endpoint)
    dlq_url = _empty_queue(sqs, LOCAL_DLQ_NAME)
    # The events function's mapping shares the router's on-failure queue, as on AWS.
    events_dlq_url = dlq_url
    bus_events_url = _empty_queue(sqs, LOCAL_EVENTS_QUEUE_NAME)
    queue_arn = sqs.get_queue_attributes(QueueUrl=bus_events_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name=LOCAL_EVENTS_RULE_NAME, EventBusName=LOCAL_BUS_NAME,
        EventPattern=json.dumps({"source": [definitions.EVENT_SOURCE]}),
    )  # fmt: skip
    events.put_targets(
        Rule=LOCAL_EVENTS_RULE_NAME, EventBusName=LOCAL_BUS_NAME, Targets=[{"Id": "queue", "Arn": queue_arn}]
    )
    exports_bucket = create_exports_bucket(client("s3", endpoint))
    return LocalResources(
        endpoint=endpoint,
        exports_bucket=exports_bucket,
        tables=dict(LOCAL_TABLE_NAMES),
        leads_stream_arn=stream_arn,
        event_bus_name=LOCAL_BUS_NAME,
        dlq_url=dlq_url,
        events_dlq_url=events_dlq_url,
        bus_events_queue_url=bus_events_url,
    )


def create_exports_bucket(s3: Any, name: str = LOCAL_EXPORTS_BUCKET) -> str:
    """The exports bucket with the deployed lifecycle (expiry after the retention, abandoned
    multipart uploads aborted), emptied: a fresh stack holds no earlier stack's files."""
    with suppress(s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        for item in page.get("Contents", []):
            s3.delete_object(Bucket=name, Key=item["Key"])
    exports = definitions.EXPORTS
    s3.put_bucket_lifecycle_configuration(
        Bucket=name,
        LifecycleConfiguration={"Rules": [{
            "ID": "dpdp-retention", "Status": "Enabled", "Filter": {"Prefix": exports.prefix},
            "Expiration": {"Days": exports.retention_days},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": exports.abort_incomplete_upload_days},
        }]},
    )  # fmt: skip
    return name


def _empty_queue(sqs: Any, name: str) -> str:
    """A fresh stack starts with empty queues. SQS allows one purge a minute, so a second stack
    within the minute deletes and recreates the queue instead."""
    url = str(sqs.create_queue(QueueName=name)["QueueUrl"])
    try:
        sqs.purge_queue(QueueUrl=url)
    except sqs.exceptions.PurgeQueueInProgress:
        sqs.delete_queue(QueueUrl=url)
        url = str(sqs.create_queue(QueueName=name)["QueueUrl"])
    return url
