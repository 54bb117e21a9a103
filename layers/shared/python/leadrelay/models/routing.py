"""Routing decisions as recorded in each lead's audit trail."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class SkipReason(StrEnum):
    ON_BREAK = "on_break"
    ON_LEAVE = "on_leave"
    UNAVAILABLE = "unavailable"
    BANNED = "banned"
    OFF_SHIFT = "off_shift"
    CAPPED = "capped"
    LANGUAGE = "language"
    TERRITORY = "territory"
    UNKNOWN_AGENT = "unknown_agent"
    ALREADY_HAD_LEAD = "already_had_lead"
    CHECKED_OUT = "checked_out"
    BACKLOG_FULL = "backlog_full"
    PASSED_ON_OFFER = "passed_on_offer"


class RuleTrace(BaseModel):
    """How one rule fared for this lead."""

    rule_id: str
    matched: bool
    why: str
    fell_through: bool = False
    # Why each agent of this rule's pool was passed over when the rule fell through.
    skipped: dict[str, str] = Field(default_factory=dict)


class RoutingDecision(BaseModel):
    """One routing decision: who got the lead (or nobody), and why."""

    decision_id: str
    lead_id: str
    at: datetime
    rule_chain_version: int
    rule_id: str | None = None
    pool_id: str | None = None
    strategy: str | None = None
    agent_id: str | None = None
    outcome: str  # "assigned" | "unassigned"
    reason: str
    candidates: list[str] = Field(default_factory=list)
    skipped: dict[str, str] = Field(default_factory=dict)
    demoted: list[str] = Field(default_factory=list)
    rules: list[RuleTrace] = Field(default_factory=list)
    # Rules of the chain passed over because their condition did not hold: `rules` keeps the ones
    # that decided (matched, fell through); POST /routing/simulate explains every rule.
    rules_not_matched: int = 0
    counters_before: dict[str, int] = Field(default_factory=dict)
    counters_after: dict[str, int] = Field(default_factory=dict)
    attempt: int = 1
    trigger: str = "auto"  # "auto" | "manual" | "sla"
    # Manual reassignment: who did it, why, whom it was taken from, and whether caps were overridden.
    by: str | None = None
    note: str | None = None
    previous_agent_id: str | None = None
    forced: bool = False
