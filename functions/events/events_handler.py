"""Stream entry point: new timeline entries and quarantined requests → the EventBridge bus; and
every lead/follow-up change and new timeline entry → the dashboard's counters and activity feed.

The domain events leave from here and nowhere else: the change and its timeline entry were
committed together, so a crash anywhere before this point loses nothing (the stream keeps the
record). A record whose event the bus refuses is reported as failed and retried, then parked in
the on-failure queue; consumers drop redeliveries by `detail.event_id`.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadrelay import tracing, wiring
from leadrelay.config import get_settings
from leadrelay.dashboard import consumer as dashboard
from leadrelay.events import bus
from leadrelay.events.forward import entries_for
from leadrelay.stream_batch import StreamRecord, process_stream_batch

logger = Logger(service="events")
tracer = tracing.tracer("events")  # the X-Ray SDK only when tracing is on (leadrelay/tracing.py)
# The dashboard's store comes from `wiring`, which loads no store until asked: this function's cold
# start pays for the dashboard's store only (not the leads' repository and its pydantic models).
dashboard_definitions = dashboard.CachedDefinitions(wiring.dashboard_definitions)


def is_domain_event(raw: dict[str, Any]) -> bool:
    """`definitions.EVENT_FILTER_PATTERNS` by hand (the mapping also carries the dashboard's records;
    the layer does not ship the local stack's pattern matcher): a new timeline entry or quarantined request."""
    image = (raw.get("dynamodb") or {}).get("NewImage") or {}
    return raw.get("eventName") == "INSERT" and (
        str((image.get("sk") or {}).get("S", "")).startswith("TL#")
        or str((image.get("pk") or {}).get("S", "")).startswith("QUARANTINE#")
    )


@tracer.capture_method
def forward_record(record: StreamRecord) -> None:
    # The dashboard's counters and feed ride on this mapping (docs/dashboard.md); idempotent, so a
    # record retried for the bus's sake is not counted twice. Counted first: a bus outage retries both.
    # (No metric per record: each metric name is a paid custom metric past CloudWatch's 10 free
    # ones, and the dashboard's own counters show what moved: docs/deploy.md#what-it-costs.)
    dashboard.handle_record(record.raw_event, wiring.dashboard_store(), dashboard_definitions)
    if not is_domain_event(record.raw_event):
        return
    image = record.raw_event.get("dynamodb", {}).get("NewImage")
    if not image:
        return
    item = wiring.item_from_image(image)
    entries = entries_for(item, get_settings().event_bus_name)
    # No metric of its own (each custom metric is billed; failures reach the DLQ alarm), so no
    # `log_metrics` either: it would warn "No application metrics to publish" on every call.
    bus.put(entries)
    set_offer_timer(item)


def set_offer_timer(entry: dict[str, Any]) -> None:
    """A `lead.offered` entry whose timeout the minute tick cannot keep exactly gets its own
    one-time timer (docs/routing.md#offers), here off the routing path; setting it twice is a no-op."""
    from leadrelay.routing.offer_timer import timer_for

    timer = timer_for(entry)
    if timer is None:
        return
    timers = wiring.offer_timers()
    if timers is not None:  # (none configured: the tick alone expires offers)
        timers.set(timer)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Powertools' partial batch contract without its import cost (leadrelay/stream_batch.py). A bus
    # outage fails every record of a batch: report them all (the mapping retries from the first)
    # rather than raise, which would bisect the batch for nothing.
    return process_stream_batch(event, forward_record, raise_on_entire_batch_failure=False)
