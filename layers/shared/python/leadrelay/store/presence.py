"""Presence: an agent checks in and out (docs/routing.md#presence).

The agent's presence lives on their profile (`ROSTER` / `AGENT#<id>`), which routing reads; each
change is written with a fairness-ledger entry in one transaction (the ledger's eligible minutes
come from these entries), then the roster version moves so warm routers see it at once.
"""

from __future__ import annotations

from datetime import date, datetime

from leadrelay.models import Agent
from leadrelay.models.agent import Presence
from leadrelay.store.dynamo import client, from_item, to_item
from leadrelay.store.leads import TransactionFailed, _Txn, run_transaction
from leadrelay.store.offers import ledger_item, streak_sk
from leadrelay.store.org import ROSTER, OrgRepository


class PresenceStore:
    def __init__(self, leads_table: str, org: OrgRepository) -> None:
        self.leads_table = leads_table
        self.org = org

    def set(self, agent_id: str, presence: Presence, reason: str, now: datetime, day: date) -> Agent | None:
        """Check `agent_id` in or out; None when there is no such agent. Checking in also starts
        the expired-offers streak again."""
        txn = _Txn()
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
