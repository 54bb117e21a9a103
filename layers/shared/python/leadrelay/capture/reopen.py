"""The same person again: a touchpoint on their lead, and the returning policy for a closed one."""

from __future__ import annotations

from typing import Any

from leadrelay.ids import new_id
from leadrelay.models import Lead, LeadInput, Source, TimelineEvent, TimelineKind
from leadrelay.models.capture import DedupeKey, MergeResult, Reopen, StoreOutcome
from leadrelay.models.lead import Touch
from leadrelay.models.source_guard import SourceGuard
from leadrelay.store.leads import LeadRepository
from leadrelay.store.org import OrgRepository
from leadrelay.store.raw import RawRequest


def merge_touchpoint(
    leads: LeadRepository,
    org: OrgRepository,
    source: Source,
    lead_input: LeadInput,
    raw: RawRequest,
    lead_id: str,
    key: DedupeKey,
    merge_keys: list[DedupeKey],
    closed: Lead | None,
    actor: str | None = None,
    guard: SourceGuard | None = None,
) -> MergeResult:
    """The same person again: a touchpoint on `lead_id` (the last touch for attribution, and
    new consent if the person gave any). A closed lead is reopened or left closed by the
    organisation's returning policy; an open one is merged on condition that it is still open."""
    now = raw.received_at
    reopen: Reopen | None = None
    summary = f"the same person again from {source.name} (matched on {key.kind.lower()})"
    data: dict[str, Any] = {"source_id": source.source_id, "request_id": raw.request_id,
                            "matched_on": key.kind.lower(),
                            "attribution": lead_input.attribution.model_dump(exclude_none=True)}  # fmt: skip
    if lead_input.message:
        data["message"] = lead_input.message
    if closed is not None:
        policy = org.get_org_settings().returning
        status = closed.status
        if policy.reopens(closed.closed_as):
            previous = closed.assigned_agent_id if policy.to_previous_agent else None
            reopen = Reopen(closed.version, status, closed.closed_at, previous)
            summary += f"; the {status} lead is reopened"
            summary += f" and offered to its previous owner {previous} first" if previous else " and routed again"
            data.update(reopened=True, closed_status=status, return_to_agent_id=previous)
        else:
            summary += f"; the lead stays {status} (the returning policy does not reopen {status} leads)"
            data.update(reopened=False, closed_status=status)
    event = TimelineEvent(
        event_id=new_id(now), lead_id=lead_id, at=now,
        kind=(TimelineKind.REOPENED if reopen else TimelineKind.TOUCHPOINT).value, summary=summary, data=data,
        actor=actor or "system",
    )  # fmt: skip
    touch = {
        "source_id": source.source_id, "at": now, "request_id": raw.request_id,
        "fields": lead_input.model_dump(mode="python", exclude_none=True, exclude={"warnings"}),
    }  # fmt: skip
    last_touch = Touch(source_id=source.source_id, source_kind=source.kind.value, at=now,
                       request_id=raw.request_id, attribution=lead_input.attribution)  # fmt: skip
    detail = lead_input.consent_detail
    result = leads.merge(
        lead_id, merge_keys, touch, raw, event, now,
        last_touch=last_touch.model_dump(mode="python", exclude_none=True),
        consent=(detail.given, detail.model_dump(mode="python", exclude_none=True)) if detail else None,
        guard_open=closed is None, reopen=reopen, guard=guard,
    )  # fmt: skip
    if isinstance(result, StoreOutcome) and reopen is not None:
        result.reopened, result.return_to_agent_id = True, reopen.return_to_agent_id
    return result
