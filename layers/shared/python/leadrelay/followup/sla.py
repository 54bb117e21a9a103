"""The first-contact SLA: its length for a lead, its deadline, and what to do when it is breached.

A lead is re-distributed through the routing engine to an agent who never had it, preferring the
backup pool its rule names; after `max_redistributions` moves it stays and the team's manager is
told instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from leadrelay.models import Agent, RoutingDecision
from leadrelay.models.followup_settings import SlaSettings
from leadrelay.models.working_time import add_working_minutes

SLA_TRIGGER = "sla"


def sla_minutes(
    settings: SlaSettings,
    org_default: int | None,
    rule_id: str | None,
    pool_id: str | None,
    source_id: str | None = None,
    source_kind: str | None = None,
) -> int | None:
    """The SLA in minutes for a lead routed by `rule_id` into `pool_id` (None: no SLA).
    The rule's own SLA wins over its pool's, the pool's over the organisation's; a per-source
    clock (by source id, else kind) is tighter when shorter, never looser."""
    routed = _routed_minutes(settings, org_default, rule_id, pool_id)
    source = _by_source(settings.by_source, settings.by_source_kind, source_id, source_kind)
    if source is None:
        return routed
    return source if routed is None else min(source, routed)


def _routed_minutes(
    settings: SlaSettings, org_default: int | None, rule_id: str | None, pool_id: str | None
) -> int | None:
    if rule_id is not None and rule_id in settings.by_rule:
        return settings.by_rule[rule_id]
    if pool_id is not None and pool_id in settings.by_pool:
        return settings.by_pool[pool_id]
    if settings.first_contact_minutes is not None:
        return settings.first_contact_minutes
    return org_default


def _by_source(by_id: dict[str, int], by_kind: dict[str, int], source_id: str | None, kind: str | None) -> int | None:
    if source_id is not None and source_id in by_id:
        return by_id[source_id]
    if kind is not None and kind in by_kind:
        return by_kind[kind]
    return None


def sla_warning_at(settings: SlaSettings, deadline: datetime, minutes: int, source_id: str | None,
                   source_kind: str | None) -> datetime | None:  # fmt: skip
    """When to warn the owner that the SLA is running out, or None (no warning set, or the
    warning would come before the clock even started: shorter SLA than warning)."""
    warning = _by_source(settings.warning_by_source, settings.warning_by_source, source_id, source_kind)
    if warning is None:
        warning = settings.warning_minutes
    if warning is None or warning >= minutes:
        return None
    return deadline - timedelta(minutes=warning)


def sla_deadline(
    settings: SlaSettings, minutes: int, assigned_at: datetime, owner: Agent | None, timezone: str
) -> datetime:
    """When the SLA clock that started at `assigned_at` runs out: wall-clock minutes, or the
    owner's shift minutes only when the organisation counts shift hours."""
    if settings.shift_hours_only and owner is not None:
        return add_working_minutes(owner, assigned_at, minutes, timezone)
    return assigned_at + timedelta(minutes=minutes)


@dataclass(frozen=True)
class History:
    """What the audit trail says about a lead's owners so far."""

    had_it: frozenset[str]
    sla_moves: int
    rule_id: str | None
    pool_id: str | None


def history(decisions: list[RoutingDecision]) -> History:
    """Every agent who ever had the lead, how often the SLA moved it, and the rule that first
    routed it (an SLA move keeps the original rule, so its backup pool stays in force)."""
    had = frozenset(d.agent_id for d in decisions if d.agent_id)
    moves = sum(1 for d in decisions if d.trigger == SLA_TRIGGER and d.outcome == "assigned")
    routed = [d for d in decisions if d.trigger != SLA_TRIGGER and d.rule_id is not None]
    rule_id = routed[-1].rule_id if routed else None
    pool_id = routed[-1].pool_id if routed else None
    return History(had_it=had, sla_moves=moves, rule_id=rule_id, pool_id=pool_id)


@dataclass(frozen=True)
class BreachPlan:
    """`redistribute` through `pools` in order (each a pool id; None means the rule chain),
    excluding `exclude`; or `escalate` to the manager."""

    action: Literal["redistribute", "escalate"]
    pools: tuple[str | None, ...]
    exclude: frozenset[str]
    why: str


def plan_breach(settings: SlaSettings, past: History, current_pool: str | None) -> BreachPlan:
    """What a breached SLA does to a lead with this history."""
    if past.sla_moves >= settings.max_redistributions:
        return BreachPlan(
            "escalate",
            (),
            past.had_it,
            f"moved {past.sla_moves} time(s) for the SLA already (max {settings.max_redistributions})",
        )
    pools: list[str | None] = []
    backup = settings.backup_pool_by_rule.get(past.rule_id) if past.rule_id else None
    if backup:
        pools.append(backup)
    for pool in (current_pool, past.pool_id):
        if pool and pool not in pools:
            pools.append(pool)
    pools.append(None)
    return BreachPlan("redistribute", tuple(pools), past.had_it, "not contacted within the SLA")
