"""The RBAC matrix: every REST route × role × own/other team × active/removed person.

Generated from the resolver's own route table, so a route added without a line in
api_routes/access.py fails here. Expectations come from that table:
- a removed person is refused on every route but the public ones (401 `user_disabled`);
- a role the rule does not name is refused (403 `forbidden`) whatever the body;
- a role it names is let through (anything but 401/403), and where the path names a lead, an
  agent or a person, the handler scopes it: inside the caller's scope it is served, outside it
  is a 404 (or 403) — never a 2xx;
- no 2xx answer to an agent or manager mentions another team's lead.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import api_handler
import pytest

from api_routes.access import ACCESS
from leadrelay.auth import Role
from tests.helpers import LambdaContext, api_event

api_handler.routers.load_all()  # every route module, as the OpenAPI document sees them
ROUTES = sorted(
    {
        f"{route.method} {route.openapi_path}"
        for route in (*api_handler.app._static_routes, *api_handler.app._dynamic_routes)
    }
)
ROLES = ("admin", "manager", "agent")
OWN_TEAM, OTHER_TEAM = "ncr", "south"

# Bodies good enough to get past validation to the scope check, for routes that name a target
# (given the target's team).
BODIES: dict[str, Any] = {
    "PUT /leads/{lead_id}/status": lambda team: {"status": "contacted"},
    "POST /leads/{lead_id}/reassign": lambda team: {"pool_id": team, "reason": "matrix test"},
    "PUT /agents/{agent_id}": lambda team: {"name": "Renamed", "team_id": team},
    "PUT /agents/{agent_id}/availability": lambda team: {"status": "on_break"},
    "PATCH /users/{user_id}": lambda team: {"name": "Renamed"},
    "POST /users/{user_id}/disable": lambda team: {"reason": "matrix test"},
    "POST /leads/{lead_id}/activities": lambda team: {"type": "note", "note": "matrix test"},
    "POST /leads/{lead_id}/nurture": lambda team: {"cadence_id": "matrix"},
    "PATCH /leads/{lead_id}": lambda team: {"note": "matrix test"},
    "PUT /leads/{lead_id}/stage": lambda team: {"stage_id": "contacted"},
    "POST /leads/{lead_id}/consent": lambda team: {"given": False, "channel": "call"},
}


def test_every_route_has_an_access_rule_and_every_rule_a_route() -> None:
    missing = [route for route in ROUTES if route not in ACCESS]
    assert not missing, f"add these to api_routes/access.py ACCESS: {missing}"
    stale = [rule for rule in ACCESS if rule not in ROUTES]
    assert not stale, f"rules for routes that do not exist: {stale}"


@dataclass
class World:
    counter: Iterator[int]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """The demo organisation on in-process moto, once for the whole matrix; every case makes its
    own caller and targets, so cases never depend on each other."""
    import boto3
    from moto import mock_aws

    from leadrelay import wiring
    from leadrelay.clock import SystemClock, set_clock
    from leadrelay.config import reset_settings
    from leadrelay.definitions import LEADS_TABLE, ORG_TABLE, TABLES
    from leadrelay.local import moto_speed
    from leadrelay.local.demo import seed
    from tests.helpers import ManualClock

    names = {LEADS_TABLE.env_var: "rbac-leads", ORG_TABLE.env_var: "rbac-org"}
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
           "AWS_DEFAULT_REGION": "ap-south-1", "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
           "EVENT_BUS_NAME": "rbac-bus", **names}  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        moto_speed.install()
        with mock_aws():
            wiring.reset()
            ddb = boto3.client("dynamodb")
            for table in TABLES:
                ddb.create_table(**table.create_table_kwargs(names[table.env_var]))
            boto3.client("events").create_event_bus(Name="rbac-bus")
            pool = boto3.client("cognito-idp").create_user_pool(PoolName="rbac")["UserPool"]["Id"]
            patch.setenv("USER_POOL_ID", pool)
            reset_settings()
            set_clock(ManualClock())
            seed(demo=True)
            yield World(counter=itertools.count(1))
            set_clock(SystemClock())
    wiring.reset()


def _agent(world: World, team: str) -> str:
    from leadrelay import wiring
    from leadrelay.models import Agent

    agent_id = f"m{next(world.counter)}"
    wiring.org_repository().put_agent(Agent(agent_id=agent_id, name=agent_id, team_id=team))
    return agent_id


def _lead(world: World, agent_id: str, team: str) -> str:
    from leadrelay import wiring
    from leadrelay.models import Lead, LeadStatus
    from leadrelay.store.dynamo import client, to_item
    from leadrelay.store.leads import lead_to_item

    n = next(world.counter)
    lead = Lead(lead_id=f"L{n:06d}", source_id="website", source_kind="generic", received_at=datetime.now(UTC),
                phone=f"+9198{n:08d}", status=LeadStatus.ASSIGNED, assigned_agent_id=agent_id,
                assigned_team_id=team, assigned_at=datetime.now(UTC))  # fmt: skip
    client().put_item(TableName=wiring.lead_repository().table, Item=to_item(lead_to_item(lead)))
    return lead.lead_id


def _user(world: World, role: str, team: str | None, agent_id: str | None, status: str = "active") -> str:
    from leadrelay import wiring
    from leadrelay.models.user import User

    sub = f"sub-{next(world.counter)}"
    wiring.user_store().put(User(user_id=sub, username=sub, role=role, team_id=team, agent_id=agent_id, status=status,
                                 mfa_enrolled=True, mfa_checked_at=datetime(2100, 1, 1, tzinfo=UTC)))  # fmt: skip
    return sub


def _cases() -> Iterator[Any]:
    for route in ROUTES:
        for role in ROLES:
            yield pytest.param(route, role, "own", "active", id=f"{route}|{role}|own|active")
            yield pytest.param(route, role, "other", "active", id=f"{route}|{role}|other|active")
            yield pytest.param(route, role, "own", "removed", id=f"{route}|{role}|removed")


@pytest.mark.parametrize(("route", "role", "relation", "state"), list(_cases()))
def test_rbac_matrix(world: World, route: str, role: str, relation: str, state: str) -> None:
    rule = ACCESS.get(route)
    assert rule is not None, f"{route} has no access rule (api_routes/access.py)"
    method, template = route.split(" ", 1)
    # Given a caller of this role in the NCR team (an agent has their own profile)
    caller_agent = _agent(world, OWN_TEAM) if role == "agent" else None
    caller_team = OWN_TEAM if role != "admin" else None
    sub = _user(world, role, caller_team, caller_agent, status=state if state == "removed" else "active")
    # And the targets the path names: in the caller's scope ("own"), or another team's ("other")
    team = OWN_TEAM if relation == "own" else OTHER_TEAM
    target_agent = caller_agent if (role == "agent" and relation == "own") else _agent(world, team)
    other_lead = _lead(world, _agent(world, OTHER_TEAM), OTHER_TEAM)
    values = {
        "lead_id": lambda: _lead(world, target_agent, team),
        "agent_id": lambda: target_agent,
        "user_id": lambda: _user(world, "agent", team, target_agent),
        "version": lambda: "1",
    }
    path = re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), lambda: "x")(), template)
    # When they call the route
    body_for = BODIES.get(route)
    event = api_event(method, path, body=body_for(team) if body_for else None, claims={"sub": sub, "token_use": "id"})
    response = api_handler.handler(event, LambdaContext())
    status = response["statusCode"]
    body = response.get("body") or ""
    error = json.loads(body).get("error") if body.startswith("{") else None
    where = f"{route} as {role} ({relation}, {state}) → {status} {body[:200]}"
    # Then the access table's promise holds
    if rule.public:
        assert status == 200, where
        return
    if state == "removed":
        assert (status, error) == (401, "user_disabled"), where
        return
    if Role(role) not in rule.roles:
        assert (status, error) == (403, "forbidden"), where
        return
    assert status not in (401,) and error not in ("forbidden", "no_access_rule", "mfa_required"), where
    scoped = rule.target in ("lead", "agent", "user")
    if scoped and (relation == "own" or role == "admin"):
        assert status != 404, where
    if scoped and relation == "other" and role != "admin":
        assert status in (403, 404), where
    if 200 <= status < 300 and role != "admin":
        assert other_lead not in body, f"another team's lead leaked: {where}"


def test_a_route_without_a_rule_is_refused_to_everyone_and_unknown_paths_stay_404(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api_routes import access

    # Given GET /pools has lost its access rule
    monkeypatch.delitem(access.ACCESS, "GET /pools")
    access._compiled.cache_clear()
    try:
        admin = _user(world, "admin", None, None)
        # When even an admin calls it, it is refused, naming the missing rule
        response = api_handler.handler(api_event("GET", "/pools", claims={"sub": admin}), LambdaContext())
        assert response["statusCode"] == 403 and json.loads(response["body"])["error"] == "no_access_rule"
        # And a path no route serves is still a plain 404
        response = api_handler.handler(api_event("GET", "/no/such/thing", claims={"sub": admin}), LambdaContext())
        assert response["statusCode"] == 404
    finally:
        monkeypatch.undo()
        access._compiled.cache_clear()
