"""The access log: who read which leads' personal data, when, from where (DPDP; "who saw which
customer"). Org table items, one per API request that showed lead data:

- `ACCESS#<UTC date>` / `<at ISO>#<request id>`  user_id, username, role, team_id, lead_ids,
  route, what, source_ip, user_agent, expires_at (TTL: the retention setting)

Written once per request with a put that never overwrites (append-only: LeadRelay has no code
path that updates or deletes an entry; TTL ages them out). Read back day by day.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from leadrelay.clock import iso
from leadrelay.models.access import AccessEntry
from leadrelay.store.dynamo import client, if_condition_holds, to_item
from leadrelay.store.paging import query_all


def day_pk(moment: datetime) -> str:
    return f"ACCESS#{moment.astimezone(UTC).date().isoformat()}"


def entry_item(entry: AccessEntry, retention_days: int) -> dict[str, Any]:
    expires = entry.at + timedelta(days=retention_days)
    return {
        "pk": day_pk(entry.at),
        "sk": f"{iso(entry.at)}#{entry.request_id}",
        "at": iso(entry.at),
        "request_id": entry.request_id,
        "user_id": entry.user_id,
        "username": entry.username,
        "role": entry.role,
        "team_id": entry.team_id,
        "route": entry.route,
        "what": entry.what,
        "lead_ids": sorted(set(entry.lead_ids)),
        "source_ip": entry.source_ip,
        "user_agent": (entry.user_agent or "")[:300] or None,
        "expires_at": int(expires.timestamp()),
    }


class AccessLog:
    """Appends and reads access entries."""

    def __init__(self, table: str, retention_days: int) -> None:
        self.table = table
        self.retention_days = retention_days

    def append(self, entry: AccessEntry) -> None:
        """One PutItem for the whole request, whatever the number of leads it showed."""
        if_condition_holds(
            client().put_item,
            TableName=self.table,
            Item=to_item(entry_item(entry, self.retention_days)),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def search(
        self,
        since: datetime,
        until: datetime,
        *,
        lead_id: str | None = None,
        user_id: str | None = None,
        team_id: str | None = None,
        limit: int = 200,
    ) -> tuple[list[dict[str, Any]], bool]:
        """Entries in [since, until), newest first, at most `limit`; and whether more matched.
        One query per UTC day of the window (at most `MAX_DAYS`)."""
        found: list[dict[str, Any]] = []
        day = until.astimezone(UTC).date()
        first = since.astimezone(UTC).date()
        filters: list[str] = []
        values: dict[str, Any] = {}
        names: dict[str, str] = {}
        if lead_id:
            filters.append("contains(lead_ids, :lead)")
            values[":lead"] = lead_id
        if user_id:
            filters.append("user_id = :user")
            values[":user"] = user_id
        if team_id:
            filters.append("team_id = :team")
            values[":team"] = team_id
        while day >= first:
            request: dict[str, Any] = {
                "TableName": self.table,
                "KeyConditionExpression": "pk = :pk AND sk BETWEEN :from AND :to",
                "ExpressionAttributeValues": to_item(
                    {":pk": f"ACCESS#{day.isoformat()}", ":from": iso(since), ":to": iso(until), **values}
                ),
                "ScanIndexForward": False,
            }
            if filters:
                request["FilterExpression"] = " AND ".join(filters)
            if names:
                request["ExpressionAttributeNames"] = names
            for item in query_all(**request):
                if item["at"] >= iso(until):
                    continue
                found.append({k: v for k, v in item.items() if k not in ("pk", "sk", "expires_at")})
                if len(found) > limit:
                    return found[:limit], True
            day -= timedelta(days=1)
        return found, False
