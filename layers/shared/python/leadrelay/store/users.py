"""LeadRelay user records in the org table (`USERS` / `<Cognito sub>`), and the short per-process
cache the API reads them through on every request.

The cache keeps a record for `USER_CACHE_SECONDS` (default 5). Every write through this module
drops the entry at once, so the container that disables a person refuses them on the very next
request; other containers within the cache time (docs/api.md, Security).
"""

from __future__ import annotations

import builtins
import threading
import time
from datetime import datetime
from typing import Any

from leadrelay.models.user import User, UserStatus
from leadrelay.store.dynamo import client, from_item, if_condition_holds, to_item, to_value, without_keys
from leadrelay.store.paging import query_all

USERS = "USERS"

_cache: dict[str, tuple[float, User | None]] = {}
_cache_lock = threading.Lock()


def forget_cached(user_id: str | None = None) -> None:
    """Drop one cached record (or all of them)."""
    with _cache_lock:
        if user_id is None:
            _cache.clear()
        else:
            _cache.pop(user_id, None)


class UserStore:
    """Reads and writes user records."""

    def __init__(self, table: str, cache_seconds: float = 5.0) -> None:
        self.table = table
        self.cache_seconds = cache_seconds

    def _key(self, user_id: str) -> dict[str, Any]:
        return to_item({"pk": USERS, "sk": user_id})

    def get(self, user_id: str, consistent: bool = True) -> User | None:
        item = client().get_item(TableName=self.table, Key=self._key(user_id), ConsistentRead=consistent).get("Item")
        return User.model_validate(without_keys(from_item(item))) if item else None

    def cached(self, user_id: str) -> User | None:
        """The record as of at most `cache_seconds` ago (None: there is none)."""
        now = time.monotonic()
        with _cache_lock:
            hit = _cache.get(user_id)
        if hit is not None and now - hit[0] < self.cache_seconds:
            return hit[1]
        user = self.get(user_id)
        with _cache_lock:
            _cache[user_id] = (now, user)
        return user

    def create(self, user: User) -> bool:
        """Add a record; False if one exists for that `sub`."""
        item = to_item({"pk": USERS, "sk": user.user_id, **user.model_dump(mode="python", exclude_none=True)})
        done = if_condition_holds(
            client().put_item, TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(pk)"
        )
        forget_cached(user.user_id)
        return done is not None

    def put(self, user: User) -> None:
        """Write a record whatever is there (seeding, the CLI's bootstrap)."""
        item = to_item({"pk": USERS, "sk": user.user_id, **user.model_dump(mode="python", exclude_none=True)})
        client().put_item(TableName=self.table, Item=item)
        forget_cached(user.user_id)

    def update(self, user_id: str, changes: dict[str, Any], *, only_if_status: UserStatus | None = None) -> User | None:
        """Set (value) or remove (None) some attributes of an existing record in one conditional
        update; None when there is no such record (or it is not in `only_if_status`)."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets: list[str] = []
        removes: list[str] = []
        for n, (attribute, value) in enumerate(changes.items()):
            names[f"#a{n}"] = attribute
            if value is None:
                removes.append(f"#a{n}")
            else:
                values[f":a{n}"] = to_value(value)
                sets.append(f"#a{n} = :a{n}")
        condition = "attribute_exists(pk)"
        if only_if_status is not None:
            names["#status"] = "status"
            values[":only"] = to_value(only_if_status.value)
            condition += " AND #status = :only"
        expression = " ".join(
            part
            for part in (f"SET {', '.join(sets)}" if sets else "", f"REMOVE {', '.join(removes)}" if removes else "")
            if part
        )
        request: dict[str, Any] = {
            "TableName": self.table,
            "Key": self._key(user_id),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ConditionExpression": condition,
            "ReturnValues": "ALL_NEW",
        }
        if values:
            request["ExpressionAttributeValues"] = values
        response = if_condition_holds(client().update_item, **request)
        forget_cached(user_id)
        if response is None:
            return None
        return User.model_validate(without_keys(from_item(response["Attributes"])))

    def list(self) -> builtins.list[User]:
        """Every user record (an SME has tens of people: one partition, one query)."""
        items = query_all(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=to_item({":pk": USERS}),
            ConsistentRead=True,
        )
        return sorted((User.model_validate(without_keys(item)) for item in items), key=lambda u: (u.role, u.username))

    def for_agent(self, agent_id: str) -> builtins.list[User]:
        """The records that sign in as `agent_id` (normally one)."""
        return [user for user in self.list() if user.agent_id == agent_id]

    def mark_mfa(self, user_id: str, enrolled: bool, at: datetime) -> User | None:
        return self.update(user_id, {"mfa_enrolled": enrolled, "mfa_checked_at": at})
