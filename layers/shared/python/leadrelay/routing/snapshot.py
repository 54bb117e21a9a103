"""The routing state a warm router keeps between leads, so routing reads stay flat in agents.

Reading the whole `ROSTER` partition for every lead costs read units in proportion to the
number of agents, pools and counters (4.6 KB at 7 agents; hundreds of KB at 1,000). A router
instead keeps the state it read (`RosterSnapshots`) together with the roster version read just
before it (`OrgRepository.roster_version`, which every change to agents, teams, pools or the rule
chain moves after the change). While the snapshot is held it reads nothing per lead: the
assignment transaction carries a check that the roster version is still the held one
(`store/org.roster_version_check`), so a roster change committed meanwhile fails the commit
(`CommitResult.ROSTER_MOVED`) and the router decides again on state read afresh. No lead is
committed from a roster older than the last change that completed, and a steady stream of leads
costs one DynamoDB call each (the transaction). The snapshot is read again (version, then
state) when nothing is held, when the org-local day changed, when it is older than `ttl_s`, and
after any failed commit.

Counters (day counts, round-robin stamps, open leads) change with every assignment, by this
router and by others. This router applies its own commits to the snapshot; other routers' show
up as a failed condition in the assignment transaction (the cap, the stamp or the load it read),
which makes the router forget the snapshot and decide again on fresh state. The conditional
writes stay the guarantee; the snapshot only saves reads. What no condition catches: another
router or the API lowering a load (a lead closed or moved away), which least-loaded sees within
`ttl_s`.

One snapshot per thread: a thread is one router, as one Lambda execution environment is.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from leadrelay.clock import epoch_ms
from leadrelay.models import Lead
from leadrelay.routing.ports import RoutingStateReader
from leadrelay.routing.roster import next_round_robin_stamp

if TYPE_CHECKING:
    from leadrelay.models.roster import RoutingState

# Long enough to serve a burst of leads from one read, short enough that a load lowered
# elsewhere (a closed lead) reaches least-loaded soon.
DEFAULT_TTL_S = 30.0


@dataclass
class Snapshot:
    """The routing state of org-local `day`, read just after the roster version `version`."""

    version: int
    day: date
    loaded_at: float
    state: RoutingState


class RosterSnapshots:
    """Routing state per router thread, read again only when it may be stale (see module doc)."""

    def __init__(
        self,
        org: RoutingStateReader,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.org = org
        self.ttl_s = ttl_s
        self._monotonic = monotonic
        self._local = threading.local()
        self.loads = 0  # full reads of the routing state, all threads (for tests and the bench)

    def hold(self, day: date) -> Snapshot:
        """This thread's snapshot for org-local `day`, read afresh only when it may be stale.

        While one is held nothing is read: the commit checks the held `version` instead."""
        held: Snapshot | None = getattr(self._local, "held", None)
        now = self._monotonic()
        if held is None or held.day != day or now - held.loaded_at > self.ttl_s:
            # The version is read before the state: a change landing in between is then in the
            # state but not the version, and the commit's check sends the router round once more;
            # never a version that claims to include a change the state does not.
            version = self.org.roster_version()
            held = Snapshot(version, day, now, self.org.load_routing_state(day))
            self._local.held = held
            self.loads += 1
        return held

    def forget(self) -> None:
        """Drop this thread's snapshot: the next lead reads the routing state afresh."""
        self._local.held = None

    def committed(
        self,
        lead: Lead,
        *,
        agent_id: str,
        pool_id: str | None,
        at: datetime,
        vtime: Decimal | None = None,
        pool_vtime: Decimal | None = None,
    ) -> None:
        """Apply this router's own committed assignment of `lead` (as it was read) to the snapshot,
        exactly as the transaction changed the stored counters (store/assignments.py)."""
        held: Snapshot | None = getattr(self._local, "held", None)
        if held is None:
            return
        state, roster = held.state, held.state.roster
        state.counts_today[agent_id] = state.counts_today.get(agent_id, 0) + 1
        if pool_id is not None:
            seen = roster.rr(pool_id, agent_id)
            stamp = next_round_robin_stamp(roster, pool_id, epoch_ms(at))
            moved = replace(seen, last_assigned_ms=stamp, total=seen.total + 1, exists=True)
            if vtime is not None and pool_vtime is not None:
                moved = replace(moved, vtime=vtime, pool_vtime=pool_vtime)
                if pool_vtime > roster.virtual_time.get(pool_id, Decimal(0)):
                    roster.virtual_time[pool_id] = pool_vtime
            roster.round_robin[(pool_id, agent_id)] = moved
        previous = lead.assigned_agent_id if not lead.is_closed else None
        if previous != agent_id:
            roster.open_leads[agent_id] = roster.open_leads.get(agent_id, 0) + 1
            if previous is not None:
                roster.open_leads[previous] = roster.open_leads.get(previous, 0) - 1
