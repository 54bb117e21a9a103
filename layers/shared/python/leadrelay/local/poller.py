"""Feeds the leads table's stream to the router as Lambda's event source mapping would.

Same filter (`definitions.ROUTE_STREAM.filter_patterns`), same batch shape, no batching window, and
the same failure contract: with ReportBatchItemFailures the batch is retried from the lowest failed
sequence number; a raising handler has its batch bisected; after `retry_attempts` retries (or once
the record is older than `max_record_age_seconds`) Lambda's on-failure record goes to the SQS DLQ
and the shard moves on. Records are processed in order per shard; a failing batch blocks its shard,
as on AWS. Nothing is dropped without either reaching the handler or the DLQ (and the log).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from leadrelay import definitions
from leadrelay.clock import Clock, iso
from leadrelay.local.aws import REGION, stream_arn_for_lambda
from leadrelay.local.context import LocalLambdaContext
from leadrelay.local.patterns import matches_any

log = logging.getLogger("leadrelay.local.poller")

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class BatchResult:
    """One invocation of the router, for observers (the benchmark, tests)."""

    records: list[dict[str, Any]]
    started_at: float  # time.monotonic() when the handler was called
    duration_s: float
    outcome: str  # "ok" | "partial" | "error"
    failed_sequence_numbers: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class _Pending:
    record: dict[str, Any]  # Lambda's shape
    seen_at: float  # time.monotonic() when the poller read it
    attempts: int = 0  # failed invocations that included this record


@dataclass
class PollerStats:
    records_read: int = 0
    records_filtered_out: int = 0
    records_delivered: int = 0
    invocations: int = 0
    failed_invocations: int = 0
    records_to_dlq: int = 0


class StreamPoller:
    """One daemon thread polling every shard of a stream and invoking `handler` with batches."""

    def __init__(
        self,
        *,
        streams_client: Any,
        stream_arn: str,
        handler: Handler,
        clock: Clock,
        sqs_client: Any | None = None,
        dlq_url: str | None = None,
        mapping: definitions.StreamMapping = definitions.ROUTE_STREAM,
        function_name: str = "leadrelay-local-route",
        idle_sleep_s: float = 0.02,
        retry_delay_s: float = 0.05,
        on_batch: Callable[[BatchResult], None] | None = None,
    ) -> None:
        self._streams = streams_client
        self._stream_arn = stream_arn
        self._event_source_arn = stream_arn_for_lambda(stream_arn)
        self._handler = handler
        self._clock = clock
        self._sqs = sqs_client
        self._dlq_url = dlq_url
        self._mapping = mapping
        self._function_name = function_name
        self._idle_sleep_s = idle_sleep_s
        self._retry_delay_s = retry_delay_s
        self._listeners: list[Callable[[BatchResult], None]] = [on_batch] if on_batch else []
        self.stats = PollerStats()
        self._iterators: dict[str, str | None] = {}  # shard id -> iterator (None once closed)
        self._pending: dict[str, list[_Pending]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._idle = threading.Condition()
        self._last_idle_round_started = 0.0
        self._shards_checked_at = 0.0

    # -- lifecycle -----------------------------------------------------------------------------

    def add_listener(self, listener: Callable[[BatchResult], None]) -> None:
        """Call `listener` after every invocation of the handler (from the poller's thread)."""
        self._listeners.append(listener)

    def start(self) -> None:
        self._discover_shards()
        self._thread = threading.Thread(target=self._run, name="leadrelay-stream-poller", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every record written before this call has been handled; False on timeout."""
        asked_at = time.monotonic()
        deadline = asked_at + timeout
        with self._idle:
            while self._last_idle_round_started <= asked_at:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._thread is None or not self._thread.is_alive():
                    return False
                self._idle.wait(remaining)
        return True

    # -- polling -------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            round_started = time.monotonic()
            try:
                busy = self._poll_round()
            except Exception:
                if self._stop.is_set():  # the stack is stopping: moto may already be gone
                    break
                log.exception("stream poller: reading the stream failed; retrying")
                busy = False
                self._stop.wait(0.5)
                continue
            if not busy:
                with self._idle:
                    self._last_idle_round_started = round_started
                    self._idle.notify_all()
                self._stop.wait(self._idle_sleep_s)

    def _discover_shards(self) -> None:
        description = self._streams.describe_stream(StreamArn=self._stream_arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:
                # Where the mapping on AWS starts (TRIM_HORIZON: the stream is created with the stack,
                # so nothing is missed, and the router and consumers are idempotent).
                self._iterators[shard_id] = self._streams.get_shard_iterator(
                    StreamArn=self._stream_arn, ShardId=shard_id, ShardIteratorType=self._mapping.starting_position
                )["ShardIterator"]
                self._pending[shard_id] = []
        self._shards_checked_at = time.monotonic()

    def _poll_round(self) -> bool:
        """Read each shard once and deliver what is ready; True when anything happened."""
        if time.monotonic() - self._shards_checked_at > 5.0:
            self._discover_shards()
        busy = False
        for shard_id in list(self._iterators):
            pending = self._pending[shard_id]
            if not pending and self._read(shard_id):
                busy = True
            if pending:
                busy = True
                batch = pending[: self._mapping.batch_size]
                handled = self._deliver(shard_id, batch)
                del pending[:handled]
        return busy

    def _read(self, shard_id: str) -> int:
        """Fetch the next records of a shard into its pending list; returns how many were read."""
        iterator = self._iterators.get(shard_id)
        if iterator is None:
            return 0
        response = self._streams.get_records(ShardIterator=iterator, Limit=1000)
        self._iterators[shard_id] = response.get("NextShardIterator")
        now = time.monotonic()
        for raw in response.get("Records", []):
            self.stats.records_read += 1
            record = self._lambda_record(raw)
            if matches_any(self._mapping.filter_patterns, record):
                self._pending[shard_id].append(_Pending(record=record, seen_at=now))
            else:
                self.stats.records_filtered_out += 1
        return len(response.get("Records", []))

    def _lambda_record(self, raw: dict[str, Any]) -> dict[str, Any]:
        """A GetRecords record in the shape Lambda delivers it (and filters on)."""
        stream = raw["dynamodb"]
        created = stream.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            created_s = created.replace(tzinfo=created.tzinfo or UTC).timestamp()
        else:
            created_s = float(created) if created is not None else time.time()
        # The stack's clock may run ahead of real time; handlers read that clock, so do records.
        created_s += (self._clock.now() - datetime.now(UTC)).total_seconds()
        dynamodb: dict[str, Any] = {"ApproximateCreationDateTime": float(int(created_s))}
        for name in ("Keys", "NewImage", "OldImage"):
            if name in stream:
                dynamodb[name] = _json_safe(stream[name])
        dynamodb["SequenceNumber"] = stream["SequenceNumber"]
        dynamodb["SizeBytes"] = stream.get("SizeBytes", 0)
        dynamodb["StreamViewType"] = stream.get("StreamViewType", self._mapping_view_type())
        return {
            "eventID": raw.get("eventID") or uuid.uuid4().hex,
            "eventName": raw["eventName"],
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": REGION,
            "dynamodb": dynamodb,
            "eventSourceARN": self._event_source_arn,
        }

    @staticmethod
    def _mapping_view_type() -> str:
        return definitions.LEADS_TABLE.stream or "NEW_AND_OLD_IMAGES"

    # -- delivery ------------------------------------------------------------------------------

    def _deliver(self, shard_id: str, batch: list[_Pending]) -> int:
        """Invoke the handler for `batch` until every record is handled or parked in the DLQ.

        Returns how many records from the front of the batch are done (all of them, unless the
        poller is stopping in the middle of retries, in which case the rest stay pending).
        """
        queue: list[list[_Pending]] = [batch]
        done = 0
        while queue:
            if self._stop.is_set():
                return done
            part = queue.pop(0)
            failed_from, raised = self._invoke(part)
            if failed_from is None:
                done += len(part)
                continue
            ok, rest = part[:failed_from], part[failed_from:]
            done += len(ok)
            if raised and self._mapping.bisect_batch_on_error and len(rest) > 1:
                # Bisection does not count as a retry, as on AWS.
                middle = len(rest) // 2
                queue[:0] = [rest[:middle], rest[middle:]]
                continue
            for pending in rest:
                pending.attempts += 1
            condition = self._exhausted(rest)
            if condition:
                self._send_to_dlq(shard_id, rest, condition, raised)
                done += len(rest)
                continue
            self._stop.wait(min(1.0, self._retry_delay_s * rest[0].attempts))
            queue.insert(0, rest)
        return done

    def _invoke(self, part: list[_Pending]) -> tuple[int | None, bool]:
        """Call the handler; returns (index of the first record to retry or None, handler raised)."""
        event = {"Records": [pending.record for pending in part]}
        started = time.monotonic()
        self.stats.invocations += 1
        try:
            response = self._handler(event, LocalLambdaContext(self._function_name))
        except Exception as error:
            self.stats.failed_invocations += 1
            log.exception("%s raised on a batch of %d record(s)", self._function_name, len(part))
            self._notify(BatchResult(event["Records"], started, time.monotonic() - started, "error", [], repr(error)))
            return 0, True
        duration = time.monotonic() - started
        failures = _batch_item_failures(response) if self._mapping.report_batch_item_failures else []
        if not failures:
            self.stats.records_delivered += len(part)
            self._notify(BatchResult(event["Records"], started, duration, "ok"))
            return None, False
        sequence_numbers = [pending.record["dynamodb"]["SequenceNumber"] for pending in part]
        self.stats.failed_invocations += 1
        if any(failure not in sequence_numbers for failure in failures):
            # Lambda treats an unknown or empty itemIdentifier as a failure of the whole batch.
            log.error("%s reported unknown batch item failures %s; retrying the batch", self._function_name, failures)
            self._notify(BatchResult(event["Records"], started, duration, "error", failures, "bad itemIdentifier"))
            return 0, False
        first = min(sequence_numbers.index(failure) for failure in failures)
        self.stats.records_delivered += first
        self._notify(BatchResult(event["Records"], started, duration, "partial", failures))
        return first, False

    def _exhausted(self, rest: list[_Pending]) -> str | None:
        if max(pending.attempts for pending in rest) > self._mapping.retry_attempts:
            return "RetryAttemptsExhausted"
        if time.monotonic() - rest[0].seen_at > self._mapping.max_record_age_seconds:
            return "RecordAgeExceeded"
        return None

    def _send_to_dlq(self, shard_id: str, rest: list[_Pending], condition: str, raised: bool) -> None:
        first, last = rest[0].record, rest[-1].record
        message: dict[str, Any] = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:{REGION}:{self._event_source_arn.split(':')[4]}:function:"
                f"{self._function_name}",
                "condition": condition,
                "approximateInvokeCount": max(pending.attempts for pending in rest),
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled" if raised else "",
            },
            "version": "1.0",
            "timestamp": iso(self._clock.now()),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": first["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": last["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _epoch_iso(first["dynamodb"]["ApproximateCreationDateTime"]),
                "approximateArrivalOfLastRecord": _epoch_iso(last["dynamodb"]["ApproximateCreationDateTime"]),
                "batchSize": len(rest),
                "streamArn": self._event_source_arn,
            },
        }
        self.stats.records_to_dlq += len(rest)
        log.error(
            "%s: %d stream record(s) %s..%s failed after retries (%s); on-failure record sent to the DLQ",
            self._function_name,
            len(rest),
            message["DDBStreamBatchInfo"]["startSequenceNumber"],
            message["DDBStreamBatchInfo"]["endSequenceNumber"],
            condition,
        )
        if self._sqs is None or not self._dlq_url:
            log.error("no DLQ configured; on-failure record: %s", json.dumps(message))
            return
        try:
            self._sqs.send_message(QueueUrl=self._dlq_url, MessageBody=json.dumps(message))
        except Exception:
            log.exception("could not send to the DLQ; on-failure record: %s", json.dumps(message))

    def _notify(self, result: BatchResult) -> None:
        for listener in self._listeners:
            try:
                listener(result)
            except Exception:
                log.exception("a stream batch listener failed")


def _batch_item_failures(response: Any) -> list[str]:
    if not isinstance(response, dict):
        return []
    failures = response.get("batchItemFailures") or []
    return [str(item.get("itemIdentifier") or "") if isinstance(item, dict) else "" for item in failures]


def _epoch_iso(epoch_s: float) -> str:
    return iso(datetime.fromtimestamp(epoch_s, UTC))


def _json_safe(value: Any) -> Any:
    """boto3 hands binary attributes over as bytes; Lambda events carry them base64-encoded."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value
