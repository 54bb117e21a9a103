"""Presence: an agent checks in and out (docs/routing.md#presence), and their availability
(leave, break, unavailable, banned) changes.

The agent's presence and status live on their profile (`ROSTER` / `AGENT#<id>`), which routing
reads; each change is written with a fairness-ledger entry in one transaction (the ledger's
eligible minutes come from these entries), then the roster version moves so warm routers see it
at once. An availability entry records the status it replaced too, on condition that it is still
the one on the profile, so the ledger's history of an agent's status has no gaps.
"""

from __future__ import annotations

from datetime import date, datetime

from leadrelay.models import Agent, AgentStatus
from leadrelay.models.agent import Presence
from leadrelay.store.dynamo import client, from_item, to_item
from leadrelay.store.offers import ledger_item, streak_sk
from leadrelay.store.org import ROSTER, OrgRepository
from leadrelay.store.transactions import Transaction, TransactionFailed, run_transaction

# The ledger kind of a status change (routing/fairness.py reads it as `AVAILABILITY_KIND`).
AVAILABILITY_KIND = "availability"


class PresenceStore:
    def __init__(self, leads_table: str, org: OrgRepository) -> None:
        self.leads_table = leads_table
        self.org = org

    def set(self, agent_id: str, presence: Presence, reason: str, now: datetime, day: date) -> Agent | None:
        """Check `agent_id` in or out; None when there is no such agent. Checking in also starts
        the expired-offers streak again."""
        txn = Transaction()
        txn.update(
            self.org.table, {"pk": ROSTER, "sk": f"AGENT#{agent_id}"},
            "SET presence = :presence, presence_reason = :why, presence_at = :now",
            {":presence": presence.value, ":why": reason, ":now": now}, "attribute_exists(pk)",
        )  # fmt: skip
        txn.put(self.leads_table, ledger_item(presence.value, now, day, agent_id, None, None, reason))
        if presence is Presence.CHECKED_IN:
            txn.update(self.org.table, {"pk": ROSTER, "sk": streak_sk(agent_id)}, "SET expired_in_row = :zero",
                       {":zero": 0})  # fmt: skip
        try:
            run_transaction(txn.items)
        except TransactionFailed as failed:
            if 0 in failed.failed_conditions():
                return None
            raise
        self.org.roster_moved()
        item = client().get_item(
            TableName=self.org.table, Key=to_item({"pk": ROSTER, "sk": f"AGENT#{agent_id}"}), ConsistentRead=True
        )["Item"]
        body = {k: v for k, v in from_item(item).items() if k not in ("pk", "sk")}
        return Agent.model_validate(body)

    def set_availability(
        self, agent: Agent, status: AgentStatus, until: datetime | None, now: datetime, day: date, by: str
    ) -> Agent | None:
        """Change `agent`'s status (as read: the write holds only while the profile still has that
        status) with an `availability` ledger entry saying what it was and what it is now. None
        when the agent is gone or their status changed meanwhile (read them again and retry)."""
        key = {"pk": ROSTER, "sk": f"AGENT#{agent.agent_id}"}
        values: dict[str, object] = {":status": status.value, ":before": agent.status.value}
        expression = "SET #status = :status"
        if until is None:
            expression += " REMOVE status_until"
        else:
            expression += ", status_until = :until"
            values[":until"] = until
        condition = "attribute_exists(pk) AND #status = :before AND "
        if agent.status_until is None:
            condition += "attribute_not_exists(status_until)"
        else:
            condition += "status_until = :before_until"
            values[":before_until"] = agent.status_until
        txn = Transaction()
        txn.update(self.org.table, key, expression, values, condition, names={"#status": "status"})
        entry = ledger_item(AVAILABILITY_KIND, now, day, agent.agent_id, None, None, f"set by {by}")
        entry.update(status=status.value, until=until, from_status=agent.status.value, from_until=agent.status_until)
        txn.put(self.leads_table, entry)
        try:
            run_transaction(txn.items)
        except TransactionFailed as failed:
            if 0 in failed.failed_conditions():
                return None
            raise
        self.org.roster_moved()
        return self.org.get_agent(agent.agent_id)
