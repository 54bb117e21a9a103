"""Partial batch responses for the DynamoDB stream functions (route, events).

The contract of Powertools' `BatchProcessor(EventType.DynamoDBStreams)` with
`process_partial_response`, which these functions used until its import cost was measured:
`aws_lambda_powertools.utilities.batch` imports asyncio (for its async processor), the data
classes of every event source, and the Kafka/Kinesis/SQS record types, ~50-60 ms of each cold
start's CPU in the Lambda layout (docs/benchmarks.md, "Cold import"), for a loop of ten lines:

- each record is handed to the record handler on its own; one that raises is reported in
  `{"batchItemFailures": [{"itemIdentifier": <its SequenceNumber>}]}` and the others stand
  (the event source mapping has `ReportBatchItemFailures` on: infra/leadrelay_infra/stack.py);
- when every record of a non-empty batch failed, `EntireBatchFailed` is raised (Powertools'
  `BatchProcessingError`: the mapping bisects or retries the whole batch), unless the function
  asked not to (`raise_on_entire_batch_failure=False`), which then reports them all;
- an event without records (none, not a list, or an empty one) raises `NotABatch`, as Powertools
  raises its `UnexpectedBatchTypeError` (Lambda never sends one).
Both errors are a `BatchFailed`, as both of Powertools' are a `BatchProcessingError`.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StreamRecord:
    """One DynamoDB stream record as the event carries it (`raw_event`, Powertools' name)."""

    raw_event: dict[str, Any]

    @property
    def sequence_number(self) -> str | None:
        return (self.raw_event.get("dynamodb") or {}).get("SequenceNumber")


class BatchFailed(Exception):
    """The batch as a whole failed: Lambda retries it (or bisects it)."""


class NotABatch(BatchFailed):
    """The event holds no stream records."""


class EntireBatchFailed(BatchFailed):
    """Every record of the batch failed: Lambda retries the whole batch (the errors are in the message)."""

    def __init__(self, errors: list[BaseException]) -> None:
        self.child_exceptions = errors
        details = "\n".join("".join(traceback.format_exception(error)) for error in errors)
        super().__init__(f"All records failed processing. {len(errors)} individual errors below.\n{details}")


def process_stream_batch(
    event: dict[str, Any],
    record_handler: Callable[[StreamRecord], object],
    *,
    raise_on_entire_batch_failure: bool = True,
) -> dict[str, list[dict[str, str]]]:
    """Hand each record to `record_handler`; the partial batch response for the failed ones."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not records or not isinstance(records, list):
        raise NotABatch("Unexpected batch event type: a DynamoDB stream event has a list of Records")
    failures: list[dict[str, str]] = []
    errors: list[BaseException] = []
    for raw in records:
        record = StreamRecord(raw)
        try:
            record_handler(record)
        except Exception as error:
            logger.debug("Record processing exception: %r", error, exc_info=True)
            errors.append(error)
            if sequence_number := record.sequence_number:
                failures.append({"itemIdentifier": sequence_number})
    if errors and len(errors) == len(records) and raise_on_entire_batch_failure:
        raise EntireBatchFailed(errors)
    return {"batchItemFailures": failures}
