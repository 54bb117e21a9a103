"""What the router needs from storage, as small protocols (ports).

The router (`routing/router.py`), the roster snapshots (`routing/snapshot.py`), manual
reassignment (`routing/reassign.py`) and the offer desk (`routing/offers.py`) are written against
these; `store/` implements them (`LeadRepository`, `OrgRepository`, `AssignmentStore`,
`OfferStore`) and `wiring.py` binds them. A test can hand the router in-memory fakes instead.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from leadrelay.models import Lead, RoutingDecision, TimelineEvent
from leadrelay.models.offer import Offer, Pass, Settled
from leadrelay.models.roster import Assignment, CommitResult, OfferTerms, Roster, RoutingState


class LeadReader(Protocol):
    """Reads a lead again after a lost race."""

    def get(self, lead_id: str, consistent: bool = False) -> Lead | None: ...


class RoutingStateReader(Protocol):
    """Reads everything one decision needs (rules, roster, today's counters) and its version."""

    def roster_version(self) -> int: ...

    def load_routing_state(self, day: date | None = None) -> RoutingState: ...


class AssignmentWriter(Protocol):
    """Commits a decision in one conditional transaction; says which condition failed, if any.

    With `roster_version`, the commit holds only while the roster version is still that one
    (`CommitResult.ROSTER_MOVED` otherwise)."""

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
        roster_version: int | None = None,
    ) -> CommitResult: ...


# -- manual reassignment (routing/reassign.py) ---------------------------------------------------


class ReassignmentWriter(Protocol):
    """Moves a lead to another agent in one transaction conditional on the lead's version."""

    def reassign(
        self,
        lead: Lead,
        decision: RoutingDecision,
        event: TimelineEvent,
        *,
        assignment: Assignment,
        day: date,
        roster: Roster,
        stamp_round_robin: bool,
        register_override: bool = True,
        more_events: tuple[TimelineEvent, ...] = (),
        roster_version: int | None = None,
    ) -> CommitResult: ...


# -- offers (routing/offers.py) ------------------------------------------------------------------


class RosterReader(Protocol):
    """Reads the roster (pools' settings); says when a change written elsewhere moved it."""

    def load_roster(self) -> Roster: ...

    def roster_moved(self) -> None: ...

    def roster_version(self) -> int: ...


class OfferBook(Protocol):
    """Open offers and their settlement: each one transaction that settles an offer exactly once."""

    def get(self, agent_id: str, offer_id: str) -> Offer | None: ...

    def for_agent(self, agent_id: str) -> list[Offer]: ...

    def open_offers(self, until: datetime | None = None, limit: int | None = None) -> list[Offer]: ...

    def expiry_streak(self, agent_id: str) -> int: ...

    def accept(
        self,
        offer: Offer,
        lead: Lead,
        decision: RoutingDecision,
        event: TimelineEvent,
        day: date,
        sla_queue: str,
        roster_version: int | None = None,
    ) -> Settled: ...

    def pass_on(
        self, offer: Offer, lead: Lead, decision: RoutingDecision, event: TimelineEvent, day: date, passing: Pass
    ) -> Settled: ...
