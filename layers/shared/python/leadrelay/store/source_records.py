"""Lead sources in the org table (`SOURCES` / `<source id>`): the key stored as a hash, settings,
and a `revision` that every write moves in the same request (`ADD revision :one`, or 1 for a new
item). A warm ingest that decided with an older copy finds out in its own capture transaction
(`source_guard`, capture/source_cache.py) and decides again with the source as it is now.

`OrgRepository` (store/org.py) is these plus the roster, rules and settings.
"""

from __future__ import annotations

from typing import Any

from leadrelay.models import Source
from leadrelay.models.source_guard import SourceGuard
from leadrelay.store.dynamo import client, from_item, if_condition_holds, to_item, to_value, without_keys
from leadrelay.store.paging import query_all

SOURCES = "SOURCES"


def source_revision_check(guard: SourceGuard) -> dict[str, Any]:
    """A TransactWriteItems `ConditionCheck` that holds while the source item exists at the
    revision a capture decided with (billed as a write of the source item's size; nothing written)."""
    check: dict[str, Any] = {
        "TableName": guard.table,
        "Key": to_item({"pk": SOURCES, "sk": guard.source_id}),
        "ConditionExpression": "revision = :revision",
        "ExpressionAttributeValues": to_item({":revision": guard.revision}),
    }
    if not guard.revision:  # an item written before revisions existed
        check["ConditionExpression"] = "attribute_exists(pk) AND attribute_not_exists(revision)"
        del check["ExpressionAttributeValues"]
    return {"ConditionCheck": check}


class SourceRecords:
    """The org table's lead sources (a part of `OrgRepository`)."""

    table: str

    def put_source(self, source: Source) -> None:
        """Write `source` whole (its attributes as given, the model's others removed) and move its revision."""
        values = source.model_dump(mode="python", exclude_none=True, exclude={"revision"})
        names = {f"#p{n}": name for n, name in enumerate(values)}
        sets = [f"#p{n} = :p{n}" for n in range(len(values))]
        gone = [name for name in Source.model_fields if name not in values and name != "revision"]
        names.update({f"#r{n}": name for n, name in enumerate(gone)})
        expression = "SET " + ", ".join(sets)
        if gone:
            expression += " REMOVE " + ", ".join(f"#r{n}" for n in range(len(gone)))
        client().update_item(
            TableName=self.table,
            Key=to_item({"pk": SOURCES, "sk": source.source_id}),
            UpdateExpression=expression + " ADD revision :one",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={**{f":p{n}": to_value(v) for n, v in enumerate(values.values())},
                                       ":one": to_value(1)},
        )  # fmt: skip

    def get_source(self, source_id: str) -> Source | None:
        # Consistent: a rotated key or a disabled source must be refused from the very next request.
        # (A warm ingest's cached copy keeps this promise through `source_guard`.)
        key = to_item({"pk": SOURCES, "sk": source_id})
        item = client().get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        return Source.model_validate(without_keys(from_item(item))) if item else None

    def source_guard(self, source: Source) -> SourceGuard:
        """The condition a capture write puts on the source it was decided with (capture/source_cache.py)."""
        return SourceGuard(self.table, source.source_id, source.revision)

    def create_source(self, source: Source) -> bool:
        """Add a new source; False if the id is taken (an existing source is never overwritten)."""
        values = {**source.model_dump(mode="python", exclude_none=True), "revision": 1}
        item = to_item({"pk": SOURCES, "sk": source.source_id, **values})
        created = if_condition_holds(
            client().put_item, TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(pk)"
        )
        return created is not None

    def update_source(
        self, source_id: str, changes: dict[str, Any], settings: dict[str, Any] | None = None
    ) -> Source | None:
        """Change some of an existing source's attributes (`name`, `active`, `tags`, `key_hash`) and
        merge `settings` key by key (a value of None removes that setting), in one conditional
        update: two admins changing different settings, or a rotation racing an edit, never undo
        each other. None when there is no such source."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets: list[str] = []
        removes: list[str] = []
        for n, (attribute, value) in enumerate(changes.items()):
            names[f"#f{n}"], values[f":f{n}"] = attribute, to_value(value)
            sets.append(f"#f{n} = :f{n}")
        if settings:
            names["#settings"] = "settings"
        for n, (name, value) in enumerate((settings or {}).items()):
            names[f"#s{n}"] = name
            if value is None:
                removes.append(f"#settings.#s{n}")
            else:
                values[f":s{n}"] = to_value(value)
                sets.append(f"#settings.#s{n} = :s{n}")
        expression = " ".join(part for part in (
            f"SET {', '.join(sets)}" if sets else "", f"REMOVE {', '.join(removes)}" if removes else ""
        ) if part)  # fmt: skip
        key = to_item({"pk": SOURCES, "sk": source_id})
        if not expression:
            return self.get_source(source_id)
        expression += " ADD revision :one"  # every change moves the revision (see `put_source`)
        values[":one"] = to_value(1)
        request: dict[str, Any] = {
            "TableName": self.table, "Key": key, "UpdateExpression": expression, "ExpressionAttributeNames": names,
            "ConditionExpression": "attribute_exists(pk)", "ReturnValues": "ALL_NEW",
        }  # fmt: skip
        request["ExpressionAttributeValues"] = values
        response = if_condition_holds(client().update_item, **request)
        if response is None:
            return None
        return Source.model_validate(without_keys(from_item(response["Attributes"])))

    def list_sources(self) -> list[Source]:
        items = query_all(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=to_item({":pk": SOURCES}),
        )
        return [Source.model_validate(without_keys(item)) for item in items]
