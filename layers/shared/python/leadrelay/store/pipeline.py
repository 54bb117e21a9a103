"""The pipeline in the org table and how many leads people have put in each stage.

Items: `CONFIG` / `PIPELINE` (the stages, with `version` as an optimistic lock) and
`STAGECOUNT` / `<stage id>` (leads whose status is that stage: one small partition, read whole).
The counters change in the status change's own transaction (store/lifecycle.py, `count_move`);
leads routing still holds (new, offered, assigned, unassigned) are not counted: they count as the
entry stage, whichever it is. A retired stage keeps its own counter (its leads keep their status);
`GET /pipeline` shows them under the stage they moved to.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from leadrelay.errors import Refused
from leadrelay.models.pipeline import ROUTING_STATUSES, Pipeline, default_pipeline
from leadrelay.store.dynamo import client, from_item, query_all, to_item
from leadrelay.store.lists import LIST_LEADS
from leadrelay.store.transactions import Transaction

PIPELINE_KEY = {"pk": "CONFIG", "sk": "PIPELINE"}
COUNTS_PK = "STAGECOUNT"


class PipelineStore:
    def __init__(self, org_table: str, leads_table: str) -> None:
        self.org_table = org_table
        self.leads_table = leads_table

    def get(self) -> Pipeline:
        item = client().get_item(TableName=self.org_table, Key=to_item(PIPELINE_KEY), ConsistentRead=True).get("Item")
        return pipeline_from_item(from_item(item) if item else None)

    def put(self, pipeline: Pipeline, expected_version: int) -> Pipeline:
        """Store `pipeline` as the next version, if the stored one is still `expected_version`."""
        stored = pipeline.model_copy(update={"version": expected_version + 1})
        item = {**PIPELINE_KEY, "version": stored.version, "preset": stored.preset,
                "stages": [stage.model_dump(mode="json") for stage in stored.stages]}  # fmt: skip
        try:
            client().put_item(
                TableName=self.org_table, Item=to_item({k: v for k, v in item.items() if v is not None}),
                ConditionExpression="attribute_not_exists(pk) OR version = :seen",
                ExpressionAttributeValues=to_item({":seen": expected_version}),
            )  # fmt: skip
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise Refused("version_conflict", "the pipeline changed since you read it: read it again") from exc
            raise
        return stored

    def oldest_received(self) -> datetime | None:
        """When the organisation's oldest lead arrived (the by_received index, one item), or None."""
        response = client().query(TableName=self.leads_table, IndexName="by_received",
                                  KeyConditionExpression="list_pk = :lead", ScanIndexForward=True, Limit=1,
                                  ExpressionAttributeValues=to_item({":lead": LIST_LEADS}))  # fmt: skip
        items = response.get("Items", [])
        if not items:
            return None
        return datetime.fromisoformat(str(from_item(items[0])["list_sk"]).split("#", 1)[0].replace("Z", "+00:00"))

    def in_use(self) -> dict[str, int]:
        items = query_all(TableName=self.org_table, KeyConditionExpression="pk = :pk",
                          ExpressionAttributeValues=to_item({":pk": COUNTS_PK}))  # fmt: skip
        return {str(item["sk"]): int(item.get("leads", 0)) for item in items if int(item.get("leads", 0)) > 0}


def pipeline_from_item(values: dict[str, Any] | None) -> Pipeline:
    """The stored pipeline item (plain values), or the default pipeline when there is none."""
    if not values:
        return default_pipeline()
    return Pipeline.model_validate({"version": values["version"], "preset": values.get("preset"),
                                    "stages": values["stages"]})  # fmt: skip


def count_move(txn: Transaction, org_table: str, before: str, after: str) -> None:
    """Move one lead's count from status `before` to status `after` (in the change's transaction)."""
    if before == after:
        return
    if after not in ROUTING_STATUSES:
        txn.update(org_table, {"pk": COUNTS_PK, "sk": after}, "ADD leads :one", {":one": 1})
    if before not in ROUTING_STATUSES:
        txn.update(org_table, {"pk": COUNTS_PK, "sk": before}, "ADD leads :minus", {":minus": -1})
