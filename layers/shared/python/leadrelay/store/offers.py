"""Accept-or-pass offers and the fairness ledger, over DynamoDB.

Items (leads table):
- `OFFERS#<agent>` / `OFFER#<offer_id>`   one open offer: the lead, pool, rule, the org-local day
  whose counter it holds, `expires_at`; `due_pk = "OFFER"`, `due_at = expires_at` puts it on the
  `by_due` index for the every-minute tick. Deleted when the offer is accepted, declined or expires
  (its whole story stays in the lead's routing trail and timeline).
- `LEDGER#<org-local day>` / `<at>#<id>`   one entry of the fairness ledger: offered, accepted,
  declined, expired, assigned, checked_in, checked_out, with agent, pool and source.

Org table: `ROSTER` / `STREAK#<agent>` counts the offers an agent let expire in a row.

Every settlement is one transaction whose items are conditioned and named (`OfferStep`), like
`store/assignments.py`: the lead still holds this offer (so accept, decline and expiry racing
each other settle it exactly once), and the offer item still exists.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from leadrelay.clock import iso
from leadrelay.ids import new_id
from leadrelay.models import Lead, LeadStatus, RoutingDecision, RoutingState, TimelineEvent
from leadrelay.models.offer import ACCEPTED_TRIGGER, Offer, Pass, Settled  # noqa: F401  (their old import path)
from leadrelay.models.roster import OfferTerms, new_offer  # noqa: F401  (new_offer: the old import path)
from leadrelay.store.dynamo import client, from_item, query_all, to_item
from leadrelay.store.leads import LEAD_SK, decision_item, lead_pk, timeline_item
from leadrelay.store.org import ROSTER, day_sk, load_sk, roster_version_check
from leadrelay.store.transactions import Transaction, TransactionFailed, run_transaction

if TYPE_CHECKING:
    from leadrelay.store.assignments import Assignment

OFFER_QUEUE = "OFFER"
# How long ledger entries are kept (the fairness report looks back at most this far).
LEDGER_DAYS = 400


def offers_pk(agent_id: str) -> str:
    return f"OFFERS#{agent_id}"


def offer_sk(offer_id: str) -> str:
    return f"OFFER#{offer_id}"


def streak_sk(agent_id: str) -> str:
    return f"STREAK#{agent_id}"


def ledger_pk(day: date) -> str:
    return f"LEDGER#{day.isoformat()}"


def offer_item(offer: OfferTerms, lead: Lead, assignment: Assignment, decision: RoutingDecision, day: date) -> dict:
    return {
        "pk": offers_pk(assignment.agent_id), "sk": offer_sk(offer.offer_id), "offer_id": offer.offer_id,
        "lead_id": lead.lead_id, "agent_id": assignment.agent_id, "pool_id": assignment.pool_id,
        "team_id": assignment.team_id, "rule_id": decision.rule_id, "offered_at": decision.at,
        "expires_at_time": offer.expires_at, "day": day.isoformat(), "decision_id": decision.decision_id,
        "chain_version": decision.rule_chain_version, "due_pk": OFFER_QUEUE, "due_at": offer.expires_at,
    }  # fmt: skip


def ledger_item(
    kind: str,
    at: datetime,
    day: date,
    agent_id: str,
    pool_id: str | None,
    lead: Lead | None,
    note: str | None = None,
) -> dict[str, Any]:
    """One fairness-ledger entry, written inside the transaction that made it true."""
    entry_id = new_id(at)
    return {
        "pk": ledger_pk(day), "sk": f"{iso(at)}#{entry_id}", "kind": kind, "at": at, "agent_id": agent_id,
        "pool_id": pool_id, "lead_id": lead.lead_id if lead else None,
        "source_id": lead.source_id if lead else None, "source_kind": lead.source_kind if lead else None,
        "note": note, "expires_at": int((at + timedelta(days=LEDGER_DAYS)).timestamp()),
    }  # fmt: skip


def _offer(values: dict[str, Any]) -> Offer:
    return Offer(
        offer_id=values["offer_id"], lead_id=values["lead_id"], agent_id=values["agent_id"],
        pool_id=values.get("pool_id"), team_id=values.get("team_id"), rule_id=values.get("rule_id"),
        offered_at=datetime.fromisoformat(values["offered_at"]),
        expires_at=datetime.fromisoformat(values["expires_at_time"]),
        day=date.fromisoformat(values["day"]), decision_id=values["decision_id"],
        chain_version=int(values.get("chain_version", 0)),
    )  # fmt: skip


class OfferStore:
    def __init__(self, leads_table: str, org_table: str) -> None:
        self.leads_table = leads_table
        self.org_table = org_table

    # -- reads -----------------------------------------------------------------------------------

    def get(self, agent_id: str, offer_id: str) -> Offer | None:
        item = client().get_item(
            TableName=self.leads_table, Key=to_item({"pk": offers_pk(agent_id), "sk": offer_sk(offer_id)}),
            ConsistentRead=True,
        ).get("Item")  # fmt: skip
        return _offer(from_item(item)) if item else None

    def for_agent(self, agent_id: str) -> list[Offer]:
        """The agent's open offers, oldest first."""
        items = query_all(
            TableName=self.leads_table, KeyConditionExpression="pk = :pk AND begins_with(sk, :offer)",
            ExpressionAttributeValues=to_item({":pk": offers_pk(agent_id), ":offer": "OFFER#"}), ConsistentRead=True,
        )  # fmt: skip
        return [_offer(item) for item in items]

    def open_offers(self, until: datetime | None = None, limit: int | None = None) -> list[Offer]:
        """Open offers of every agent by expiry (those expired by `until` when given)."""
        condition, values = "due_pk = :queue", {":queue": OFFER_QUEUE}
        if until is not None:
            condition += " AND due_at <= :until"
            values[":until"] = iso(until)
        request: dict[str, Any] = {
            "TableName": self.leads_table, "IndexName": "by_due", "KeyConditionExpression": condition,
            "ExpressionAttributeValues": to_item(values),
        }  # fmt: skip
        if limit is not None:
            request["Limit"] = limit
            items = [from_item(item) for item in client().query(**request).get("Items", [])]
        else:
            items = query_all(**request)
        return [_offer(item) for item in items]

    def expiry_streak(self, agent_id: str) -> int:
        item = (
            client()
            .get_item(
                TableName=self.org_table, Key=to_item({"pk": ROSTER, "sk": streak_sk(agent_id)}), ConsistentRead=True
            )
            .get("Item")
        )
        return int(from_item(item).get("expired_in_row", 0)) if item else 0

    def ledger(self, day: date) -> list[dict[str, Any]]:
        return query_all(
            TableName=self.leads_table, KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=to_item({":pk": ledger_pk(day)}),
        )  # fmt: skip

    # -- settlements -----------------------------------------------------------------------------

    def _offer_held(self, txn: Transaction, offer: Offer, sets: str, values: dict[str, Any], removes: str) -> None:
        """Step 0, named `offer_held`: the lead still holds exactly this offer."""
        txn.update(
            self.leads_table,
            {"pk": lead_pk(offer.lead_id), "sk": LEAD_SK},
            f"{sets} REMOVE {removes}",
            {**values, ":offer": offer.offer_id, ":offered": RoutingState.OFFERED.value, ":one": 1},
            "offer_id = :offer AND routing_state = :offered",
            names={"#status": "status"},
        )

    def _offer_gone(self, txn: Transaction, offer: Offer) -> None:
        """Step 1, named `offer_open`: the offer item is still there (deleted by this settlement)."""
        key = to_item({"pk": offers_pk(offer.agent_id), "sk": offer_sk(offer.offer_id)})
        txn.items.append(
            {"Delete": {"TableName": self.leads_table, "Key": key, "ConditionExpression": "attribute_exists(pk)"}}
        )

    def accept(
        self,
        offer: Offer,
        lead: Lead,
        decision: RoutingDecision,
        event: TimelineEvent,
        day: date,
        sla_queue: str,
        roster_version: int | None = None,
    ) -> Settled:
        """The lead becomes the agent's: assigned with the pool and team the offer was made for. The
        counters moved when the offer was made, so nothing else changes but the expiry streak.

        With `roster_version` (read before the agent was found still able to take it), the
        acceptance holds only while no roster change completed since (`Settled.ROSTER_MOVED`)."""
        now = decision.at
        sets = ("SET #status = :assigned, routing_state = :done, version = version + :one, "
                "assigned_agent_id = :agent, agent_pk = :agent, assigned_at = :now")  # fmt: skip
        values: dict[str, Any] = {":assigned": LeadStatus.ASSIGNED.value, ":done": RoutingState.DONE.value,
                                  ":agent": offer.agent_id, ":now": now}  # fmt: skip
        removes = "offer_id, offered_agent_id, offer_expires_at, return_to_agent_id"
        if lead.first_contacted_at is None:  # the first-contact SLA clock starts at acceptance
            sets += ", due_pk = :sla_queue, due_at = :now"
            values[":sla_queue"] = sla_queue
        else:
            removes += ", due_pk, due_at"
        if offer.pool_id:
            sets += ", assigned_pool_id = :pool"
            values[":pool"] = offer.pool_id
        if offer.team_id:
            sets += ", assigned_team_id = :team, team_pk = :team"
            values[":team"] = offer.team_id
        txn = Transaction()
        self._offer_held(txn, offer, sets, values, removes)
        self._offer_gone(txn, offer)
        txn.update(self.org_table, {"pk": ROSTER, "sk": streak_sk(offer.agent_id)}, "SET expired_in_row = :zero",
                   {":zero": 0})  # fmt: skip
        txn.put(self.leads_table, decision_item(decision))
        txn.put(self.leads_table, timeline_item(event))
        txn.put(self.leads_table, ledger_item("accepted", now, day, offer.agent_id, offer.pool_id, lead))
        roster_check_at = None
        if roster_version is not None:  # last: the offer's own conditions stay items 0 and 1
            roster_check_at = len(txn.items)
            txn.items.append(roster_version_check(self.org_table, roster_version))
        return self._run(txn, roster_check_at)

    def pass_on(
        self, offer: Offer, lead: Lead, decision: RoutingDecision, event: TimelineEvent, day: date, passing: Pass
    ) -> Settled:
        """Declined, expired or withdrawn: the lead goes back to routing (`routing_state` pending, which the
        stream hands to the router) never to be offered to this agent again; the day counter and
        open-leads counter the offer held are released (the round-robin turn stays used); an
        expiry lengthens the agent's streak, and at the pool's limit checks the agent out."""
        now = decision.at
        sets = ("SET #status = :new, routing_state = :pending, version = version + :one, "
                "offer_passed_by = list_append(if_not_exists(offer_passed_by, :none), :passer)")  # fmt: skip
        values = {":new": LeadStatus.NEW.value, ":pending": RoutingState.PENDING.value, ":none": [],
                  ":passer": [offer.agent_id]}  # fmt: skip
        txn = Transaction()
        self._offer_held(txn, offer, sets, values, "offer_id, offered_agent_id, offer_expires_at")
        self._offer_gone(txn, offer)
        txn.update(self.org_table, {"pk": ROSTER, "sk": day_sk(offer.day, offer.agent_id)}, "ADD assigned :minus",
                   {":minus": -1})  # fmt: skip
        txn.update(self.org_table, {"pk": ROSTER, "sk": load_sk(offer.agent_id)}, "ADD open_leads :minus",
                   {":minus": -1})  # fmt: skip
        streak_key = {"pk": ROSTER, "sk": streak_sk(offer.agent_id)}
        if passing.kind == "expired":  # step 4, named `streak_as_read`
            txn.update(self.org_table, streak_key, "SET expired_in_row = :next",
                       {":next": passing.streak_seen + 1, ":seen": passing.streak_seen},
                       "attribute_not_exists(expired_in_row) OR expired_in_row = :seen")  # fmt: skip
        elif passing.kind == "declined":  # declining is being there: the streak starts again
            txn.update(self.org_table, streak_key, "SET expired_in_row = :zero", {":zero": 0})
        # "withdrawn" (the agent's leave or removal, not their answer) leaves the streak as it was
        txn.put(self.leads_table, decision_item(decision))
        txn.put(self.leads_table, timeline_item(event))
        txn.put(self.leads_table, ledger_item(passing.kind, now, day, offer.agent_id, offer.pool_id, lead))
        if passing.check_out_reason is not None:
            txn.update(
                self.org_table, {"pk": ROSTER, "sk": f"AGENT#{offer.agent_id}"},
                "SET presence = :out, presence_reason = :why, presence_at = :now",
                {":out": "checked_out", ":why": passing.check_out_reason, ":now": now}, "attribute_exists(pk)",
            )  # fmt: skip
            txn.put(self.leads_table, ledger_item("checked_out", now, day, offer.agent_id, None, None,
                                                  passing.check_out_reason))  # fmt: skip
        return self._run(txn)

    def _run(self, txn: Transaction, roster_check_at: int | None = None) -> Settled:
        try:
            run_transaction(txn.items)
        except TransactionFailed as failed:
            failing = failed.failed_conditions()
            if 0 in failing or 1 in failing:
                return Settled.OFFER_CLOSED
            if roster_check_at is not None and roster_check_at in failing:
                return Settled.ROSTER_MOVED
            if failing or failed.conflicted:
                return Settled.STREAK_MOVED
            raise
        return Settled.DONE
