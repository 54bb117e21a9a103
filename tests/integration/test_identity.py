"""Identity: who a caller is comes from LeadRelay's user records, never from token attributes;
disabled and removed people are refused from the next request; admins and managers need TOTP;
people admin; agents cannot undo what a manager set."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from leadrelay import wiring
from leadrelay.clock import get_clock, local_day
from leadrelay.local.demo import seed
from leadrelay.models.user import User
from tests.helpers import LambdaContext, api_event
from tests.integration.flow import Flow


@pytest.fixture
def pool(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    """A Cognito user pool on moto, TOTP optional, that the API manages (USER_POOL_ID)."""
    from leadrelay.config import reset_settings

    cognito = boto3.client("cognito-idp")
    pool_id = cognito.create_user_pool(PoolName="test", MfaConfiguration="OPTIONAL")["UserPool"]["Id"]
    monkeypatch.setenv("USER_POOL_ID", pool_id)
    reset_settings()
    return pool_id


@pytest.fixture
def flow(aws: dict[str, str], pool: str) -> Flow:
    flow = Flow(aws["LEADS_TABLE"])
    flow.sources = {s["id"]: s for s in seed(demo=True).sources}  # type: ignore[attr-defined]
    return flow


def person(pool: str, username: str, role: str, *, agent_id: str | None = None, team_id: str | None = None,
           mfa: bool = True) -> dict[str, str]:  # fmt: skip
    """A person in the pool and their LeadRelay record; the claims their ID token carries."""
    cognito = boto3.client("cognito-idp")
    created = cognito.admin_create_user(UserPoolId=pool, Username=username, MessageAction="SUPPRESS")["User"]
    sub = next(a["Value"] for a in created["Attributes"] if a["Name"] == "sub")
    wiring.user_store().put(User(user_id=sub, username=username, role=role, agent_id=agent_id, team_id=team_id,
                                 mfa_enrolled=mfa, mfa_checked_at=datetime.now(UTC) if mfa else None))  # fmt: skip
    return {"sub": sub, "cognito:username": username, "token_use": "id"}


def call(claims: dict[str, str], method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    import api_handler

    response = api_handler.handler(api_event(method, path, body=body, claims=claims), LambdaContext())
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else {}


def noida_lead(flow: Flow, phone: str = "9876500021") -> str:
    """A Noida lead at 12:00 IST on a Monday: routed to anjali (NCR)."""
    _, body = flow.post("website", {"phone": phone, "city": "Noida"}, flow.sources["website"]["key"])  # type: ignore[attr-defined]
    flow.run_router()
    return str(body["lead_id"])


# -- who the caller is ---------------------------------------------------------------------------


def test_rewritten_token_attributes_change_nothing_the_record_decides(flow: Flow, pool: str) -> None:
    # Given Anjali (agent, NCR) and a lead of hers
    claims = person(pool, "anjali", "agent", agent_id="anjali", team_id="ncr")
    lead_id = noida_lead(flow)
    # When her token claims admin groups and another agent and team (as UpdateUserAttributes would let her)
    forged = {**claims, "cognito:groups": "admin", "custom:agent_id": "priya", "custom:team_id": "south"}
    # Then she is still agent Anjali: her lead is visible, admin routes are not
    assert call(forged, "GET", f"/leads/{lead_id}")[0] == 200
    status, body = call(forged, "GET", "/sources")
    assert status == 403 and body["error"] == "forbidden"
    assert call(forged, "GET", "/agents/priya")[0] == 404


def test_a_sign_in_without_a_leadrelay_user_is_refused(flow: Flow) -> None:
    status, body = call({"sub": "no-such-sub", "cognito:groups": "admin", "token_use": "id"}, "GET", "/leads")
    assert status == 401 and body["error"] == "user_unknown"


def test_moving_an_agent_to_another_team_applies_on_their_next_request(flow: Flow, pool: str) -> None:
    # Given Rahul, an NCR agent, and a manager of each team
    rahul = person(pool, "rahul", "agent", agent_id="rahul", team_id="ncr")
    admin = person(pool, "boss", "admin")
    south = person(pool, "m-south", "manager", team_id="south")
    assert call(south, "GET", "/agents/rahul")[0] == 404
    # When the admin moves him to the south team
    status, body = call(admin, "PATCH", f"/users/{rahul['sub']}", {"team_id": "south"})
    assert status == 200 and body["team_id"] == "south"
    # Then at once the south manager sees him, and his agent profile moved with him
    status, agent = call(south, "GET", "/agents/rahul")
    assert status == 200 and agent["team_id"] == "south"
    assert call(rahul, "GET", "/leads")[0] == 200


# -- disabled and removed people -----------------------------------------------------------------


def test_a_disabled_agent_is_refused_on_the_next_request_and_their_open_leads_are_rerouted(
    flow: Flow, pool: str
) -> None:
    # Given Anjali with an open lead, signed in
    anjali = person(pool, "anjali", "agent", agent_id="anjali", team_id="ncr")
    admin = person(pool, "boss", "admin")
    lead_id = noida_lead(flow)
    assert call(anjali, "GET", f"/leads/{lead_id}")[0] == 200
    # When the admin disables her
    status, body = call(admin, "POST", f"/users/{anjali['sub']}/disable", {"reason": "left the company"})
    assert status == 200, body
    assert body["user"]["status"] == "disabled"
    # Then her very next request is refused, though her token is still valid
    status, refused = call(anjali, "GET", f"/leads/{lead_id}")
    assert status == 401 and refused["error"] == "user_disabled"
    assert call(anjali, "PUT", f"/leads/{lead_id}/status", {"status": "won"})[0] == 401
    # And Cognito has her disabled
    cognito_user = boto3.client("cognito-idp").admin_get_user(UserPoolId=pool, Username="anjali")
    assert cognito_user["Enabled"] is False
    # And her open lead went back to routing: someone else has it, the timeline says why
    new_owner = body["leads"]["moved"][lead_id]
    assert new_owner and new_owner != "anjali"
    _, lead = call(admin, "GET", f"/leads/{lead_id}")
    assert lead["assigned_agent_id"] == new_owner
    _, timeline = call(admin, "GET", f"/leads/{lead_id}/timeline")
    last = timeline["items"][-1]
    assert last["kind"] == "lead.reassigned" and "left the company" in last["summary"]
    # And she takes no new leads
    _, agent = call(admin, "GET", "/agents/anjali")
    assert agent["status"] == "unavailable"
    # And the fairness ledger ends her eligible minutes there: an availability entry says who and why
    day = local_day(get_clock().now(), "Asia/Kolkata")
    entries = [e for e in wiring.offer_store().ledger(day) if e["kind"] == "availability"]
    assert [(e["agent_id"], e["from_status"], e["status"]) for e in entries] == [("anjali", "available", "unavailable")]
    assert "boss" in entries[0]["note"] and "left the company" in entries[0]["note"]
    # And an admin may enable her again
    assert call(admin, "POST", f"/users/{anjali['sub']}/enable")[0] == 200
    assert call(anjali, "GET", "/leads")[0] == 200


def test_a_removed_agent_is_refused_on_the_next_request(flow: Flow, pool: str) -> None:
    # Given Anjali, signed in, with an open lead
    anjali = person(pool, "anjali", "agent", agent_id="anjali", team_id="ncr")
    admin = person(pool, "boss", "admin")
    lead_id = noida_lead(flow)
    # When the admin removes her agent profile
    assert call(admin, "DELETE", "/agents/anjali")[0] == 204
    # Then her next request is refused, and her lead has another owner
    status, body = call(anjali, "GET", "/leads")
    assert status == 401 and body["error"] == "user_disabled"
    _, lead = call(admin, "GET", f"/leads/{lead_id}")
    assert lead["assigned_agent_id"] not in (None, "anjali")
    # And her record says removed (kept for the access log), and cannot be enabled
    _, record = call(admin, "GET", f"/users/{anjali['sub']}")
    assert record["status"] == "removed"
    assert call(admin, "POST", f"/users/{anjali['sub']}/enable")[1]["error"] == "user_removed"


def test_the_cache_serves_a_record_for_seconds_and_the_writing_container_drops_it_at_once(
    flow: Flow, pool: str
) -> None:
    from leadrelay.store.users import UserStore

    # Given a cached record (another Lambda container's cache, with a 1 h TTL for the test)
    anjali = person(pool, "anjali", "agent", agent_id="anjali", team_id="ncr")
    other_container = UserStore(wiring.user_store().table, cache_seconds=3600)
    assert other_container.cached(anjali["sub"]).active  # type: ignore[union-attr]
    # When the record is disabled through the store
    wiring.user_store().update(anjali["sub"], {"status": "disabled"})
    # Then this process's cache forgot it at once (every container shares the module's cache here)
    assert not other_container.cached(anjali["sub"]).active  # type: ignore[union-attr]
    # And a record changed behind the cache's back is seen once the cache time has passed
    short = UserStore(wiring.user_store().table, cache_seconds=0)
    boto3.client("dynamodb").update_item(
        TableName=short.table, Key={"pk": {"S": "USERS"}, "sk": {"S": anjali["sub"]}},
        UpdateExpression="SET #s = :a", ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":a": {"S": "active"}},
    )  # fmt: skip
    assert short.cached(anjali["sub"]).active  # type: ignore[union-attr]


def test_nobody_disables_themselves_or_the_last_admin(flow: Flow, pool: str) -> None:
    admin = person(pool, "boss", "admin")
    status, body = call(admin, "POST", f"/users/{admin['sub']}/disable", {"reason": "testing"})
    assert status == 409 and body["error"] == "cannot_disable_self"


# -- MFA -----------------------------------------------------------------------------------------


def _enrol_totp(pool: str, username: str) -> None:
    cognito = boto3.client("cognito-idp")
    cognito.admin_set_user_password(UserPoolId=pool, Username=username, Password="Str0ng-Passw0rd!", Permanent=True)
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool, ClientName=f"c-{username}", ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    access = cognito.admin_initiate_auth(
        UserPoolId=pool, ClientId=client_id, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": "Str0ng-Passw0rd!"},
    )["AuthenticationResult"]["AccessToken"]  # fmt: skip
    cognito.associate_software_token(AccessToken=access)
    cognito.verify_software_token(AccessToken=access, UserCode="123456")
    cognito.set_user_mfa_preference(
        AccessToken=access, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
    )


def test_a_manager_without_totp_is_refused_until_enrolled(flow: Flow, pool: str, clock: Any) -> None:
    # Given a manager whose record shows no TOTP, and who has none in Cognito
    maya = person(pool, "maya", "manager", team_id="ncr", mfa=False)
    # When she calls the API
    status, body = call(maya, "GET", "/leads")
    # Then she is told to enrol, but may still read who she is
    assert status == 403 and body["error"] == "mfa_required"
    status, me = call(maya, "GET", "/me")
    assert status == 200 and me["mfa_enrolled"] is False and me["role"] == "manager"
    # When she pairs an authenticator in the app (Cognito now asks her for a code at sign-in)
    _enrol_totp(pool, "maya")
    clock.advance(minutes=2)
    # Then her next request is served, and her record says enrolled
    assert call(maya, "GET", "/leads")[0] == 200
    assert wiring.user_store().get(maya["sub"]).mfa_enrolled is True  # type: ignore[union-attr]


def test_turning_totp_off_in_cognito_is_noticed_at_the_next_check(flow: Flow, pool: str, clock: Any) -> None:
    # Given an enrolled admin, confirmed with Cognito now
    admin = person(pool, "boss", "admin")
    wiring.user_store().mark_mfa(admin["sub"], True, clock.now())
    # When they switch TOTP off in Cognito themselves (their access token allows it)
    boto3.client("cognito-idp").admin_set_user_mfa_preference(
        UserPoolId=pool, Username="boss", SoftwareTokenMfaSettings={"Enabled": False}
    )
    # Then within the re-check period they still pass, and after it they are refused
    assert call(admin, "GET", "/leads")[0] == 200
    clock.advance(minutes=16)
    status, body = call(admin, "GET", "/leads")
    assert status == 403 and body["error"] == "mfa_required"


def test_an_mfa_sign_in_shown_by_the_amr_claim_is_enough(flow: Flow, pool: str) -> None:
    maya = person(pool, "maya", "manager", team_id="ncr", mfa=False)
    assert call({**maya, "amr": '["pwd","otp","mfa"]'}, "GET", "/leads")[0] == 200
    assert call({**maya, "amr": "pwd"}, "GET", "/leads")[0] == 403


def test_agents_need_no_totp(flow: Flow, pool: str) -> None:
    anjali = person(pool, "anjali", "agent", agent_id="anjali", team_id="ncr", mfa=False)
    assert call(anjali, "GET", "/leads")[0] == 200


# -- people admin --------------------------------------------------------------------------------


def test_an_admin_invites_an_agent_with_a_new_profile_and_cognito_holds_no_identity_attribute(
    flow: Flow, pool: str
) -> None:
    admin = person(pool, "boss", "admin")
    # When the admin invites Sunita by phone as an NCR agent with a new profile
    status, body = call(admin, "POST", "/users", {
        "phone": "+919812345678", "name": "Sunita Rao", "role": "agent", "team_id": "ncr",
        "agent": {"agent_id": "sunita", "name": "Sunita Rao", "languages": ["hi"], "daily_cap": 30},
    })  # fmt: skip
    # Then she has a record tied to a new agent profile in NCR
    assert status == 201, body
    assert body["role"] == "agent" and body["agent_id"] == "sunita" and body["team_id"] == "ncr"
    assert call(admin, "GET", "/agents/sunita")[1]["team_id"] == "ncr"
    # And the Cognito user carries standard attributes only
    cognito_user = boto3.client("cognito-idp").admin_get_user(UserPoolId=pool, Username="+919812345678")
    names = {a["Name"] for a in cognito_user["UserAttributes"]}
    assert not [n for n in names if n.startswith("custom:")]
    # And the people list shows her; the same phone cannot be invited twice
    assert "sunita" in {u.get("agent_id") for u in call(admin, "GET", "/users")[1]["items"]}
    again = call(admin, "POST", "/users", {"phone": "+919812345678", "name": "S", "role": "agent",
                                           "agent_id": "rahul"})  # fmt: skip
    assert again[0] == 409


def test_managers_invite_and_disable_agents_of_their_own_team_only(flow: Flow, pool: str) -> None:
    maya = person(pool, "maya", "manager", team_id="ncr")
    priya = person(pool, "priya", "agent", agent_id="priya", team_id="south")
    rahul = person(pool, "rahul", "agent", agent_id="rahul", team_id="ncr")
    # A manager invites an agent of her team
    invited = call(maya, "POST", "/users", {"email": "new@example.in", "name": "New", "role": "agent",
                                            "agent_id": "meera"})  # fmt: skip
    assert invited[0] == 201, invited
    # but not a manager, nor another team's agent
    assert call(maya, "POST", "/users", {"email": "m@example.in", "name": "M", "role": "manager",
                                         "team_id": "ncr"})[0] == 403  # fmt: skip
    assert call(maya, "POST", "/users", {"email": "p@example.in", "name": "P", "role": "agent",
                                         "agent_id": "priya"})[0] == 403  # fmt: skip
    # She lists and disables her team's agents only
    listed = {u["username"] for u in call(maya, "GET", "/users")[1]["items"]}
    assert "rahul" in listed and "priya" not in listed
    assert call(maya, "POST", f"/users/{priya['sub']}/disable", {"reason": "not mine"})[0] == 404
    assert call(maya, "POST", f"/users/{rahul['sub']}/disable", {"reason": "on notice"})[0] == 200
    # And she may not change roles or teams
    assert call(maya, "PATCH", f"/users/{rahul['sub']}", {"role": "manager"})[0] == 403
    # Agents have no people admin at all
    assert call(priya, "GET", "/users")[0] == 403


# -- availability --------------------------------------------------------------------------------


def test_an_agent_starts_and_ends_a_break_but_cannot_lift_a_managers_leave(flow: Flow, pool: str) -> None:
    anjali = person(pool, "anjali", "agent", agent_id="anjali", team_id="ncr")
    maya = person(pool, "maya", "manager", team_id="ncr")
    # She starts and ends her own break
    assert call(anjali, "PUT", "/agents/anjali/availability", {"status": "on_break"})[1]["status"] == "on_break"
    assert call(anjali, "PUT", "/agents/anjali/availability", {"status": "available"})[1]["status"] == "available"
    # She may not put herself on leave
    assert call(anjali, "PUT", "/agents/anjali/availability", {"status": "on_leave"})[0] == 403
    # When her manager puts her on leave, she cannot lift it, and the attempt is on her history
    until = (datetime(2026, 11, 23, 6, 30, tzinfo=UTC) + timedelta(days=2)).isoformat()
    assert call(maya, "PUT", "/agents/anjali/availability", {"status": "on_leave", "until": until})[0] == 200
    status, body = call(anjali, "PUT", "/agents/anjali/availability", {"status": "available"})
    assert status == 403 and body["error"] == "forbidden"
    assert call(anjali, "GET", "/agents/anjali")[1]["status"] == "on_leave"
    status, history = call(maya, "GET", "/agents/anjali/history")
    assert status == 200
    refused = [h for h in history["items"] if h["kind"] == "availability.refused"]
    assert len(refused) == 2 and refused[-1]["by"] == "anjali" and "on_leave to available" in refused[-1]["summary"]
    # And a ban is likewise the manager's to lift
    call(maya, "PUT", "/agents/anjali/availability", {"status": "banned"})
    assert call(anjali, "PUT", "/agents/anjali/availability", {"status": "on_break"})[0] == 403


def test_removing_an_agent_sends_their_open_leads_to_the_pool_the_admin_names(flow: Flow, pool: str) -> None:
    import api_handler

    def delete(pool_id: str) -> int:
        event = api_event("DELETE", "/agents/anjali", query={"pool_id": pool_id}, claims=admin)
        return int(api_handler.handler(event, LambdaContext())["statusCode"])

    # Given Anjali's open Noida lead (she has no sign-in at all)
    admin = person(pool, "boss", "admin")
    lead_id = noida_lead(flow)
    # When the admin removes her, naming a pool that does not exist, nothing happens
    assert delete("nowhere") == 422
    # When they name the south pool
    assert delete("south") == 204
    # Then the lead belongs to a south agent, and its timeline says why
    _, lead = call(admin, "GET", f"/leads/{lead_id}")
    assert lead["assigned_team_id"] == "south"
    _, timeline = call(admin, "GET", f"/leads/{lead_id}/timeline")
    assert "agent removed" in timeline["items"][-1]["summary"]


def test_without_a_user_pool_the_record_alone_refuses_a_removed_person(
    flow: Flow, pool: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leadrelay.config import reset_settings

    # Given a deployment (or tool) whose API has no USER_POOL_ID
    anjali = person(pool, "anjali", "agent", agent_id="anjali", team_id="ncr")
    admin = person(pool, "boss", "admin")
    monkeypatch.setenv("USER_POOL_ID", "")
    reset_settings()
    # When the admin removes her agent profile, she is still refused from the next request
    assert call(admin, "DELETE", "/agents/anjali")[0] == 204
    assert call(anjali, "GET", "/leads")[1]["error"] == "user_disabled"
    # And inviting people says plainly that the pool is missing
    status, body = call(admin, "POST", "/users", {"email": "x@example.in", "name": "X", "role": "admin"})
    assert status == 503 and body["error"] == "no_user_pool"


def test_moving_an_agent_profile_to_another_team_moves_the_person_too(flow: Flow, pool: str) -> None:
    rahul = person(pool, "rahul", "agent", agent_id="rahul", team_id="ncr")
    admin = person(pool, "boss", "admin")
    _, agent = call(admin, "GET", "/agents/rahul")
    profile = {k: agent[k] for k in ("name", "languages", "territories", "daily_cap", "soft_cap", "weight")}
    assert call(admin, "PUT", "/agents/rahul", {**profile, "team_id": "south"})[0] == 200
    assert wiring.user_store().get(rahul["sub"]).team_id == "south"  # type: ignore[union-attr]
    assert call(rahul, "GET", "/me")[1]["team_id"] == "south"


def test_disabling_an_agent_withdraws_the_offer_waiting_for_them(flow: Flow, pool: str) -> None:
    # Given the pools Anjali is in offer each lead for an hour, and a lead offered to her
    org = wiring.org_repository()
    for member_of in [p for p in org.load_roster().pools.values() if "anjali" in p.agent_ids]:
        org.put_pool(member_of.model_copy(update={"offer_timeout_s": 3600}))
    person(pool, "anjali", "agent", agent_id="anjali", team_id="ncr")
    admin = person(pool, "boss", "admin")
    lead_id = noida_lead(flow, "9876500031")
    [offer] = wiring.offer_store().for_agent("anjali")
    assert offer.lead_id == lead_id
    # When the admin disables her
    users = {u.username: u for u in wiring.user_store().list()}
    status, body = call(admin, "POST", f"/users/{users['anjali'].user_id}/disable", {"reason": "left the company"})
    assert status == 200, body
    # Then the offer is withdrawn at once, not left for the hour, and the lead is routing again
    assert wiring.offer_store().for_agent("anjali") == []
    _, trail = call(admin, "GET", f"/leads/{lead_id}/routing")
    last = trail["items"][-1]
    assert last["outcome"] == "withdrawn" and last["reason"].endswith("anjali is unavailable now")
    flow.run_router()
    _, lead = call(admin, "GET", f"/leads/{lead_id}")
    assert lead["status"] in ("offered", "assigned", "unassigned") and lead.get("assigned_agent_id") != "anjali"
