"""The pipeline in the org table, how many leads each stage holds, and moving a lead between stages.

Items: `CONFIG` / `PIPELINE` (the stages, with `version` as an optimistic lock) and
`STAGECOUNT` / `<stage id>` (leads in the stage: one small partition, read whole). A lead's move
is one transaction: the lead's `stage` (on condition of the version it was read at), both
counters and the `lead.stage_changed` timeline entry, which names the stages by id and by the
labels they had then, so a later rename never rewrites history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from leadrelay.errors import Refused
from leadrelay.ids import new_id
from leadrelay.models import Lead, TimelineEvent
from leadrelay.pipeline import Pipeline, Stage, default_pipeline
from leadrelay.store.dynamo import client, from_item, query_all, to_item
from leadrelay.store.leads import LEAD_SK, TransactionFailed, _Txn, lead_pk, run_transaction, timeline_item

PIPELINE_KEY = {"pk": "CONFIG", "sk": "PIPELINE"}
COUNTS_PK = "STAGECOUNT"
STAGE_CHANGED = "lead.stage_changed"


class PipelineStore:
    def __init__(self, org_table: str, leads_table: str) -> None:
        self.org_table = org_table
        self.leads_table = leads_table

    def get(self) -> Pipeline:
        item = client().get_item(TableName=self.org_table, Key=to_item(PIPELINE_KEY), ConsistentRead=True).get("Item")
        if not item:
            return default_pipeline()
        values = from_item(item)
        return Pipeline.model_validate({"version": values["version"], "preset": values.get("preset"),
                                        "stages": values["stages"]})  # fmt: skip

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

    def in_use(self) -> dict[str, int]:
        items = query_all(TableName=self.org_table, KeyConditionExpression="pk = :pk",
                          ExpressionAttributeValues=to_item({":pk": COUNTS_PK}))  # fmt: skip
        return {str(item["sk"]): int(item.get("leads", 0)) for item in items if int(item.get("leads", 0)) > 0}

    def move(self, lead: Lead, previous: Stage | None, stage: Stage, by: str, now: datetime,
             data: dict[str, Any]) -> TimelineEvent:  # fmt: skip
        """Put `lead` (as read) in `stage`; refused with 409 if the lead changed meanwhile."""
        txn = _Txn()
        txn.update(self.leads_table, {"pk": lead_pk(lead.lead_id), "sk": LEAD_SK},
                   "SET stage = :stage, version = version + :one", {":stage": stage.stage_id, ":one": 1,
                   ":seen": lead.version}, condition="version = :seen")  # fmt: skip
        txn.update(self.org_table, {"pk": COUNTS_PK, "sk": stage.stage_id}, "ADD leads :one", {":one": 1})
        if previous is not None and previous.stage_id != stage.stage_id:
            txn.update(self.org_table, {"pk": COUNTS_PK, "sk": previous.stage_id}, "ADD leads :minus", {":minus": -1})
        event = TimelineEvent(
            event_id=new_id(now), lead_id=lead.lead_id, at=now, kind=STAGE_CHANGED, actor=by,
            summary=f"{previous.label if previous else 'no stage'} → {stage.label}",
            data={"from": previous.stage_id if previous else None, "from_label": previous.label if previous else None,
                  "to": stage.stage_id, "to_label": stage.label, "category": stage.category.value, **data},
        )  # fmt: skip
        txn.put(self.leads_table, timeline_item(event))
        try:
            run_transaction(txn.items)
        except TransactionFailed as failed:
            if failed.failed_conditions():
                raise Refused("version_conflict", "the lead changed since you read it: read it again") from failed
            raise
        return event
