"""The assignment transaction checks the roster version the decision was made on.

A roster change (an agent put on leave, a pool edited, rules published) that completes between a
router's decision and its commit fails the commit (`CommitResult.ROSTER_MOVED`); the router reads
the roster again and decides again, so no lead is assigned from the roster as it was before the
change. Before this check, an agent put on leave in that window could still get the lead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from leadrelay import wiring
from leadrelay.clock import get_clock, local_day
from leadrelay.models import Agent, Lead, Pool, RoutingDecision, Source, TimelineEvent
from leadrelay.models.roster import CommitResult
from leadrelay.models.source import hash_key
from leadrelay.routing.router import Router
from leadrelay.routing.rules import RuleChain
from leadrelay.routing.snapshot import RosterSnapshots
from leadrelay.store.dynamo import client
from leadrelay.store.org import CONFIG, ROSTER_VERSION_SK
from tests.integration.flow import Flow

TZ = "Asia/Kolkata"


class ChangeBeforeCommit:
    """The real assignment store, with a roster change landing just before the next commit."""

    def __init__(self, change: Callable[[RoutingDecision], None] | None = None) -> None:
        self.store = wiring.assignment_store()
        self.change = change
        self.results: list[tuple[str | None, CommitResult]] = []

    def commit(self, lead: Lead, decision: RoutingDecision, event: TimelineEvent, **kwargs: Any) -> CommitResult:
        if self.change is not None:
            change, self.change = self.change, None
            change(decision)  # decided already; the transaction has not been sent yet
        result = self.store.commit(lead, decision, event, **kwargs)
        self.results.append((decision.agent_id, result))
        return result


def _org() -> None:
    org = wiring.org_repository()
    for agent_id in ("asha", "ravi"):
        org.put_agent(Agent(agent_id=agent_id, name=agent_id.title()))
    org.put_pool(Pool(pool_id="everyone", name="Everyone", agent_ids=["asha", "ravi"]))
    org.publish_rule_chain(RuleChain(default_pool_id="everyone"))
    org.put_source(Source(source_id="web", name="Web", key_hash=hash_key("k")))


def _lead(flow: Flow, phone: str) -> Lead:
    status, body = flow.post("web", {"phone": phone}, "k")
    assert status == 202, body
    lead = wiring.lead_repository().get(body["lead_id"], consistent=True)
    assert lead is not None
    return lead


def _router(assignments: ChangeBeforeCommit, snapshots: RosterSnapshots | None) -> Router:
    return Router(leads=wiring.lead_repository(), org=wiring.org_repository(), assignments=assignments,
                  clock=get_clock(), timezone=TZ, snapshots=snapshots)  # fmt: skip


def _calls() -> tuple[Counter[str], Callable[[], None]]:
    operations: Counter[str] = Counter()

    def count(model: Any = None, **_: Any) -> None:
        operations[getattr(model, "name", "?")] += 1

    client().meta.events.register("before-call.dynamodb.*", count)
    return operations, lambda: client().meta.events.unregister("before-call.dynamodb.*", count)


@pytest.mark.parametrize("warm", [True, False], ids=["with snapshots", "without snapshots"])
def test_an_agent_put_on_leave_between_decision_and_commit_does_not_get_the_lead(aws: dict[str, str], warm: bool):
    # Given two agents in a round-robin pool and a router that already routed a lead
    _org()
    flow = Flow(aws["LEADS_TABLE"])
    snapshots = RosterSnapshots(wiring.org_repository()) if warm else None
    _router(ChangeBeforeCommit(), snapshots).route(_lead(flow, "9800000001"))

    # When the next lead is decided and, before its commit, the chosen agent goes on leave
    def leave(decision: RoutingDecision) -> None:
        assert decision.agent_id is not None
        wiring.org_repository().set_availability(decision.agent_id, "on_leave", None)

    assignments = ChangeBeforeCommit(leave)
    outcome = _router(assignments, snapshots).route(_lead(flow, "9800000002"))

    # Then the commit decided on the old roster was refused, and the lead went to the other agent
    (chosen, refused), (owner, committed) = assignments.results
    assert refused is CommitResult.ROSTER_MOVED and committed is CommitResult.COMMITTED
    assert chosen is not None and owner is not None and owner != chosen
    assert outcome.decision is not None and outcome.decision.attempt == 2
    assert outcome.decision.skipped.get(chosen) is not None  # explained: on leave
    # and nothing of the refused commit was written: both of today's leads are the other agent's
    day = local_day(get_clock().now(), TZ)
    assert wiring.org_repository().day_counts(day) == {owner: 2}
    assert len(wiring.lead_repository().routing_decisions(outcome.decision.lead_id)) == 1


def test_before_any_roster_version_exists_leads_commit_and_the_first_change_is_seen(aws: dict[str, str]):
    # Given an org whose version item does not exist (as before the first roster change)
    _org()
    client().delete_item(TableName=aws["ORG_TABLE"], Key={"pk": {"S": CONFIG}, "sk": {"S": ROSTER_VERSION_SK}})
    assert wiring.org_repository().roster_version() == 0
    flow = Flow(aws["LEADS_TABLE"])
    snapshots = RosterSnapshots(wiring.org_repository())
    assignments = ChangeBeforeCommit()
    router = _router(assignments, snapshots)
    router.route(_lead(flow, "9800000011"))
    leads = [_lead(flow, f"98000000{n}") for n in (12, 13)]
    # When two more leads are routed
    operations, stop = _calls()
    try:
        outcomes = [router.route(lead) for lead in leads]
    finally:
        stop()
    # Then the check on "no version yet" holds: one transaction each, committed at once
    assert operations == {"TransactWriteItems": 2}, operations
    assert all(o.decision is not None and o.decision.attempt == 1 for o in outcomes)
    # And when the first roster change creates the version item, the next commit sees it
    wiring.org_repository().set_availability("asha", "on_leave", None)
    outcome = router.route(_lead(flow, "9800000014"))
    assert assignments.results[-2][1] is CommitResult.ROSTER_MOVED
    assert outcome.decision is not None and outcome.decision.agent_id == "ravi" and outcome.decision.attempt == 2
