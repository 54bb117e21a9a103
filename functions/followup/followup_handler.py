"""Schedule entry point: the every-minute tick (follow-ups, SLA re-distribution, escalation) and
the pull of leads from providers with a pull API.

Each schedule sends `{"task": …}` as its detail (`definitions.SCHEDULES`): `pull` polls the pull
sources (`leadrelay.pull`); `tick`, or an event without a task, is the tick, which
runs `leadrelay.tick.FollowupTick` (due and missed follow-ups, SLA re-distribution and
escalation, unassigned and stuck leads, nurture) and reports what it did as metrics.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadrelay import tracing, wiring
from leadrelay.clock import get_clock, iso
from leadrelay.definitions import OFFER_TIMERS

logger = Logger(service="followup")
tracer = tracing.tracer("followup")  # the X-Ray SDK only when tracing is on (leadrelay/tracing.py)
metrics = Metrics(namespace="LeadRelay", service="followup")
wiring.prepare(wiring.lead_repository, wiring.org_repository)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    detail = event.get("detail")
    task = detail.get("task") if isinstance(detail, dict) else None
    if task == "pull":
        return _pull_sources(lambda: context.get_remaining_time_in_millis() / 1000)
    if task == OFFER_TIMERS.task:  # one offer's own timer (docs/routing.md#offers)
        return _expire_offer(detail)  # type: ignore[arg-type]
    return _tick(event)


def _expire_offer(detail: dict[str, Any]) -> dict[str, Any]:
    """Expire the offer its timer names, if still open and due; a no-op otherwise (idempotent)."""
    report = wiring.offer_desk().expire_one(str(detail.get("agent_id", "")), str(detail.get("offer_id", "")))
    result = {"task": OFFER_TIMERS.task, "offer_id": detail.get("offer_id"), "expired": report.expired,
              "already_settled": report.already_settled, "checked_out": report.checked_out}  # fmt: skip
    logger.info("offer timer", extra=result)
    return result


def _tick(event: dict[str, Any]) -> dict[str, Any]:
    now = get_clock().now()
    work = wiring.followup_tick().run().counts
    work.update(_expire_offers())
    for name, metric in _TICK_METRICS.items():
        metrics.add_metric(name=metric, unit=MetricUnit.Count, value=work.get(name, 0))
    # The leads still waiting for someone eligible, as the tick's unassigned step saw them (at
    # most its batch; it reads that queue anyway, so no second query).
    unassigned = work.get("unassigned_waiting", 0)
    metrics.add_metric(name="UnassignedLeads", unit=MetricUnit.Count, value=unassigned)
    fetched = _retry_pending_fetches(now)
    logger.info("tick", extra={"at": iso(now), "event_time": event.get("time"), "unassigned": unassigned,
                               "pending_fetches": fetched, "work": work})  # fmt: skip
    return {"at": iso(now), "unassigned": unassigned, "pending_fetches": fetched, "work": work}


# What the tick did that someone acts on, as fixed metric names (never built from values). Every
# name is a paid custom metric past CloudWatch's 10 free ones, and the default deployment stays
# within them (docs/deploy.md#what-it-costs): the other counts of `work` (due follow-ups, SLA
# re-distributions and escalations, queued leads assigned, stuck leads redriven, nurture steps,
# offers expired or withdrawn, agents checked out)
# are in the tick's log line, for CloudWatch Logs Insights. StuckLeadsFound carries the alarm.
_TICK_METRICS = {
    "followups_missed": "FollowupsMissed",
    "stuck_found": "StuckLeadsFound",
    "failed_steps": "TickStepsFailed",
}


def _expire_offers() -> dict[str, int]:
    """Accept-or-pass offers whose time is up pass to the next agent, and so do offers whose agent
    can no longer accept them (on leave, removed, out of the pool: leadrelay/routing/offers.py)."""
    desk = wiring.offer_desk()
    try:
        expired = desk.expire_due()
        withdrawn = desk.withdraw_dead()
    except Exception:  # a failed step must not stop the tick; the offers stay due
        logger.exception("offers could not be expired")
        return {"failed_steps": 1}
    return {"offers_expired": expired.expired, "agents_checked_out": len(expired.checked_out),
            "offers_withdrawn": withdrawn.withdrawn}  # fmt: skip


def _retry_pending_fetches(now: datetime) -> dict[str, int]:
    """Leads a provider announced by id while its API was down (Meta): fetch the due ones. The
    capture path (phone parsing, adapters) is imported only when something is due."""
    if not wiring.quarantine_store().due(now, limit=1):
        return {}
    try:
        counts = wiring.capture_service().retry_pending_fetches(now)
    except Exception:  # a failed retry must not stop the tick; the items stay due
        logger.exception("pending fetches could not be retried")
        return {}
    return counts  # in the tick's log line (`pending_fetches`), not a metric


def _pull_sources(remaining_s: Callable[[], float]) -> dict[str, Any]:
    """Poll every due pull source once (the poller and the capture path are imported only here)."""
    from leadrelay.pull.poller import SourcePoller

    poller = SourcePoller(org=wiring.org_repository(), capture=wiring.capture_service, clock=get_clock())
    outcomes = poller.poll_all(remaining_s)
    polled = [o for o in outcomes if o.status in ("polled", "failed", "deferred")]
    failed = sum(1 for o in polled if o.status == "failed")
    stored = sum(int(o.counts.get("created", 0)) for o in polled)
    # Calls and leads created are in the log line below; only failures are worth a paid metric.
    metrics.add_metric(name="PullFailures", unit=MetricUnit.Count, value=failed)
    summary = [{"source_id": o.source_id, "status": o.status, "code": o.code, **o.counts} for o in polled]
    logger.info("pull", extra={"polled": summary, "calls": len(polled), "created": stored})
    return {"task": "pull", "sources": summary}
