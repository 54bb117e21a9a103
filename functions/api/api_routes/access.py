"""Who may call which route: one line per route, checked before any handler runs.

The API refuses a route that has no line here (403 `no_access_rule`), and the RBAC matrix test
(tests/integration/test_rbac_matrix.py) reads this table, so a new route without a rule fails
the suite. Adding a route = adding its line.

`roles`: who may call it at all (403 `forbidden` for the others). `target`: what the path names,
which the handler scopes to the caller (a lead or agent outside their scope is a 404):
- `org`     nothing in the path; lists and reports filter to the caller's scope inside
- `lead`    a lead (`{lead_id}`): agent own, manager their team's or unassigned, admin all
- `agent`   an agent (`{agent_id}`): agent themself, manager their team, admin all
- `user`    a person (`{user_id}`): manager their team's agents, admin all
- `self`    the caller themself (reachable before MFA enrolment)
- `public`  no identity at all (API documentation)
- `export`  a background export (`{export_id}`): its creator, or an admin
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from leadrelay.auth import Role

A, M, G = Role.ADMIN, Role.MANAGER, Role.AGENT
EVERYONE = frozenset({A, M, G})
STAFF = frozenset({A, M})
ADMIN = frozenset({A})


@dataclass(frozen=True)
class Rule:
    roles: frozenset[Role]
    target: str = "org"

    @property
    def public(self) -> bool:
        return self.target == "public"

    @property
    def needs_mfa(self) -> bool:
        """Only `self` routes (who am I, am I enrolled) are reachable before TOTP enrolment."""
        return self.target not in ("self", "public")


ACCESS: dict[str, Rule] = {
    "GET /docs": Rule(EVERYONE, "public"),
    "GET /openapi.json": Rule(EVERYONE, "public"),
    "GET /me": Rule(EVERYONE, "self"),
    # leads
    "GET /leads": Rule(EVERYONE),
    "POST /leads": Rule(EVERYONE),
    # scoped like GET /leads (agent: own; manager: team; admin: all)
    "GET /leads/export": Rule(EVERYONE),
    "GET /exports/{export_id}": Rule(EVERYONE, "export"),
    "PATCH /leads/{lead_id}": Rule(EVERYONE, "lead"),
    "PUT /leads/{lead_id}/stage": Rule(EVERYONE, "lead"),
    "POST /leads/{lead_id}/consent": Rule(EVERYONE, "lead"),
    "GET /leads/{lead_id}": Rule(EVERYONE, "lead"),
    "GET /leads/{lead_id}/routing": Rule(EVERYONE, "lead"),
    "GET /leads/{lead_id}/timeline": Rule(EVERYONE, "lead"),
    "POST /leads/{lead_id}/reassign": Rule(STAFF, "lead"),
    "PUT /leads/{lead_id}/status": Rule(EVERYONE, "lead"),
    "GET /leads/{lead_id}/activities": Rule(EVERYONE, "lead"),
    "POST /leads/{lead_id}/activities": Rule(EVERYONE, "lead"),
    "POST /leads/{lead_id}/nurture": Rule(EVERYONE, "lead"),
    # follow-ups and offline sync (each handler scopes to the leads the caller sees)
    "GET /followups": Rule(EVERYONE),
    "POST /followups": Rule(EVERYONE),
    "PATCH /followups/{followup_id}": Rule(EVERYONE),
    "POST /sync": Rule(EVERYONE),
    # agents
    "GET /agents": Rule(STAFF),
    "POST /agents": Rule(STAFF),
    "GET /agents/{agent_id}": Rule(EVERYONE, "agent"),
    "PUT /agents/{agent_id}": Rule(STAFF, "agent"),
    "DELETE /agents/{agent_id}": Rule(ADMIN, "agent"),
    "PUT /agents/{agent_id}/availability": Rule(EVERYONE, "agent"),
    "GET /agents/{agent_id}/history": Rule(EVERYONE, "agent"),
    # offers and presence: the handler acts for the caller's own agent (400 `not_an_agent` for
    # an admin or manager, who have no presence) and scopes the offer list
    "GET /offers": Rule(EVERYONE),
    "POST /offers/{offer_id}/accept": Rule(EVERYONE),
    "POST /offers/{offer_id}/decline": Rule(EVERYONE),
    "POST /agents/me/check-in": Rule(EVERYONE),
    "POST /agents/me/check-out": Rule(EVERYONE),
    # people
    "GET /users": Rule(STAFF),
    "POST /users": Rule(STAFF),
    "GET /users/{user_id}": Rule(STAFF, "user"),
    "PATCH /users/{user_id}": Rule(STAFF, "user"),
    "POST /users/{user_id}/disable": Rule(STAFF, "user"),
    "POST /users/{user_id}/enable": Rule(STAFF, "user"),
    "GET /audit/access": Rule(STAFF),
    # pools and teams
    "GET /pools": Rule(STAFF),
    "PUT /pools/{pool_id}": Rule(ADMIN),
    "DELETE /pools/{pool_id}": Rule(ADMIN),
    "GET /teams": Rule(STAFF),
    "PUT /teams/{team_id}": Rule(ADMIN),
    # routing
    "GET /routing/rules": Rule(STAFF),
    "PUT /routing/rules": Rule(ADMIN),
    "GET /routing/rules/versions": Rule(STAFF),
    "GET /routing/rules/versions/{version}": Rule(STAFF),
    "POST /routing/simulate": Rule(STAFF),
    "POST /routing/backtest": Rule(STAFF),
    "GET /routing/overrides": Rule(STAFF),
    "GET /routing/fairness": Rule(STAFF),
    # sources and quarantine
    "GET /sources": Rule(ADMIN),
    "POST /sources": Rule(ADMIN),
    "GET /sources/{source_id}": Rule(ADMIN),
    "PATCH /sources/{source_id}": Rule(ADMIN),
    "POST /sources/{source_id}/rotate-key": Rule(ADMIN),
    "POST /sources/{source_id}/import": Rule(ADMIN),
    "GET /quarantine": Rule(ADMIN),
    "POST /quarantine/{request_id}/replay": Rule(ADMIN),
    # settings and reports
    "GET /settings": Rule(STAFF),
    "PUT /settings": Rule(ADMIN),
    "GET /pipeline": Rule(EVERYONE),
    "PUT /pipeline": Rule(ADMIN),
    "GET /pipeline/presets": Rule(STAFF),
    "POST /pipeline/presets/{name}": Rule(ADMIN),
    # privacy (DPDP): admins only
    "POST /privacy/erasure": Rule(ADMIN),
    "POST /privacy/export": Rule(ADMIN),
    "PUT /settings/returning": Rule(ADMIN),
    "GET /settings/followups": Rule(STAFF),
    "PUT /settings/followups": Rule(ADMIN),
    "GET /reports/attribution": Rule(STAFF),
    "GET /dashboard": Rule(STAFF),
    "GET /dashboard/csv": Rule(STAFF),
    "GET /dashboard/trends": Rule(STAFF),
    "POST /dashboard/rebuild": Rule(ADMIN),
    "POST /search/reindex": Rule(ADMIN),
    "GET /activity": Rule(EVERYONE),
}


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "/?$")


@lru_cache(maxsize=1)
def _compiled() -> list[tuple[str, str, re.Pattern[str]]]:
    entries = []
    for key in ACCESS:
        method, template = key.split(" ", 1)
        entries.append((method, key, _pattern(template)))
    # Literal segments beat parameters (`/leads/export` before `/leads/{lead_id}`), as in the resolver.
    entries.sort(key=lambda entry: (entry[1].count("{"), -len(entry[1])))
    return entries


def rule_for(method: str, path: str) -> tuple[str, Rule] | None:
    """The rule of the route `method path` falls on (path without the stage), or None."""
    for rule_method, key, pattern in _compiled():
        if rule_method == method.upper() and pattern.match(path):
            return key, ACCESS[key]
    return None
