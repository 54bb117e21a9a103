"""A warm router keeps its routing state and reads it again only when it may be stale."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from decimal import Decimal

from leadrelay.models import Agent, Lead, LeadStatus, Pool
from leadrelay.routing.roster import Roster, RoundRobinState
from leadrelay.routing.rules import RuleChain
from leadrelay.routing.snapshot import RosterSnapshots
from leadrelay.store.org import RoutingState

DAY = date(2026, 3, 11)
AT = datetime(2026, 3, 11, 9, 0, tzinfo=UTC)


class FakeOrg:
    """The two reads a snapshot makes, counted."""

    def __init__(self) -> None:
        self.version = 1
        self.loads = 0
        self.version_reads = 0

    def roster_version(self) -> int:
        self.version_reads += 1
        return self.version

    def load_routing_state(self, day: date | None = None) -> RoutingState:
        self.loads += 1
        roster = Roster(
            agents={"asha": Agent(agent_id="asha", name="Asha"), "ravi": Agent(agent_id="ravi", name="Ravi")},
            pools={"sales": Pool(pool_id="sales", name="Sales", agent_ids=["asha", "ravi"])},
        )
        roster.round_robin[("sales", "asha")] = RoundRobinState(last_assigned_ms=5_000, total=3, exists=True)
        roster.open_leads["ravi"] = 2
        return RoutingState(chain=RuleChain(version=1, default_pool_id="sales"), roster=roster,
                            counts_today={"asha": 3})  # fmt: skip


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def lead(**changes: object) -> Lead:
    values = {
        "lead_id": "L1",
        "source_id": "web",
        "source_kind": "generic",
        "received_at": AT,
        "phone": "+919800000001",
        **changes,
    }
    return Lead.model_validate(values)


def test_many_leads_with_an_unchanged_roster_read_the_roster_once_and_the_version_each_time():
    org = FakeOrg()
    snapshots = RosterSnapshots(org)
    # When ten leads are routed on the same day and nothing about the roster changed
    states = [snapshots.state(DAY) for _ in range(10)]
    # Then the roster was read once, the small version item ten times, and the state is the same object
    assert org.loads == 1 and org.version_reads == 10
    assert all(state is states[0] for state in states)


def test_a_roster_change_a_new_day_an_old_snapshot_or_a_lost_race_each_read_the_roster_again():
    org, ticks = FakeOrg(), Ticks()
    snapshots = RosterSnapshots(org, ttl_s=30, monotonic=ticks)
    snapshots.state(DAY)
    org.version = 2  # someone put an agent on leave
    snapshots.state(DAY)
    assert org.loads == 2
    snapshots.state(date(2026, 3, 12))  # the org-local day turned
    assert org.loads == 3
    ticks.now = 29.0
    snapshots.state(date(2026, 3, 12))
    assert org.loads == 3  # still fresh enough
    ticks.now = 31.0
    snapshots.state(date(2026, 3, 12))
    assert org.loads == 4  # older than the TTL
    snapshots.forget()  # an assignment lost its race on a counter
    snapshots.state(date(2026, 3, 12))
    assert org.loads == 5 and snapshots.loads == 5


def test_each_thread_keeps_its_own_snapshot_as_each_container_would():
    org = FakeOrg()
    snapshots = RosterSnapshots(org)
    mine = snapshots.state(DAY)
    theirs: list[RoutingState] = []
    worker = threading.Thread(target=lambda: theirs.append(snapshots.state(DAY)))
    worker.start()
    worker.join()
    assert theirs[0] is not mine and org.loads == 2


def test_an_own_assignment_moves_the_snapshot_counters_as_the_transaction_moved_the_stored_ones():
    org = FakeOrg()
    snapshots = RosterSnapshots(org)
    state = snapshots.state(DAY)
    # When this router assigns a new lead from the pool to asha
    snapshots.committed(lead(), agent_id="asha", pool_id="sales", at=AT)
    # Then asha's day count, round-robin stamp and total, and open leads move
    assert state.counts_today["asha"] == 4
    stamp = state.roster.rr("sales", "asha")
    assert stamp.last_assigned_ms == int(AT.timestamp() * 1000) and stamp.total == 4 and stamp.exists
    assert state.roster.load("asha") == 1
    # And a lead moved from ravi (open with him) to asha takes one off ravi's load
    moved = lead(status=LeadStatus.ASSIGNED, assigned_agent_id="ravi")
    snapshots.committed(moved, agent_id="asha", pool_id="sales", at=AT)
    assert state.roster.load("ravi") == 1 and state.roster.load("asha") == 2
    # and a second stamp in the same millisecond still comes strictly after the first
    assert state.roster.rr("sales", "asha").last_assigned_ms == stamp.last_assigned_ms + 1


def test_weighted_round_robin_virtual_times_move_with_an_own_assignment():
    org = FakeOrg()
    snapshots = RosterSnapshots(org)
    state = snapshots.state(DAY)
    snapshots.committed(lead(), agent_id="ravi", pool_id="sales", at=AT, vtime=Decimal("0.5"),
                        pool_vtime=Decimal("0.25"))  # fmt: skip
    assert state.roster.rr("sales", "ravi").vtime == Decimal("0.5")
    assert state.roster.virtual_time["sales"] == Decimal("0.25")


def test_a_closed_lead_reassigned_adds_to_the_new_owner_only_and_outside_a_pool_no_stamp_moves():
    org = FakeOrg()
    snapshots = RosterSnapshots(org)
    state = snapshots.state(DAY)
    snapshots.committed(lead(status=LeadStatus.LOST, assigned_agent_id="ravi"), agent_id="asha", pool_id=None, at=AT)
    assert state.roster.load("ravi") == 2 and state.roster.load("asha") == 1
    assert state.roster.rr("sales", "asha").total == 3


def test_a_snapshot_forgotten_is_not_moved_by_a_later_commit():
    org = FakeOrg()
    snapshots = RosterSnapshots(org)
    snapshots.forget()
    snapshots.committed(lead(), agent_id="asha", pool_id="sales", at=AT)  # nothing held: nothing to do
    assert snapshots.state(DAY).counts_today == {"asha": 3}
