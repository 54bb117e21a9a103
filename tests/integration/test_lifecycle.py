"""Closing leads and their coming back, on moto with the real handlers: won/lost status, the
open-leads load, the returning policy (reopen, back to the previous owner when eligible), first-
and last-touch attribution, and DPDP consent details."""

from __future__ import annotations

import json
from typing import Any

import boto3

from leadrelay.clock import get_clock
from tests.helpers import LambdaContext, hook_event
from tests.integration.flow import Flow


def _later(minutes: int = 1) -> None:
    """Time passes between a person's steps (the tests' clock stands still otherwise)."""
    get_clock().advance(minutes=minutes)  # type: ignore[attr-defined]


def _routed_lead(flow: Flow, demo: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    _later()
    status, answer = flow.post("website", body, demo["website"]["key"])
    assert status == 202 and answer["outcome"] == "created", answer
    flow.run_router()
    _, lead = flow.get(f"/leads/{answer['lead_id']}")
    assert lead["status"] == "assigned", lead
    return lead


def _justdial(flow: Flow, demo: dict[str, Any], **query: str) -> int:
    """JustDial delivers by query string and hears a plain-text acknowledgement."""
    event = hook_event("justdial", None, key=demo["justdial"]["key"], method="GET", query=query)
    return int(flow.ingest(event, LambdaContext())["statusCode"])


def _open_leads(aws: dict[str, str], agent_id: str) -> int:
    item = (
        boto3.client("dynamodb")
        .get_item(TableName=aws["ORG_TABLE"], Key={"pk": {"S": "ROSTER"}, "sk": {"S": f"LOAD#{agent_id}"}})
        .get("Item")
    )
    return int(item["open_leads"]["N"]) if item and "open_leads" in item else 0


def _set_status(flow: Flow, lead: dict[str, Any], status: str, reason: str | None = None,
                role: str = "admin", **who: Any) -> tuple[int, dict[str, Any]]:  # fmt: skip
    body: dict[str, Any] = {"status": status}
    if reason is not None:
        body["reason"] = reason
    return flow.call("PUT", f"/leads/{lead['lead_id']}/status", role=role, body=body, **who)


# -- status -------------------------------------------------------------------------------------


def test_closing_a_lead_takes_it_off_its_agents_open_leads_and_reopening_puts_it_back(
    flow: Flow, demo: dict[str, Any], aws: dict[str, str]
) -> None:
    lead = _routed_lead(flow, demo, {"name": "Asha", "phone": "9876500101"})
    agent = lead["assigned_agent_id"]
    before = _open_leads(aws, agent)
    # The agent marks their own lead lost, with a reason
    status, body = _set_status(flow, lead, "lost", "bought elsewhere", role="agent", agent_id=agent)
    assert status == 200 and body["changed"] is True
    assert body["lead"]["status"] == "lost" and body["lead"]["close_reason"] == "bought elsewhere"
    assert body["lead"]["closed_at"].endswith("Z")
    assert _open_leads(aws, agent) == before - 1
    # The same change again (an offline phone replaying) changes nothing
    status, again = _set_status(flow, lead, "lost", "bought elsewhere", role="agent", agent_id=agent)
    assert status == 200 and again["changed"] is False
    assert _open_leads(aws, agent) == before - 1
    # A manager reopens it by hand: it counts again
    status, body = _set_status(flow, lead, "qualified", role="admin")
    assert status == 200 and body["lead"]["status"] == "qualified" and body["lead"]["closed_at"] is None
    assert _open_leads(aws, agent) == before
    _, timeline = flow.get(f"/leads/{lead['lead_id']}/timeline")
    changes = [e for e in timeline["items"] if e["kind"] == "lead.status_changed"]
    assert [(e["data"]["from"], e["data"]["to"]) for e in changes] == [("assigned", "lost"), ("lost", "qualified")]


def test_status_changes_are_checked(flow: Flow, demo: dict[str, Any]) -> None:
    lead = _routed_lead(flow, demo, {"phone": "9876500102"})
    # lost needs a reason
    status, body = _set_status(flow, lead, "lost")
    assert status == 422 and body["error"] == "reason_required"
    # routing's own statuses cannot be set by a person
    status, body = _set_status(flow, lead, "assigned")
    assert status == 422 and body["error"] == "invalid_status"
    # an unknown status is a validation error naming the field
    status, body = _set_status(flow, lead, "sold")
    assert status == 422 and "status" in body["message"]
    # another agent cannot see, let alone close, the lead
    status, body = _set_status(flow, lead, "won", role="agent", agent_id="nobody-else")
    assert status == 404 and body["error"] == "not_found"
    # contacted stamps the first contact once
    status, body = _set_status(flow, lead, "contacted")
    assert status == 200 and body["lead"]["first_contacted_at"]


# -- the returning policy -----------------------------------------------------------------------


def test_a_returning_lost_lead_is_reopened_and_goes_back_to_its_previous_agent(
    flow: Flow, demo: dict[str, Any], aws: dict[str, str]
) -> None:
    lead = _routed_lead(flow, demo, {"name": "Kiran", "phone": "9876500103"})
    owner = lead["assigned_agent_id"]
    assert _set_status(flow, lead, "lost", "not now")[0] == 200
    # Enough other leads arrive that plain round-robin would not pick the owner next
    for n in range(4):
        _routed_lead(flow, demo, {"phone": f"98765002{n:02d}"})
    # The person comes back through JustDial
    _later(60 * 24)
    assert _justdial(flow, demo, leadid="JD-RET-1", mobile="9876500103", name="Kiran") == 200
    _, reopened = flow.get(f"/leads/{lead['lead_id']}")
    assert reopened["status"] == "new" and reopened["reopen_count"] == 1
    assert reopened["return_to_agent_id"] == owner and reopened["assigned_agent_id"] is None
    assert flow.run_router() == [{"batchItemFailures": []}]
    _, routed = flow.get(f"/leads/{lead['lead_id']}")
    assert routed["status"] == "assigned" and routed["assigned_agent_id"] == owner
    assert routed["return_to_agent_id"] is None
    _, trail = flow.get(f"/leads/{lead['lead_id']}/routing")
    last = trail["items"][-1]
    assert last["rule_id"] == "returning_owner" and last["strategy"] == "sticky_owner"
    _, timeline = flow.get(f"/leads/{lead['lead_id']}/timeline")
    kinds = [e["kind"] for e in timeline["items"]]
    assert kinds == ["lead.created", "lead.assigned", "lead.status_changed", "lead.reopened", "lead.assigned"]
    assert _open_leads(aws, owner) >= 1


def test_a_reopened_lead_whose_previous_agent_is_away_is_routed_by_the_rules(flow: Flow, demo: dict[str, Any]) -> None:
    lead = _routed_lead(flow, demo, {"phone": "9876500104"})
    owner = lead["assigned_agent_id"]
    assert _set_status(flow, lead, "lost", "no budget")[0] == 200
    _later()
    status, _ = flow.call("PUT", f"/agents/{owner}/availability", body={"status": "on_leave"})
    assert status == 200
    flow.post("website", {"phone": "+91 98765 00104", "message": "budget is ready now"}, demo["website"]["key"])
    flow.run_router()
    _, routed = flow.get(f"/leads/{lead['lead_id']}")
    assert routed["status"] == "assigned" and routed["assigned_agent_id"] not in (None, owner)
    _, trail = flow.get(f"/leads/{lead['lead_id']}/routing")
    traces = trail["items"][-1]["rules"]
    assert traces[0]["rule_id"] == "returning_owner" and traces[0]["matched"] is False
    assert "on_leave" in traces[0]["why"]


def test_a_returning_won_customer_stays_won_by_default_and_reopens_when_the_policy_says_so(
    flow: Flow, demo: dict[str, Any]
) -> None:
    lead = _routed_lead(flow, demo, {"phone": "9876500105"})
    assert _set_status(flow, lead, "won")[0] == 200
    _later()
    status, body = flow.post("website", {"phone": "9876500105", "message": "service visit?"}, demo["website"]["key"])
    assert status == 202 and body == {"lead_id": lead["lead_id"], "outcome": "merged"}
    _, after = flow.get(f"/leads/{lead['lead_id']}")
    assert after["status"] == "won" and after["touch_count"] == 2
    _, timeline = flow.get(f"/leads/{lead['lead_id']}/timeline")
    assert "stays won" in timeline["items"][-1]["summary"]
    assert flow.run_router() == []  # nothing to route
    # The admin changes the policy: won customers coming back are new sales, for anyone
    status, settings = flow.call("PUT", "/settings/returning",
                                 body={"reopen_won": True, "reopen_lost": True, "to_previous_agent": False})  # fmt: skip
    assert status == 200 and settings["returning"]["reopen_won"] is True
    assert flow.call("PUT", "/settings/returning", role="manager", team_id="t", body={"reopen_won": False})[0] == 403
    _later()
    flow.post("website", {"phone": "9876500105", "message": "second flat"}, demo["website"]["key"])
    _, reopened = flow.get(f"/leads/{lead['lead_id']}")
    assert reopened["status"] == "new" and reopened["return_to_agent_id"] is None
    flow.run_router()
    _, trail = flow.get(f"/leads/{lead['lead_id']}/routing")
    assert trail["items"][-1]["rule_id"] != "returning_owner"


# -- attribution and consent --------------------------------------------------------------------


def test_first_and_last_touch_are_both_reported(flow: Flow, demo: dict[str, Any]) -> None:
    key = demo["website"]["key"]
    _, first = flow.post("website", {"phone": "9876500106", "utm_source": "google", "utm_campaign": "diwali"}, key)
    flow.post("website", {"phone": "9876500107", "utm_source": "google", "utm_campaign": "diwali"}, key)
    assert _justdial(flow, demo, leadid="JD-ATTR-1", mobile="9876500106") == 200
    _, lead = flow.get(f"/leads/{first['lead_id']}")
    assert lead["first_touch"]["source_id"] == "website"
    assert lead["first_touch"]["attribution"] == {"utm_source": "google", "utm_campaign": "diwali"}
    assert lead["last_touch"]["source_id"] == "justdial" and lead["last_touch"]["source_kind"] == "justdial"
    flow.run_aggregates()  # the report reads the dashboard's counters
    status, report = flow.get("/reports/attribution")
    assert status == 200 and report["leads"] == 2
    assert report["first_touch"]["by_source"][0] == {
        "source_id": "website", "source_kind": "generic", "leads": 2, "won": 0, "lost": 0, "open": 2, "win_rate": 0.0,
    }  # fmt: skip
    last = {row["source_id"]: row["leads"] for row in report["last_touch"]["by_source"]}
    assert last == {"website": 1, "justdial": 1}
    assert report["journeys"] == {
        "returning": 1, "cross_source": 1, "paths": [{"first_source_id": "website", "last_source_id": "justdial",
                                                      "leads": 1}],
    }  # fmt: skip
    assert report["first_touch"]["by_campaign"][0]["utm_campaign"] == "diwali"
    # Agents do not get reports; a bad window is a 400 naming it
    assert flow.get("/reports/attribution", role="agent", agent_id="a")[0] == 403
    status, body = flow.get("/reports/attribution", query={"since": "yesterday"})
    assert status == 400 and body["error"] == "invalid_time"


def test_consent_is_kept_with_purpose_time_and_where_it_was_given(flow: Flow, demo: dict[str, Any]) -> None:
    key = demo["website"]["key"]
    _, with_detail = flow.post("website", {
        "phone": "9876500108", "consent": "yes", "consent_purpose": "calls about this enquiry",
        "consent_at": "2026-11-20T10:15:00+05:30", "consent_text": "I agree to be called",
    }, key)  # fmt: skip
    _, lead = flow.get(f"/leads/{with_detail['lead_id']}")
    assert lead["consent"] is True
    assert lead["consent_detail"] == {
        "given": True, "at": "2026-11-20T04:45:00.000Z", "purpose": "calls about this enquiry",
        "source": "website: consent field", "text": "I agree to be called",
    }  # fmt: skip
    # Consent without details is stamped with the time of receipt
    _, bare = flow.post("website", {"phone": "9876500109", "consent": "true"}, key)
    _, lead = flow.get(f"/leads/{bare['lead_id']}")
    assert lead["consent_detail"]["given"] is True and lead["consent_detail"]["at"] == lead["received_at"]
    # A later withdrawal on a touchpoint is recorded on the lead
    flow.post("website", {"phone": "9876500109", "consent": "no"}, key)
    _, lead = flow.get(f"/leads/{bare['lead_id']}")
    assert lead["consent"] is False and lead["consent_detail"]["given"] is False
    # No consent field: nothing is claimed
    _, none = flow.post("website", {"phone": "9876500110"}, key)
    assert flow.get(f"/leads/{none['lead_id']}")[1]["consent_detail"] is None


def test_every_touch_of_one_batch_is_kept_even_in_the_same_millisecond(flow: Flow, demo: dict[str, Any]) -> None:
    records = [{"UNIQUE_QUERY_ID": f"Q{n}", "QUERY_TYPE": "W", "SENDER_MOBILE": "+91-9000000031",
                "QUERY_MESSAGE": f"enquiry {n}"} for n in range(3)]  # fmt: skip
    status, body = flow.post("indiamart", json.dumps(records), demo["indiamart"]["key"],
                             headers={"Content-Type": "application/json"})  # fmt: skip
    assert status == 200 and [lead["outcome"] for lead in body["leads"]] == ["created", "merged", "merged"]
    from leadrelay import wiring

    touches = wiring.lead_repository().touchpoints(body["leads"][0]["lead_id"])
    assert sorted(t["fields"]["message"] for t in touches) == ["enquiry 1", "enquiry 2"]
