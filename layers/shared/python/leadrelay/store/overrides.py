"""The override register in the leads table: every manual reassignment, listed newest first.

Item layout (pk / sk): `OVERRIDE#<decision id>` / `OVERRIDE`, on the `by_received` list
"OVERRIDE". Written inside the reassignment's transaction (`store/assignments.py`).
"""

from __future__ import annotations

from datetime import datetime
from itertools import islice
from typing import Any

from leadrelay.clock import iso
from leadrelay.models import RoutingDecision
from leadrelay.store import paging
from leadrelay.store.dynamo import to_item
from leadrelay.store.lists import LIST_OVERRIDES, list_sk


def override_item(decision: RoutingDecision, team_id: str | None) -> dict[str, Any]:
    """One manual reassignment in the override register (listed newest first by `by_received`)."""
    return {
        "pk": f"OVERRIDE#{decision.decision_id}",
        "sk": "OVERRIDE",
        "list_pk": LIST_OVERRIDES,
        "list_sk": list_sk(decision.at, decision.decision_id),
        "at": decision.at,
        "lead_id": decision.lead_id,
        "by": decision.by,
        "from_agent_id": decision.previous_agent_id,
        "agent_id": decision.agent_id,
        "team_id": team_id,
        "reason": decision.note,
        "forced": decision.forced,
    }


class OverrideRegister:
    """Reads the override register."""

    def __init__(self, table: str) -> None:
        self.table = table

    def since(self, since: datetime, most: int = 5000, team_id: str | None = None) -> list[dict[str, Any]]:
        """Manual reassignments from `since` on, newest first (at most `most`); with `team_id`,
        only moves to that team (filtered before the cut, so other teams cannot crowd it)."""
        values = {":list": LIST_OVERRIDES, ":since": iso(since)}
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "by_received",
            "KeyConditionExpression": "list_pk = :list AND list_sk >= :since",
            "ScanIndexForward": False,
        }
        if team_id is not None:
            values[":team"] = team_id
            kwargs["FilterExpression"] = "team_id = :team"
        kwargs["ExpressionAttributeValues"] = to_item(values)
        return list(islice(paging.items(kwargs), most))
