"""Coverage-guided fuzzing of the capture boundary with atheris (libFuzzer for Python).

    make fuzz                       # installs the `fuzz` extra, then FUZZ_RUNS inputs (default 2,000)
    .venv/bin/python -m bench.fuzz_capture -atheris_runs=20000

Every input becomes a webhook to one of the demo organisation's sources (the first byte picks the
source kind and content type; signatures are computed so the body reaches the adapter), through
the real ingest handler on in-process moto. The invariant, checked on every input: the answer is
a 2xx or a 4xx, and the request was kept (as a lead, in quarantine, as ignored or as a pending
fetch). A violation raises, and atheris prints the input that caused it.

The hypothesis tests (tests/integration/test_hostile_inputs.py, test_sources_fuzz.py) run in the
suite; this explores further when there is time, guided by the branches it reaches.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import atheris

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "ap-south-1",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled", "LEADS_TABLE": "fuzz-leads", "ORG_TABLE": "fuzz-org",
        "EVENT_BUS_NAME": "fuzz-bus", "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "CRITICAL",
    }
)  # fmt: skip
os.environ.pop("AWS_ENDPOINT_URL", None)

with atheris.instrument_imports(include=["leadrelay"]):
    from leadrelay import wiring
    from leadrelay.sources import SUPPORTED_KINDS, razorpay
    from leadrelay.sources.meta import signature_of

CONTENT_TYPES = ["application/json", "application/x-www-form-urlencoded", "", "text/plain", "application/xml"]


class Harness:
    def __init__(self) -> None:
        import boto3
        from moto import mock_aws

        from leadrelay.definitions import TABLES
        from leadrelay.local import moto_speed
        from leadrelay.local.demo import seed

        moto_speed.install()
        self.mock = mock_aws()
        self.mock.start()
        wiring.reset()
        ddb = boto3.client("dynamodb")
        names = {"LEADS_TABLE": "fuzz-leads", "ORG_TABLE": "fuzz-org"}
        for table in TABLES:
            ddb.create_table(**table.create_table_kwargs(names[table.env_var]))
        boto3.client("events").create_event_bus(Name="fuzz-bus")
        self.sources = {s["kind"]: s for s in seed(demo=True).sources}
        meta = wiring.org_repository().get_source(self.sources["meta_lead_ads"]["id"])
        assert meta is not None
        closed = {**meta.settings, "graph_url": "http://127.0.0.1:9/v25.0", "graph_attempts": 1, "graph_timeout_s": 1}
        wiring.org_repository().put_source(meta.model_copy(update={"settings": closed}))
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "functions", "ingest"))
        import ingest_handler

        self.ingest = ingest_handler.handler
        self.kinds = [kind.value for kind in SUPPORTED_KINDS]

    def one(self, data: bytes) -> None:
        from tests.helpers import LambdaContext, hook_event

        fdp = atheris.FuzzedDataProvider(data)
        kind = self.kinds[fdp.ConsumeIntInRange(0, len(self.kinds) - 1)]
        content_type = CONTENT_TYPES[fdp.ConsumeIntInRange(0, len(CONTENT_TYPES) - 1)]
        body = fdp.ConsumeBytes(fdp.remaining_bytes())
        source = self.sources[kind]
        headers = {"Content-Type": content_type} if content_type else {}
        if kind in ("meta_lead_ads", "whatsapp"):
            headers["X-Hub-Signature-256"] = signature_of(body, source["app_secret"])
        if kind == "razorpay":
            headers["X-Razorpay-Signature"] = razorpay.signature_of(body, source["webhook_secret"])
        event = hook_event(source["id"], None, key=source["key"], headers=headers)
        try:
            event["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            import base64

            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
        response = self.ingest(event, LambdaContext())
        status = response["statusCode"]
        if status >= 500:
            raise AssertionError(f"{kind}: {status} {response['body'][:300]}")
        if not self._kept(response):
            raise AssertionError(f"{kind}: {status} and nothing kept: {response['body'][:300]}")

    @staticmethod
    def _kept(response: dict[str, Any]) -> bool:
        from leadrelay.store.quarantine import QuarantineStore

        headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers.setdefault(name.lower(), ",".join(values))
        if headers.get("x-lead-id"):
            return True
        try:
            answer = json.loads(response["body"])
        except ValueError:
            return False
        if not isinstance(answer, dict):
            return False
        if answer.get("pending_fetch") or answer.get("noted_on") or answer.get("lead_id") or answer.get("leads"):
            return True
        request_id = answer.get("request_id")
        if not request_id:
            return False
        repo = wiring.lead_repository()
        if QuarantineStore(repo.table).get(request_id) is not None or repo.ignored(request_id) is not None:
            return True
        # A provider's retry of a notice is kept as a duplicate raw copy beside the lead it concerns,
        # and the answer does not name that lead: look for the copy (a scan, fine on a fuzz table).
        import boto3

        found = boto3.client("dynamodb").scan(
            TableName=repo.table, FilterExpression="request_id = :id AND begins_with(sk, :raw)",
            ExpressionAttributeValues={":id": {"S": str(request_id)}, ":raw": {"S": "RAW#"}},
        )  # fmt: skip
        return bool(found.get("Items"))


def seed_corpus(harness: Harness) -> str:
    """A corpus directory seeded with every provider's sample payload (tests/fixtures/sources), each
    sent to every source kind as JSON: the fuzzer starts from real shapes, not from empty bytes."""
    import tempfile
    from pathlib import Path

    fixtures = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "sources"
    corpus = Path(tempfile.mkdtemp(prefix="leadrelay-fuzz-corpus-"))
    for number, sample in enumerate(sorted(fixtures.glob("*"))):
        for kind_index in range(len(harness.kinds)):
            # FuzzedDataProvider takes the ints from the end of the data: kind, then content type 0 (JSON).
            (corpus / f"{number}-{kind_index}").write_bytes(sample.read_bytes() + bytes([0, kind_index]))
    return str(corpus)


def main() -> None:
    harness = Harness()
    args = list(sys.argv)
    if not any(a.startswith("-atheris_runs") or a.startswith("-runs") for a in args):
        args.append(f"-atheris_runs={int(os.environ.get('FUZZ_RUNS') or 2000)}")
    if not any(a.startswith("-max_len") for a in args):
        args.append("-max_len=8192")  # past the small start, so nesting and sizes are reached
    if not any(not a.startswith("-") for a in args[1:]):
        args.append(seed_corpus(harness))
    atheris.Setup(args, harness.one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
