"""Committing a routing decision: lead, day counter, round-robin stamp, open-leads counter, audit
and timeline in one DynamoDB transaction, each guarded by a condition so that racing routers
cannot break the invariants (one owner, caps hold, round-robin fair), and a check that the roster
version is still the one the decision was made on (no lead assigned from a stale roster)."""

from __future__ import annotations

from datetime import date

from leadrelay.clock import epoch_ms
from leadrelay.models import Lead, LeadStatus, RoutingDecision, RoutingState, TimelineEvent
from leadrelay.models.lead import CLOSED_STATUSES
from leadrelay.models.pipeline import ROUTING_STATUSES
from leadrelay.models.roster import Assignment, CommitResult, Roster, next_round_robin_stamp
from leadrelay.store.leads import (
    LEAD_SK,
    decision_item,
    lead_pk,
    timeline_item,
)
from leadrelay.store.offers import OfferTerms, ledger_item, offer_item
from leadrelay.store.org import ROSTER, counter_expiry, day_sk, load_sk, roster_version_check, rr_sk
from leadrelay.store.overrides import override_item
from leadrelay.store.transactions import Transaction, TransactionFailed, run_transaction

# A lead in these states is no longer open: it does not count in its agent's load.
CLOSED = CLOSED_STATUSES
# An assigned lead nobody contacted yet waits here (`by_due`, due_at = assigned) for the followup
# tick to work out its first-contact SLA deadline (which then becomes its due_at).
SLA_CLOCK_QUEUE = "SLA"


class AssignmentStore:
    def __init__(self, leads_table: str, org_table: str) -> None:
        self.leads_table = leads_table
        self.org_table = org_table

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
        """Write the decision; report which condition failed if another writer got there first.

        With `offer`, the lead is offered to `assignment.agent_id` instead of assigned: the same
        counters move under the same conditions (the offer holds the agent's place under their
        caps), and the offer item is written (routing/offers.py settles it).

        With `roster_version` (the version of the roster the decision was made on), the
        transaction also checks that the roster version has not moved since: a change to agents,
        teams, pools or rules committed meanwhile fails it with `ROSTER_MOVED`, so no lead is
        committed from a roster older than the last change (routing/snapshot.py)."""
        txn = Transaction()
        now = decision.at
        guard = "routing_state = :pending AND version = :version"
        common = {
            ":pending": RoutingState.PENDING.value,
            ":version": lead.version,
            ":done": RoutingState.DONE.value,
        }
        if assignment is None:
            txn.update(
                self.leads_table,
                {"pk": lead_pk(lead.lead_id), "sk": LEAD_SK},
                "SET #status = :status, routing_state = :done, version = version + :one, "
                "routing_attempts = if_not_exists(routing_attempts, :zero) + :one, "
                "due_pk = :queue, due_at = :now",
                {**common, ":status": LeadStatus.UNASSIGNED.value, ":one": 1, ":zero": 0,
                 ":queue": "UNASSIGNED", ":now": now},
                guard,
                names={"#status": "status"},
            )  # fmt: skip
        elif offer is not None:
            txn.update(
                self.leads_table,
                {"pk": lead_pk(lead.lead_id), "sk": LEAD_SK},
                "SET #status = :status, routing_state = :offered, version = version + :one, "
                "routing_attempts = if_not_exists(routing_attempts, :zero) + :one, "
                "offer_id = :offer, offered_agent_id = :agent, offer_expires_at = :expires",
                {**common, ":status": LeadStatus.OFFERED.value, ":offered": RoutingState.OFFERED.value, ":one": 1,
                 ":zero": 0, ":offer": offer.offer_id, ":agent": assignment.agent_id, ":expires": offer.expires_at},
                guard,
                names={"#status": "status"},
            )  # fmt: skip
            self._count(txn, assignment, day)
            self._stamp(txn, assignment, decision, roster)
            self._move_load(txn, lead, assignment)
            txn.put(self.leads_table, offer_item(offer, lead, assignment, decision, day))
        else:
            sets = (
                "SET #status = :status, routing_state = :done, version = version + :one, "
                "routing_attempts = if_not_exists(routing_attempts, :zero) + :one, "
                "assigned_agent_id = :agent, agent_pk = :agent, assigned_at = :now"
            )
            values = {**common, ":status": LeadStatus.ASSIGNED.value, ":one": 1, ":zero": 0,
                      ":agent": assignment.agent_id, ":now": now}  # fmt: skip
            # A reopened lead's offer to its previous owner is settled by this assignment.
            removes = "due_pk, due_at, return_to_agent_id"
            if lead.first_contacted_at is None:
                # The first-contact SLA clock starts (the followup tick works out its deadline).
                sets += ", due_pk = :sla_queue, due_at = :now"
                values[":sla_queue"] = SLA_CLOCK_QUEUE
                removes = "return_to_agent_id"
            if assignment.pool_id:
                sets += ", assigned_pool_id = :pool"
                values[":pool"] = assignment.pool_id
            else:  # back to the previous owner, outside any pool
                removes += ", assigned_pool_id"
            if assignment.team_id:
                sets += ", assigned_team_id = :team, team_pk = :team"
                values[":team"] = assignment.team_id
            txn.update(
                self.leads_table,
                {"pk": lead_pk(lead.lead_id), "sk": LEAD_SK},
                f"{sets} REMOVE {removes}",
                values,
                guard,
                names={"#status": "status"},
            )
            self._count(txn, assignment, day)
            self._stamp(txn, assignment, decision, roster)
            self._move_load(txn, lead, assignment)
        txn.put(self.leads_table, decision_item(decision))
        txn.put(self.leads_table, timeline_item(event))
        if assignment is not None:  # the fairness ledger (GET /routing/fairness)
            kind = "offered" if offer is not None else "assigned"
            txn.put(self.leads_table, ledger_item(kind, now, day, assignment.agent_id, assignment.pool_id, lead))
        roster_check_at = None
        if roster_version is not None:
            roster_check_at = len(txn.items)
            txn.items.append(roster_version_check(self.org_table, roster_version))
        return self._run(txn, roster_check_at)

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
    ) -> CommitResult:
        """Move an assigned (or unassigned, or still pending) lead to another agent, on condition
        that the lead has not changed since it was read. The new agent's day counter moves under
        their cap unless `assignment.daily_cap` is None (a forced override); the pool's
        round-robin stamp moves only when a pool's strategy picked the agent.

        With `roster_version` (read before the roster the move was decided on), the move also
        checks that no change to agents, teams, pools or rules completed since, as `commit` does:
        `ROSTER_MOVED` means decide again on the new roster."""
        txn = Transaction()
        sets = (
            "SET #status = :status, routing_state = :done, version = version + :one, "
            "assigned_agent_id = :agent, agent_pk = :agent, assigned_at = :now"
        )
        # Routing's word only while nobody worked the lead: a lead in a sales stage keeps it.
        status = LeadStatus.ASSIGNED.value if lead.status in ROUTING_STATUSES else lead.status
        values: dict[str, object] = {":status": status, ":done": RoutingState.DONE.value,
                                     ":one": 1, ":agent": assignment.agent_id, ":now": decision.at,
                                     ":version": lead.version}  # fmt: skip
        removes = ["due_pk", "due_at"]
        if lead.first_contacted_at is None:  # a new owner, a new first-contact SLA clock
            sets += ", due_pk = :sla_queue, due_at = :now"
            values[":sla_queue"] = SLA_CLOCK_QUEUE
            removes = []
        if assignment.team_id:
            sets += ", assigned_team_id = :team, team_pk = :team"
            values[":team"] = assignment.team_id
        else:
            removes += ["assigned_team_id", "team_pk"]
        if assignment.pool_id:
            sets += ", assigned_pool_id = :pool"
            values[":pool"] = assignment.pool_id
        else:
            removes.append("assigned_pool_id")
        txn.update(
            self.leads_table,
            {"pk": lead_pk(lead.lead_id), "sk": LEAD_SK},
            f"{sets} REMOVE {', '.join(removes)}" if removes else sets,
            values,
            "attribute_exists(pk) AND version = :version",
            names={"#status": "status"},
        )
        self._count(txn, assignment, day)
        if stamp_round_robin:
            self._stamp(txn, assignment, decision, roster)
        self._move_load(txn, lead, assignment)
        if lead.open_followup_id:
            self._hand_over_followup(txn, lead.open_followup_id, assignment)
        txn.put(self.leads_table, decision_item(decision))
        txn.put(self.leads_table, timeline_item(event))
        for extra in more_events:
            txn.put(self.leads_table, timeline_item(extra))
        # The override register: every manual move, listed apart from automatic routing so
        # managers can see who overrides how often (GET /routing/overrides). Moves the followup
        # tick makes (SLA, queued leads) are not overrides.
        if register_override:
            txn.put(self.leads_table, override_item(decision, assignment.team_id))
        roster_check_at = None
        if roster_version is not None:  # last: the lead's own condition stays item 0
            roster_check_at = len(txn.items)
            txn.items.append(roster_version_check(self.org_table, roster_version))
        return self._run(txn, roster_check_at)

    def _count(self, txn: Transaction, assignment: Assignment, day: date) -> None:
        counter_values: dict[str, object] = {":one": 1, ":expires": counter_expiry(day)}
        counter_condition = None
        if assignment.daily_cap is not None:
            counter_condition = "attribute_not_exists(assigned) OR assigned < :cap"
            counter_values[":cap"] = assignment.daily_cap
        txn.update(
            self.org_table,
            {"pk": ROSTER, "sk": day_sk(day, assignment.agent_id)},
            "SET expires_at = :expires ADD assigned :one",
            counter_values,
            counter_condition,
        )

    def _stamp(self, txn: Transaction, assignment: Assignment, decision: RoutingDecision, roster: Roster) -> None:
        if assignment.pool_id is None:
            return
        seen = roster.rr(assignment.pool_id, assignment.agent_id)
        stamp = next_round_robin_stamp(roster, assignment.pool_id, epoch_ms(decision.at))
        rr_values: dict[str, object] = {":stamp": stamp, ":one": 1}
        if seen.exists:
            rr_condition = "last_assigned_ms = :seen"
            rr_values[":seen"] = seen.last_assigned_ms
        else:  # (an item accrued turns created holds no stamp yet)
            rr_condition = "attribute_not_exists(last_assigned_ms)"
        sets = "SET last_assigned_ms = :stamp"
        if assignment.owed_after is not None:  # under the stamp's condition, like the virtual times
            sets += ", missed = :owed"
            rr_values[":owed"] = assignment.owed_after
            if assignment.extra_turn:  # a turn given back keeps the agent's place in the rotation
                rr_values.update({":stamp": seen.last_assigned_ms + 1, ":extra": stamp})
                sets += ", last_extra_ms = :extra"
        if assignment.vtime is not None and assignment.pool_vtime is not None:
            # Weighted round-robin's virtual times move under the stamp's condition: every write
            # to this item moves the stamp, so a stale read of either fails the transaction.
            sets += ", vtime = :vtime, pool_vtime = :pool_vtime"
            rr_values.update({":vtime": assignment.vtime, ":pool_vtime": assignment.pool_vtime})
        txn.update(
            self.org_table,
            {"pk": ROSTER, "sk": rr_sk(assignment.pool_id, assignment.agent_id)},
            f"{sets} ADD assigned_total :one",
            rr_values,
            rr_condition,
        )
        for agent_id in assignment.away:  # each missed a turn of this pool (no condition: a count)
            txn.update(self.org_table, {"pk": ROSTER, "sk": rr_sk(assignment.pool_id, agent_id)},
                       "ADD missed :one", {":one": 1})  # fmt: skip

    def _move_load(self, txn: Transaction, lead: Lead, assignment: Assignment) -> None:
        """The lead is open with the new agent now, and no longer with its previous one (if it was
        open with them). A lead returning to the agent who has it open changes nobody's load."""
        previous = lead.assigned_agent_id if not lead.is_closed else None
        if previous == assignment.agent_id:
            return
        values: dict[str, object] = {":one": 1}
        conditions = []
        if assignment.load_seen is not None:
            # Least-loaded picked this agent for the load it read: re-decide if that moved.
            conditions.append("(attribute_not_exists(open_leads) OR open_leads = :seen)")
            values[":seen"] = assignment.load_seen
        if assignment.max_open_leads is not None:
            # The backlog cap: another router's lead may have filled the agent's backlog meanwhile.
            conditions.append("(attribute_not_exists(open_leads) OR open_leads < :max_open)")
            values[":max_open"] = assignment.max_open_leads
        condition = " AND ".join(conditions) or None
        txn.update(
            self.org_table, {"pk": ROSTER, "sk": load_sk(assignment.agent_id)}, "ADD open_leads :one", values, condition
        )
        if previous is not None:
            release_open_lead(txn, self.org_table, previous)

    def _hand_over_followup(self, txn: Transaction, followup_id: str, assignment: Assignment) -> None:
        """The lead's open (or missed) follow-up goes with it to the new owner, who now sees it in
        their list; the previous owner, who can no longer open the lead, does not."""
        sets = "SET agent_id = :agent, agent_pk = :agent_pk"
        values: dict[str, object] = {":agent": assignment.agent_id, ":agent_pk": f"FU#{assignment.agent_id}"}
        if assignment.team_id:
            expression = f"{sets}, team_id = :team, team_pk = :team_pk"
            values.update({":team": assignment.team_id, ":team_pk": f"FU#{assignment.team_id}"})
        else:
            expression = f"{sets} REMOVE team_id, team_pk"
        txn.update(self.leads_table, {"pk": f"FOLLOWUP#{followup_id}", "sk": "FOLLOWUP"}, expression, values,
                   "attribute_exists(pk)")  # fmt: skip

    def _run(self, txn: Transaction, roster_check_at: int | None = None) -> CommitResult:
        """Run the transaction; which failed condition matters most: the lead's (item 0: it may be
        routed already), then the roster version's (item `roster_check_at`: decide again on the
        new roster), then any counter's or stamp's (a lost race)."""
        try:
            run_transaction(txn.items)
        except TransactionFailed as failed:
            failed_items = failed.failed_conditions()
            if 0 in failed_items:
                return CommitResult.LEAD_CHANGED
            if roster_check_at is not None and roster_check_at in failed_items:
                return CommitResult.ROSTER_MOVED
            if failed_items or failed.conflicted:
                return CommitResult.STATE_CHANGED
            raise
        return CommitResult.COMMITTED


def release_open_lead(txn: Transaction, org_table: str, agent_id: str) -> None:
    """Take one lead off `agent_id`'s open leads, inside the caller's transaction.

    Reassignment calls this for the previous owner. The hook for closing a lead: the transaction
    that marks a lead won or lost (not built yet) must call it for the lead's agent, or
    least-loaded keeps counting closed leads.
    """
    txn.update(org_table, {"pk": ROSTER, "sk": load_sk(agent_id)}, "ADD open_leads :minus", {":minus": -1})
