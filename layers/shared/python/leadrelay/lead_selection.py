"""Which leads a person may list or export: the list filters (or a search) within the caller's
scope, one page at a time. `GET /leads`, `GET /leads/export` and the background export job
(`leadrelay.export_job`) all read through `select_leads`, so the three can never disagree.

Pure domain over ports: the lead list, the org (to check a named agent), the search and the pipeline
(which stages a status stands for) are passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from leadrelay.auth import Principal, Role
from leadrelay.errors import Refused
from leadrelay.models import Agent, Lead, LeadStatus
from leadrelay.models.pipeline import ROUTING_STATUSES, Pipeline

# New and unassigned leads belong to no team yet: a manager's `?status=new|unassigned` shows that queue.
QUEUE_STATUSES = (LeadStatus.NEW, LeadStatus.UNASSIGNED)


class LeadLists(Protocol):
    def list_leads(
        self, *, agent_id: str | None = None, team_id: str | None = None, status: str | list[str] | None = None,
        source_id: str | None = None, cursor: str | None = None, limit: int = 50, tag: str | None = None,
        received_from: datetime | None = None, received_to: datetime | None = None,
    ) -> tuple[list[Lead], str | None]: ...  # fmt: skip


class Agents(Protocol):
    def get_agent(self, agent_id: str) -> Agent | None: ...


@dataclass(frozen=True)
class LeadFilters:
    """The list filters, as a test on one lead (search reads candidates by term, then filters)."""

    status: str | None = None
    # `status` and the retired stages whose leads count as it (`statuses_for`).
    statuses: tuple[str, ...] = ()
    source_id: str | None = None
    agent_id: str | None = None
    team_id: str | None = None
    tag: str | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None

    def accepts(self, lead: Lead) -> bool:
        return (
            (self.status is None or lead.status in (self.statuses or (self.status,)))
            and (self.source_id is None or lead.source_id == self.source_id)
            and (self.agent_id is None or lead.assigned_agent_id == self.agent_id)
            and (self.team_id is None or lead.assigned_team_id == self.team_id)
            and (self.tag is None or self.tag in lead.tags)
            and (self.received_from is None or lead.received_at >= self.received_from)
            and (self.received_to is None or lead.received_at < self.received_to)
        )


def select_leads(
    who: Principal,
    *,
    status: str | None,
    source_id: str | None,
    agent_id: str | None,
    cursor: str | None,
    limit: int,
    q: str | None,
    team_id: str | None,
    tag: str | None,
    received_from: datetime | None,
    received_to: datetime | None,
    leads: LeadLists,
    agents: Agents,
    search: Callable[[], Any],
    pipeline: Callable[[], Pipeline],
) -> tuple[list[Lead], str | None]:
    """One page of the leads `who` may see that pass the list filters (or the search `q`), and the
    cursor of the next page. Refuses (`Refused`) with 404 out of scope, 422 a bad query or time,
    400 a cursor that is not one."""
    for name, moment in (("received_from", received_from), ("received_to", received_to)):
        if moment is not None and moment.tzinfo is None:
            raise Refused("invalid_request", f"{name} needs a time zone, e.g. 2026-11-23T00:00:00+05:30", 422)
    if who.role is Role.AGENT:
        if agent_id and agent_id != who.agent_id:
            raise Refused("not_found", "agents see only their own leads", 404)
        agent_id = who.agent_id or "-"
    elif who.role is Role.MANAGER:
        if team_id and team_id != who.team_id:
            raise Refused("not_found", "managers see only their own team's leads", 404)
        if agent_id is not None:
            # Another team's agent: not even a page cursor (it names their newest lead) is shown.
            agent = agents.get_agent(agent_id)
            if agent is None or not who.can_see_agent(agent):
                raise Refused("not_found", f"there is no agent {agent_id!r} you can see", 404)
        elif status not in QUEUE_STATUSES:
            team_id = who.team_id or "-"
    statuses = statuses_for(status, pipeline)
    filters = LeadFilters(status=status, statuses=statuses, source_id=source_id, agent_id=agent_id,
                          team_id=team_id, tag=tag, received_from=received_from, received_to=received_to)  # fmt: skip
    try:
        if q is not None:
            found, next_cursor = _search(who, q, filters, cursor, limit, search)
        else:
            found, next_cursor = leads.list_leads(
                agent_id=agent_id,
                team_id=team_id if agent_id is None else None,
                status=list(statuses) if statuses else None,
                source_id=source_id,
                cursor=cursor,
                limit=limit,
                tag=tag,
                received_from=received_from,
                received_to=received_to,
            )
    except ValueError as exc:
        raise Refused("invalid_cursor", str(exc), 400) from exc
    return [lead for lead in found if who.can_see_lead(lead) and filters.accepts(lead)], next_cursor


def statuses_for(status: str | None, pipeline: Callable[[], Pipeline]) -> tuple[str, ...]:
    """What `status=` matches: the status itself and every retired stage whose leads now count as it."""
    if status is None:
        return ()
    stages = pipeline()
    if stages.get(status) is None:
        if status not in ROUTING_STATUSES:
            known = ", ".join([*(stage.stage_id for stage in stages.stages), "offered", "assigned", "unassigned"])
            raise Refused("invalid_request", f"status {status!r} is not a stage of the pipeline ({known})", 422)
        return (status,)
    return tuple(dict.fromkeys([status, *stages.ids_counting_as(status)]))


def _search(
    who: Principal, q: str, filters: LeadFilters, cursor: str | None, limit: int, search: Callable[[], Any]
) -> tuple[list[Lead], str | None]:
    from leadrelay.search import QueryError, parse_query

    try:
        query = parse_query(q)
    except QueryError as exc:
        raise Refused("invalid_query", str(exc), 422) from exc
    page = search().find(
        query, lambda lead: who.can_see_lead(lead) and filters.accepts(lead), cursor=cursor, limit=limit
    )
    return page.leads, page.next
