"""The stream functions' partial batch responses (leadrelay/stream_batch.py) answer as Powertools'
`BatchProcessor(EventType.DynamoDBStreams)` does, which they replace for its import cost."""

from __future__ import annotations

from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from leadrelay.stream_batch import BatchFailed, EntireBatchFailed, NotABatch, process_stream_batch


def _event(*names: str) -> dict[str, Any]:
    return {"Records": [{"eventID": f"e{i}", "eventName": "INSERT",
                         "dynamodb": {"SequenceNumber": str(100 + i), "NewImage": {"name": {"S": name}}}}
                        for i, name in enumerate(names)]}  # fmt: skip


def _handler(seen: list[str]):
    def handle(record: Any) -> None:
        name = record.raw_event["dynamodb"]["NewImage"]["name"]["S"]
        seen.append(name)
        if name.startswith("bad"):
            raise RuntimeError(f"cannot route {name}")

    return handle


def _powertools(event: dict[str, Any], *, raise_all: bool = True) -> tuple[Any, list[str]]:
    seen: list[str] = []
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=raise_all)
    try:
        return process_partial_response(event=event, record_handler=_handler(seen), processor=processor), seen
    except BatchProcessingError:
        return "raised", seen


def _ours(event: dict[str, Any], *, raise_all: bool = True) -> tuple[Any, list[str]]:
    seen: list[str] = []
    try:
        return process_stream_batch(event, _handler(seen), raise_on_entire_batch_failure=raise_all), seen
    except BatchFailed:
        return "raised", seen


@pytest.mark.parametrize(
    "names",
    [(), ("ok",), ("ok", "bad1", "ok2"), ("bad1", "ok", "bad2"), ("bad1",), ("bad1", "bad2")],
)
@pytest.mark.parametrize("raise_all", [True, False])
def test_every_batch_is_answered_as_powertools_answers_it(names: tuple[str, ...], raise_all: bool) -> None:
    # Given a stream batch with failing and succeeding records
    event = _event(*names)
    # When both process it, Then each record was handed over once, in order, and the answers agree
    assert _ours(event, raise_all=raise_all) == _powertools(event, raise_all=raise_all)


def test_one_bad_record_is_retried_alone_by_its_sequence_number() -> None:
    answer, seen = _ours(_event("ok", "bad1", "ok2"))
    assert seen == ["ok", "bad1", "ok2"]
    assert answer == {"batchItemFailures": [{"itemIdentifier": "101"}]}


def test_a_batch_where_everything_failed_raises_with_each_error_in_the_message() -> None:
    with pytest.raises(EntireBatchFailed, match="cannot route bad2") as raised:
        process_stream_batch(_event("bad1", "bad2"), _handler([]))
    assert len(raised.value.child_exceptions) == 2


@pytest.mark.parametrize("event", [{}, {"Records": None}, {"Records": "x"}, {"Records": []}])
@pytest.mark.parametrize("raise_all", [True, False])
def test_an_event_that_is_not_a_batch_is_refused_as_powertools_refuses_it(
    event: dict[str, Any], raise_all: bool
) -> None:
    with pytest.raises(NotABatch):
        process_stream_batch(event, _handler([]), raise_on_entire_batch_failure=raise_all)
    assert _powertools(event, raise_all=raise_all) == ("raised", [])
