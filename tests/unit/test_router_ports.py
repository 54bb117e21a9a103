"""The router against its ports (routing/ports.py), with in-memory fakes instead of DynamoDB.

What the router owes whatever store sits behind the ports: one commit per decision, a fresh read
and a retry when a counter or stamp moved, and no second assignment when the lead was routed by
someone else meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pytest

from leadrelay.models import Agent, Lead, Pool, RoutingDecision, RoutingState, TimelineEvent
from leadrelay.models.roster import Assignment, CommitResult, OfferTerms, Roster
from leadrelay.models.roster import RoutingState as RoutingRead
from leadrelay.models.rules import RuleChain
from leadrelay.routing.router import Router, RoutingContention
from tests.helpers import ManualClock

TZ = "Asia/Kolkata"
MONDAY_NOON_IST = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)


def a_lead(**fields: object) -> Lead:
    return Lead(lead_id="L1", source_id="website", source_kind="generic", received_at=MONDAY_NOON_IST, **fields)


@dataclass
class FakeOrg:
    """The routing state port: one pool of two agents, the default rule sends everything there."""

    reads: int = 0

    def roster_version(self) -> int:
        return 1

    def load_routing_state(self, day: date | None = None) -> RoutingRead:
        self.reads += 1
        roster = Roster(agents={a: Agent(agent_id=a, name=a.upper()) for a in ("asha", "ravi")})
        roster.pools["all"] = Pool(pool_id="all", name="All", agent_ids=["asha", "ravi"])
        return RoutingRead(RuleChain.model_validate({"version": 2, "default_pool_id": "all"}), roster)


@dataclass
class FakeAssignments:
    """The commit port: answers from a script, records what it was asked to write."""

    answers: list[CommitResult]
    commits: list[tuple[RoutingDecision, Assignment | None]] = field(default_factory=list)

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
    ) -> CommitResult:
        self.commits.append((decision, assignment))
        return self.answers.pop(0)


@dataclass
class FakeLeads:
    """The lead port: what a consistent read finds after a lost race."""

    fresh: Lead | None

    def get(self, lead_id: str, consistent: bool = False) -> Lead | None:
        assert consistent, "after a lost race the router must read the lead strongly consistently"
        return self.fresh


def router(assignments: FakeAssignments, leads: FakeLeads | None = None, org: FakeOrg | None = None) -> Router:
    return Router(leads=leads or FakeLeads(None), org=org or FakeOrg(), assignments=assignments,
                  clock=ManualClock(MONDAY_NOON_IST), timezone=TZ, max_attempts=3)  # fmt: skip


def test_a_pending_lead_is_decided_and_committed_once_through_the_ports():
    # Given a store that accepts the first commit
    assignments = FakeAssignments([CommitResult.COMMITTED])
    # When the router routes a pending lead
    outcome = router(assignments).route(a_lead())
    # Then one decision was committed, for an agent of the pool, explained by the default rule
    assert outcome.decision is not None and len(assignments.commits) == 1
    decision, assignment = assignments.commits[0]
    assert assignment is not None and assignment.agent_id in {"asha", "ravi"} and assignment.pool_id == "all"
    assert decision.rule_chain_version == 2 and decision.outcome == "assigned" and decision.attempt == 1


def test_a_moved_counter_means_read_again_and_retry():
    # Given a store whose first commit loses a race on a counter
    org = FakeOrg()
    assignments = FakeAssignments([CommitResult.STATE_CHANGED, CommitResult.COMMITTED])
    # When the router routes the lead
    outcome = router(assignments, org=org).route(a_lead())
    # Then it read the state again and the second attempt committed
    assert outcome.decision is not None and outcome.decision.attempt == 2
    assert org.reads == 2 and len(assignments.commits) == 2


def test_a_lead_routed_elsewhere_meanwhile_is_not_assigned_again():
    # Given a store that says the lead changed, and the lead now assigned by another router
    assignments = FakeAssignments([CommitResult.LEAD_CHANGED])
    taken = a_lead(routing_state=RoutingState.DONE, assigned_agent_id="ravi")
    # When the router routes the lead
    outcome = router(assignments, FakeLeads(taken)).route(a_lead())
    # Then it stops without a decision of its own
    assert outcome.decision is None and outcome.skipped_reason == "already routed by another attempt"
    assert len(assignments.commits) == 1


def test_endless_lost_races_give_up_for_the_stream_to_retry():
    # Given a store whose counters move on every attempt
    assignments = FakeAssignments([CommitResult.STATE_CHANGED] * 3)
    # When the router routes the lead, Then it gives up after its attempts
    with pytest.raises(RoutingContention):
        router(assignments).route(a_lead())
    assert len(assignments.commits) == 3
