"""The router against its ports (routing/ports.py), with in-memory fakes instead of DynamoDB.

What the router owes whatever store sits behind the ports: one commit per decision, a fresh read
and a retry when a counter or stamp moved, and no second assignment when the lead was routed by
someone else meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pytest

from leadrelay.models import Agent, AgentStatus, Lead, Pool, RoutingDecision, RoutingState, TimelineEvent
from leadrelay.models.roster import Assignment, CommitResult, OfferTerms, Roster
from leadrelay.models.roster import RoutingState as RoutingRead
from leadrelay.models.rules import RuleChain
from leadrelay.routing import router as router_module
from leadrelay.routing.router import Router, RoutingContention
from leadrelay.routing.snapshot import RosterSnapshots
from tests.helpers import ManualClock

TZ = "Asia/Kolkata"
MONDAY_NOON_IST = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)


def a_lead(**fields: object) -> Lead:
    values: dict[str, object] = {"lead_id": "L1", **fields}
    return Lead(source_id="website", source_kind="generic", received_at=MONDAY_NOON_IST, **values)  # type: ignore[arg-type]


@dataclass
class FakeOrg:
    """The routing state port: one pool of two agents, the default rule sends everything there."""

    reads: int = 0
    version: int = 1
    version_reads: int = 0
    on_leave: tuple[str, ...] = ()

    def roster_version(self) -> int:
        self.version_reads += 1
        return self.version

    def load_routing_state(self, day: date | None = None) -> RoutingRead:
        self.reads += 1
        status = {a: AgentStatus.ON_LEAVE if a in self.on_leave else AgentStatus.AVAILABLE for a in ("asha", "ravi")}
        roster = Roster(agents={a: Agent(agent_id=a, name=a.upper(), status=status[a]) for a in ("asha", "ravi")})
        roster.pools["all"] = Pool(pool_id="all", name="All", agent_ids=["asha", "ravi"])
        return RoutingRead(RuleChain.model_validate({"version": 2, "default_pool_id": "all"}), roster)


@dataclass
class FakeAssignments:
    """The commit port: answers from a script, records what it was asked to write."""

    answers: list[CommitResult]
    commits: list[tuple[RoutingDecision, Assignment | None]] = field(default_factory=list)
    roster_versions: list[int | None] = field(default_factory=list)

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
    ) -> CommitResult:
        self.commits.append((decision, assignment))
        self.roster_versions.append(roster_version)
        return self.answers.pop(0)


@dataclass
class FakeLeads:
    """The lead port: what a consistent read finds after a lost race."""

    fresh: Lead | None

    def get(self, lead_id: str, consistent: bool = False) -> Lead | None:
        assert consistent, "after a lost race the router must read the lead strongly consistently"
        return self.fresh


def router(
    assignments: FakeAssignments,
    leads: FakeLeads | None = None,
    org: FakeOrg | None = None,
    snapshots: RosterSnapshots | None = None,
) -> Router:
    return Router(leads=leads or FakeLeads(None), org=org or FakeOrg(), assignments=assignments,
                  clock=ManualClock(MONDAY_NOON_IST), timezone=TZ, max_attempts=3,
                  snapshots=snapshots)  # fmt: skip


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


def recorded(waits: list[tuple[float, float]]) -> Callable[[float, float], float]:
    """random.uniform for the router's backoff: records the range asked for and waits nothing."""

    def uniform(low: float, high: float) -> float:
        waits.append((low, high))
        return 0.0

    return uniform


def test_without_snapshots_each_attempt_reads_version_and_state_and_checks_that_version():
    # Given a router without snapshots, over a roster at version 3
    org = FakeOrg(version=3)
    assignments = FakeAssignments([CommitResult.STATE_CHANGED, CommitResult.COMMITTED])
    # When it routes a lead and its first commit loses a race
    router(assignments, org=org).route(a_lead())
    # Then each attempt read the version and the state, and each commit checks that version
    assert org.reads == 2 and org.version_reads == 2 and assignments.roster_versions == [3, 3]


def test_a_warm_router_reads_nothing_per_lead_and_each_commit_checks_the_version_it_decided_on():
    # Given a router with snapshots, over a roster at version 4
    org = FakeOrg(version=4)
    snapshots = RosterSnapshots(org)
    assignments = FakeAssignments([CommitResult.COMMITTED] * 3)
    warm = router(assignments, org=org, snapshots=snapshots)
    # When three leads are routed
    for n in range(3):
        warm.route(a_lead(lead_id=f"L{n}"))
    # Then the version and the state were read once, for the first lead
    assert org.version_reads == 1 and org.reads == 1
    # and every commit carries the version the decision was made on
    assert assignments.roster_versions == [4, 4, 4]


def test_an_unassigned_decision_checks_the_roster_version_too():
    # Given everybody on leave
    org = FakeOrg(version=9, on_leave=("asha", "ravi"))
    assignments = FakeAssignments([CommitResult.COMMITTED])
    # When a warm router routes a lead
    router(assignments, org=org, snapshots=RosterSnapshots(org)).route(a_lead())
    # Then the unassigned outcome is committed under the same check
    decision, assignment = assignments.commits[0]
    assert assignment is None and decision.outcome == "unassigned"
    assert assignments.roster_versions == [9]


def test_a_moved_roster_means_read_version_and_state_again_and_decide_again_at_once(
    monkeypatch: pytest.MonkeyPatch,
):
    # Given a warm router that decided on version 1 while asha went on leave (version 2)
    org = FakeOrg(version=1)
    snapshots = RosterSnapshots(org)
    waits: list[tuple[float, float]] = []
    monkeypatch.setattr(router_module.random, "uniform", recorded(waits))

    class ChangeThenCommit(FakeAssignments):
        def commit(self, *args: object, **kwargs: object) -> CommitResult:  # type: ignore[override]
            result = super().commit(*args, **kwargs)  # type: ignore[arg-type]
            org.version, org.on_leave = 2, ("asha",)
            return result

    assignments = ChangeThenCommit([CommitResult.ROSTER_MOVED, CommitResult.COMMITTED])
    outcome = router(assignments, org=org, snapshots=snapshots).route(a_lead())
    # Then the second attempt read the version and the state again and was committed on version 2
    assert org.version_reads == 2 and org.reads == 2
    assert assignments.roster_versions == [1, 2]
    # and it decided on the new roster: asha, on leave now, is not the one chosen
    assert outcome.decision is not None and outcome.decision.attempt == 2
    assert outcome.decision.agent_id == "ravi"
    assert "asha" in outcome.decision.skipped
    # without the backoff a lost counter race waits
    assert waits == []


def test_a_lost_counter_race_still_backs_off_before_reading_again(monkeypatch: pytest.MonkeyPatch):
    waits: list[tuple[float, float]] = []
    monkeypatch.setattr(router_module.random, "uniform", recorded(waits))
    org = FakeOrg()
    assignments = FakeAssignments([CommitResult.STATE_CHANGED, CommitResult.COMMITTED])
    router(assignments, org=org, snapshots=RosterSnapshots(org)).route(a_lead())
    assert len(waits) == 1 and org.version_reads == 2 and org.reads == 2
