"""Response models of the lead routes, for the OpenAPI document (generated clients get real types).

They describe what `common.lead_view` and the timeline/routing views answer; routes declare them
in `responses=` (documented, not re-validated on the hot path). schemathesis checks every answer
against them (tests/e2e/test_api_contract_e2e.py), so a view that drifts from its model fails there.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_LEAD_EXAMPLE: dict[str, Any] = {
    "lead_id": "01M847B8Z914VCACZZTYWAXZWN", "source_id": "website", "source_kind": "generic", "status": "assigned",
    "stage": "new", "stage_label": "New", "category": "open",
    "name": "Ravi Kumar", "phone": "+919876543210", "phone_type": "mobile", "email": "ravi.kumar@example.com",
    "city": "Noida", "state": "Uttar Pradesh", "state_code": "UP", "pincode": "201301", "language": "hi",
    "product": "2BHK Sector 150", "budget": 7500000, "message": None, "external_id": None, "consent": None,
    "consent_detail": None, "do_not_call": False, "test": False, "tags": ["walk-in"],
    "attribution": {"utm_source": "google"}, "extra": {}, "received_at": "2026-11-23T12:50:57.129Z",
    "assigned_agent_id": "anjali", "assigned_team_id": "ncr", "assigned_at": "2026-11-23T12:50:57.412Z",
    "first_contacted_at": None, "last_touch_at": "2026-11-23T12:50:57.129Z", "touch_count": 1, "version": 3,
}  # fmt: skip


class _Open(BaseModel):
    # Views may gain fields (other work adds them): clients must accept more than they know.
    # Built when first used (the OpenAPI document), not at the api's cold start: no route
    # validates its answer against them (tests/unit/test_cold_imports.py).
    model_config = ConfigDict(extra="allow", defer_build=True)


class Touch(_Open):
    source_id: str
    source_kind: str
    at: str | None = None
    attribution: dict[str, Any] = Field(default_factory=dict)


class LeadView(_Open):
    """A lead (CONTRACT.md: Leads). Times are ISO-8601 UTC with milliseconds; money in rupees."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [_LEAD_EXAMPLE]})

    lead_id: str
    source_id: str
    source_kind: str
    status: str = Field(
        description="a stage id of the pipeline, or routing's new/offered/assigned/unassigned "
        "while nobody worked the lead"
    )
    stage: str | None = Field(default=None, description="the pipeline stage the lead counts as now")
    stage_label: str | None = None
    category: str | None = Field(default=None, description="open, won or lost")
    name: str | None = None
    phone: str | None = Field(default=None, description="E.164, e.g. +919876543210")
    phone_type: str | None = None
    email: str | None = None
    city: str | None = None
    state: str | None = None
    state_code: str | None = None
    pincode: str | None = None
    language: str | None = None
    product: str | None = None
    budget: int | float | None = None
    message: str | None = None
    external_id: str | None = None
    consent: bool | None = None
    consent_detail: dict[str, Any] | None = None
    do_not_call: bool = False
    test: bool = False
    tags: list[str] = Field(default_factory=list)
    attribution: dict[str, Any] = Field(default_factory=dict)
    extra: dict[str, Any] = Field(default_factory=dict)
    received_at: str | None = None
    assigned_agent_id: str | None = None
    assigned_team_id: str | None = None
    assigned_at: str | None = None
    first_contacted_at: str | None = None
    last_touch_at: str | None = None
    touch_count: int | None = None
    first_touch: Touch | None = None
    last_touch: Touch | None = None
    closed_at: str | None = None
    close_reason: str | None = None
    reopened_at: str | None = None
    reopen_count: int | None = None
    return_to_agent_id: str | None = None
    version: int | None = Field(default=None, description="send it back in PATCH to refuse stale edits (409)")


class LeadPage(_Open):
    """One page of leads; `next` is the cursor of the next page, null on the last."""

    items: list[LeadView]
    next: str | None = None


class TimelineEntry(_Open):
    event_id: str
    lead_id: str
    at: str
    kind: str = Field(description="lead.created, lead.assigned, lead.updated, lead.note, …")
    actor: str = "system"
    summary: str = ""
    data: dict[str, Any] = Field(default_factory=dict)


class Timeline(_Open):
    lead_id: str
    items: list[TimelineEntry]


class RoutingEntry(_Open):
    decision_id: str
    lead_id: str
    at: str
    outcome: str = Field(description="assigned or unassigned")
    reason: str
    rule_id: str | None = None
    pool_id: str | None = None
    strategy: str | None = None
    agent_id: str | None = None
    candidates: list[str] = Field(default_factory=list)
    skipped: dict[str, str] = Field(default_factory=dict)
    trigger: str = "auto"


class RoutingTrail(_Open):
    lead_id: str
    items: list[RoutingEntry]
    triggers: dict[str, int] = Field(default_factory=dict)


def ok(model: type[BaseModel], description: str = "Successful Response") -> dict[int | str, Any]:
    """`responses=` for a route whose 200 answer is `model`."""
    return {200: {"description": description, "content": {"application/json": {"model": model}}}}


class ShiftView(_Open):
    days: list[int] = Field(default_factory=list, description="0 = Monday")
    start: str
    end: str


class AgentView(_Open):
    """An agent with the status in force now and today's count (CONTRACT.md: Agents)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "agent_id": "anjali", "name": "Anjali Verma", "team_id": "ncr", "status": "available", "status_until": None,
        "languages": ["hi", "en"], "territories": ["Noida"], "daily_cap": 40, "soft_cap": 30, "weight": 1,
        "shifts": [{"days": [0, 1, 2, 3, 4, 5], "start": "09:00", "end": "18:00"}], "assigned_today": 3,
    }]})  # fmt: skip

    agent_id: str
    name: str
    team_id: str | None = None
    status: str
    status_until: str | None = None
    languages: list[str] = Field(default_factory=list)
    territories: list[str] = Field(default_factory=list)
    daily_cap: int | None = None
    soft_cap: int | None = None
    weight: int | None = None
    shifts: list[ShiftView] = Field(default_factory=list)
    assigned_today: int = 0


class AgentPage(_Open):
    items: list[AgentView]
    next: str | None = None


class PoolView(_Open):
    pool_id: str
    name: str
    agent_ids: list[str] = Field(default_factory=list)
    strategy: str
    team_id: str | None = None


class PoolPage(_Open):
    items: list[PoolView]
    next: str | None = None


class TeamView(_Open):
    team_id: str
    name: str
    manager_usernames: list[str] = Field(default_factory=list)


class TeamPage(_Open):
    items: list[TeamView]
    next: str | None = None


class RuleChainView(_Open):
    """The live rule chain: send it back edited to PUT /routing/rules (its `version` is the lock)."""

    version: int
    rules: list[dict[str, Any]] = Field(default_factory=list)
    default_pool_id: str | None = None
    daily_cap_per_agent: int | None = None
    published_at: str | None = None
    published_by: str | None = None


class SettingsView(_Open):
    name: str | None = None
    timezone: str
    first_contact_sla_minutes: int | None = None
    returning: dict[str, Any] = Field(default_factory=dict)
