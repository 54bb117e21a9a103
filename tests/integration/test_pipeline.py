"""The walking skeleton on moto: a webhook lead is stored, routed by the stream router, and
visible as assigned through the API — with the real handlers."""

from __future__ import annotations

from typing import Any

from tests.integration.flow import Flow


def test_a_posted_lead_is_stored_new_then_assigned_by_the_router(flow: Flow, demo: dict[str, Any]) -> None:
    # Given the demo organisation and its website source
    key = demo["website"]["key"]
    # When a lead is posted
    status, body = flow.post("website", {"name": "Ravi Kumar", "phone": "98765 43210", "utm_source": "google"}, key)
    # Then it is accepted as a new lead, stored with status new and not yet assigned
    assert status == 202 and body["outcome"] == "created"
    lead_id = body["lead_id"]
    status, lead = flow.get(f"/leads/{lead_id}")
    assert status == 200
    assert lead["status"] == "new" and lead["assigned_agent_id"] is None
    assert lead["phone"] == "+919876543210" and lead["source_id"] == "website"
    # When the stream delivers it to the router
    responses = flow.run_router()
    # Then no record failed and the lead has exactly one owner, explained in its audit trail
    assert responses and all(r == {"batchItemFailures": []} for r in responses)
    status, lead = flow.get(f"/leads/{lead_id}")
    assert lead["status"] == "assigned" and lead["assigned_agent_id"]
    assert lead["assigned_at"].endswith("Z")
    status, routing = flow.get(f"/leads/{lead_id}/routing")
    assert status == 200 and len(routing["items"]) == 1
    decision = routing["items"][0]
    assert decision["agent_id"] == lead["assigned_agent_id"]
    assert decision["rule_id"] == "default" and decision["strategy"] == "round_robin"
    assert lead["assigned_agent_id"] in decision["candidates"]
    status, timeline = flow.get(f"/leads/{lead_id}/timeline")
    assert [e["kind"] for e in timeline["items"]] == ["lead.created", "lead.assigned"]


def test_a_redelivered_stream_record_does_not_assign_twice(flow: Flow, demo: dict[str, Any]) -> None:
    # Given a lead that has been routed
    _, body = flow.post("website", {"phone": "9876500001"}, demo["website"]["key"])
    records = flow.routable(flow.new_records())
    from tests.helpers import LambdaContext, stream_event

    event = stream_event(records, flow.stream_arn)
    flow.route(event, LambdaContext())
    # When the same record is delivered again
    assert flow.route(event, LambdaContext()) == {"batchItemFailures": []}
    # Then the lead still has one routing decision
    _, routing = flow.get(f"/leads/{body['lead_id']}/routing")
    assert len(routing["items"]) == 1
