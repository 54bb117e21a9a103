"""What the router needs from storage, as small protocols (ports).

The router (`routing/router.py`) and the roster snapshots (`routing/snapshot.py`) are written
against these; `store/` implements them (`LeadRepository`, `OrgRepository`, `AssignmentStore`)
and `wiring.py` binds them. A test can hand the router in-memory fakes instead.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

from leadrelay.models import Lead, RoutingDecision, TimelineEvent
from leadrelay.models.roster import Assignment, CommitResult, OfferTerms, Roster, RoutingState


class LeadReader(Protocol):
    """Reads a lead again after a lost race."""

    def get(self, lead_id: str, consistent: bool = False) -> Lead | None: ...


class RoutingStateReader(Protocol):
    """Reads everything one decision needs (rules, roster, today's counters) and its version."""

    def roster_version(self) -> int: ...

    def load_routing_state(self, day: date | None = None) -> RoutingState: ...


class AssignmentWriter(Protocol):
    """Commits a decision in one conditional transaction; says which condition failed, if any."""

    def commit(
        self,
        lead: Lead,
        decision: RoutingDecision,
        event: TimelineEvent,
        *,
        assignment: Assignment | None,
        day: date,
        roster: Roster,
        offer: OfferTerms | None = None,
    ) -> CommitResult: ...
