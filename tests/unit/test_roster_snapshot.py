"""A warm router keeps its routing state and reads it again only when it may be stale."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

from leadrelay.models import Agent, Lead, LeadStatus, Pool
from leadrelay.models.roster import RoutingState
from leadrelay.routing.roster import Roster, RoundRobinState
from leadrelay.routing.rules import RuleChain
from leadrelay.routing.snapshot import RosterSnapshots

DAY = date(2026, 3, 11)
AT = datetime(2026, 3, 11, 9, 0, tzinfo=UTC)


class FakeOrg:
    """The two reads a snapshot makes, counted, in the order they were made."""

    def __init__(self) -> None:
        self.version = 1
        self.loads = 0
        self.version_reads = 0
        self.reads: list[str] = []
        self.during_load: Callable[[], None] | None = None  # a change landing while the state is read

    def roster_version(self) -> int:
        self.version_reads += 1
        self.reads.append("version")
        return self.version

    def load_routing_state(self, day: date | None = None) -> RoutingState:
        self.loads += 1
        self.reads.append("state")
        if self.during_load is not None:
            self.during_load()
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


def test_many_leads_with_a_snapshot_held_read_nothing_after_the_first():
    org = FakeOrg()
    snapshots = RosterSnapshots(org)
    # When ten leads are routed on the same day
    held = [snapshots.hold(DAY) for _ in range(10)]
    # Then the version and the roster were read once, for the first, and the rest read nothing
    assert org.reads == ["version", "state"] and snapshots.loads == 1
    assert all(snapshot is held[0] for snapshot in held)
    # and each lead gets the version the state was read with, for its commit to check
    assert all(snapshot.version == 1 and snapshot.day == DAY for snapshot in held)


def test_a_held_snapshot_keeps_its_version_when_the_roster_moves_for_the_commit_to_find_out():
    org = FakeOrg()
    snapshots = RosterSnapshots(org)
    first = snapshots.hold(DAY)
    # When someone puts an agent on leave (the version moves) while the snapshot is held
    org.version = 2
    # Then the next lead is still decided on the held snapshot, whose version is the old one: the
    # commit's check on version 1 is what fails (store/org.roster_version_check)
    assert snapshots.hold(DAY) is first and first.version == 1 and org.version_reads == 1
    # and once the failed commit made the router forget it, both are read again
    snapshots.forget()
    again = snapshots.hold(DAY)
    assert again.version == 2 and again is not first and org.reads == ["version", "state"] * 2


def test_the_version_is_read_before_the_state_so_a_change_in_between_is_never_hidden():
    org = FakeOrg()
    snapshots = RosterSnapshots(org)

    def change() -> None:  # a change lands after the version read, before the state read
        org.version = 2

    org.during_load = change
    held = snapshots.hold(DAY)
    # Then the state may include the change, but the version held is the one read before it:
    # the commit checks 1, finds 2, and the router goes round once more; never the reverse
    assert org.reads == ["version", "state"] and held.version == 1


def test_a_new_day_an_old_snapshot_or_a_lost_race_each_read_version_and_roster_again():
    org, ticks = FakeOrg(), Ticks()
    snapshots = RosterSnapshots(org, ttl_s=30, monotonic=ticks)
    snapshots.hold(DAY)
    snapshots.hold(date(2026, 3, 12))  # the org-local day turned
    assert org.loads == 2 and org.version_reads == 2
    ticks.now = 29.0
    org.version = 5
    assert snapshots.hold(date(2026, 3, 12)).version == 1  # still fresh enough: nothing read
    assert org.loads == 2 and org.version_reads == 2
    ticks.now = 30.5
    assert snapshots.hold(date(2026, 3, 12)).version == 5  # older than the TTL
    assert org.loads == 3 and org.version_reads == 3
    snapshots.forget()  # an assignment lost its race on a counter
    snapshots.hold(date(2026, 3, 12))
    assert org.loads == 4 and org.version_reads == 4 and snapshots.loads == 4


def test_the_ttl_counts_from_the_read_not_from_the_last_lead():
    org, ticks = FakeOrg(), Ticks()
    snapshots = RosterSnapshots(org, ttl_s=30, monotonic=ticks)
    snapshots.hold(DAY)
    for now in (10.0, 20.0, 30.0):
        ticks.now = now
        snapshots.hold(DAY)
    assert org.loads == 1  # exactly 30 s old is still fresh
    ticks.now = 30.01
    snapshots.hold(DAY)
    assert org.loads == 2


def test_each_thread_keeps_its_own_snapshot_as_each_container_would():
    org = FakeOrg()
    snapshots = RosterSnapshots(org)
    mine = snapshots.hold(DAY).state
    theirs: list[RoutingState] = []
    worker = threading.Thread(target=lambda: theirs.append(snapshots.hold(DAY).state))
    worker.start()
    worker.join()
    assert theirs[0] is not mine and org.loads == 2


def test_an_own_assignment_moves_the_snapshot_counters_as_the_transaction_moved_the_stored_ones():
    org = FakeOrg()
    snapshots = RosterSnapshots(org)
    state = snapshots.hold(DAY).state
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
    state = snapshots.hold(DAY).state
    snapshots.committed(lead(), agent_id="ravi", pool_id="sales", at=AT, vtime=Decimal("0.5"),
                        pool_vtime=Decimal("0.25"))  # fmt: skip
    assert state.roster.rr("sales", "ravi").vtime == Decimal("0.5")
    assert state.roster.virtual_time["sales"] == Decimal("0.25")


def test_a_closed_lead_reassigned_adds_to_the_new_owner_only_and_outside_a_pool_no_stamp_moves():
    org = FakeOrg()
    snapshots = RosterSnapshots(org)
    state = snapshots.hold(DAY).state
    snapshots.committed(lead(status=LeadStatus.LOST, assigned_agent_id="ravi"), agent_id="asha", pool_id=None, at=AT)
    assert state.roster.load("ravi") == 2 and state.roster.load("asha") == 1
    assert state.roster.rr("sales", "asha").total == 3


def test_a_snapshot_forgotten_is_not_moved_by_a_later_commit():
    org = FakeOrg()
    snapshots = RosterSnapshots(org)
    snapshots.forget()
    snapshots.committed(lead(), agent_id="asha", pool_id="sales", at=AT)  # nothing held: nothing to do
    assert snapshots.hold(DAY).state.counts_today == {"asha": 3}


def test_the_state_is_read_for_the_day_asked():
    org = FakeOrg()
    days: list[date | None] = []
    load = org.load_routing_state
    org.load_routing_state = lambda day=None: days.append(day) or load(day)  # type: ignore[method-assign]
    RosterSnapshots(org).hold(DAY)
    assert days == [DAY]


def test_an_agents_first_assignment_of_the_day_and_first_stamp_in_a_pool_count_from_zero():
    org = FakeOrg()
    snapshots = RosterSnapshots(org)
    state = snapshots.hold(DAY).state
    # Given ravi has no count today and no round-robin stamp in the pool yet
    assert "ravi" not in state.counts_today and not state.roster.rr("sales", "ravi").exists
    # When this router assigns him a lead from the pool
    snapshots.committed(lead(), agent_id="ravi", pool_id="sales", at=AT)
    # Then his count is 1, and his stamp exists with a total of 1
    assert state.counts_today["ravi"] == 1
    stamp = state.roster.rr("sales", "ravi")
    assert stamp.exists is True and stamp.total == 1


def test_virtual_times_move_only_when_both_are_known_and_the_pools_only_forward():
    org = FakeOrg()
    snapshots = RosterSnapshots(org)
    state = snapshots.hold(DAY).state
    state.roster.virtual_time["sales"] = Decimal("1.0")
    # A plain round-robin assignment (no virtual times) leaves them alone
    snapshots.committed(lead(), agent_id="ravi", pool_id="sales", at=AT, vtime=Decimal("2"), pool_vtime=None)
    assert state.roster.rr("sales", "ravi").vtime == RoundRobinState().vtime
    assert state.roster.virtual_time["sales"] == Decimal("1.0")
    # A weighted one whose pool time is behind the pool's keeps the pool's, but moves the member's
    snapshots.committed(lead(), agent_id="asha", pool_id="sales", at=AT, vtime=Decimal("3"),
                        pool_vtime=Decimal("0.5"))  # fmt: skip
    assert state.roster.rr("sales", "asha").vtime == Decimal("3")
    assert state.roster.rr("sales", "asha").pool_vtime == Decimal("0.5")
    assert state.roster.virtual_time["sales"] == Decimal("1.0")
    # One exactly at the pool's time leaves it as it is; one ahead moves it
    state.roster.virtual_time["sales"] = Decimal("1.00")
    snapshots.committed(lead(), agent_id="asha", pool_id="sales", at=AT, vtime=Decimal("4"), pool_vtime=Decimal("1.0"))
    assert str(state.roster.virtual_time["sales"]) == "1.00"
    snapshots.committed(lead(), agent_id="ravi", pool_id="sales", at=AT, vtime=Decimal("5"), pool_vtime=Decimal("1.5"))
    assert state.roster.virtual_time["sales"] == Decimal("1.5")
    # And a pool that had no virtual time yet starts from the first one
    state.roster.virtual_time.clear()
    snapshots.committed(lead(), agent_id="ravi", pool_id="sales", at=AT, vtime=Decimal("6"), pool_vtime=Decimal("0.1"))
    assert state.roster.virtual_time == {"sales": Decimal("0.1")}


def test_a_lead_moved_from_an_owner_with_no_known_load_takes_him_below_zero_not_to_a_crash():
    org = FakeOrg()
    snapshots = RosterSnapshots(org)
    state = snapshots.hold(DAY).state
    # asha holds no open lead in the snapshot (her load was read as 0)
    assert "asha" not in state.roster.open_leads
    snapshots.committed(lead(status=LeadStatus.ASSIGNED, assigned_agent_id="asha"), agent_id="ravi",
                        pool_id=None, at=AT)  # fmt: skip
    assert state.roster.open_leads["asha"] == -1 and state.roster.open_leads["ravi"] == 3


def test_a_commit_on_a_thread_that_never_held_a_snapshot_changes_nothing():
    org = FakeOrg()
    snapshots = RosterSnapshots(org)
    snapshots.committed(lead(), agent_id="asha", pool_id="sales", at=AT)  # nothing held yet: no-op
    assert org.loads == 0 and snapshots.hold(DAY).state.counts_today == {"asha": 3}
