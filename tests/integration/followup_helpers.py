"""Helpers for the follow-up tests: a routed lead, the tick through the real handler."""

from __future__ import annotations

from typing import Any

from tests.helpers import LambdaContext
from tests.integration.flow import Flow

TICK = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {"task": "tick"}}


def routed_lead(flow: Flow, demo: dict[str, Any], phone: str, city: str = "Noida", **fields: Any) -> dict[str, Any]:
    """A lead posted and routed now; the test clock then moves on 5 minutes (the agent dials)."""
    from leadrelay.clock import get_clock

    status, body = flow.post("website", {"phone": phone, "city": city, **fields}, demo["website"]["key"])
    assert status == 202, body
    flow.run_router()
    get_clock().advance(minutes=5)  # type: ignore[attr-defined]
    return flow.get(f"/leads/{body['lead_id']}")[1]


def tick() -> dict[str, Any]:
    import followup_handler

    return followup_handler.handler(dict(TICK), LambdaContext())


def timeline_kinds(flow: Flow, lead_id: str) -> list[str]:
    return [e["kind"] for e in flow.get(f"/leads/{lead_id}/timeline")[1]["items"]]
