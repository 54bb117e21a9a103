"""Which DynamoDB actions each function may call on each table: only those its code calls.

CDK's `grant_read_write_data` would add Scan, BatchWriteItem, BatchGetItem and DeleteItem, which
no function calls but these (deleting is the api function's alone: agents, pools, erasure;
batch writes the events function's, for the dashboard feed; a batch read the api's, for search). A function
that starts calling a new action adds it here; `tests/infra/test_infra_stack.py` checks the
synthesized roles against this table. A transaction needs the per-item action (PutItem,
UpdateItem, DeleteItem) on every table it touches, and ConditionCheckItem where it has a
ConditionCheck item: ingest (the source's revision, capture/source_cache.py); route, followup
(SLA moves, queued leads) and api (manual moves) on the org table (the roster version,
store/org.roster_version_check); api on the leads table (a note on a lead that exists,
store/lead_edits.py; the search backfill's lead version, store/search.py).
"""

from __future__ import annotations

from aws_cdk import aws_lambda as lambda_

from leadrelay.definitions import LEADS_TABLE, ORG_TABLE

READ = ("dynamodb:GetItem", "dynamodb:Query")
WRITE = ("dynamodb:PutItem", "dynamodb:UpdateItem")
DELETE = ("dynamodb:DeleteItem",)

LEADS, ORG = LEADS_TABLE.logical_name, ORG_TABLE.logical_name
TABLE_ACTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "ingest": {LEADS: READ + WRITE, ORG: (*READ, "dynamodb:ConditionCheckItem")},
    "route": {LEADS: READ + WRITE, ORG: (*READ, *WRITE, "dynamodb:ConditionCheckItem")},
    "followup": {LEADS: READ + WRITE, ORG: (*READ, *WRITE, "dynamodb:ConditionCheckItem")},
    # Search reads the matched leads in one BatchGetItem.
    "api": {
        LEADS: READ + WRITE + DELETE + ("dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem"),
        ORG: (*READ, *WRITE, *DELETE, "dynamodb:ConditionCheckItem"),
    },
    # Reads the stream (its event source mapping grants that), puts events on the bus, and keeps the
    # dashboard's counters and feed: it reads a lead's owner, writes the org table (the feed in
    # batches of 25).
    "events": {LEADS: READ, ORG: READ + WRITE + ("dynamodb:BatchWriteItem",)},
    # Reads the selection (a search's matches in one BatchGetItem) and the exporter's user record;
    # writes its job record, the lead-id index and the access log.
    "export": {LEADS: (*READ, "dynamodb:BatchGetItem"), ORG: READ + WRITE},
}


def grant_tables(data: object, function: lambda_.IFunction, name: str) -> None:
    """Grant `function` (the `name` entry of TABLE_ACTIONS) its actions, and the data key (when the
    tables have a customer-managed one) as needed: decrypt to read, encrypt too to write."""
    tables = data.tables  # type: ignore[attr-defined]
    writes = False
    for table_name, actions in TABLE_ACTIONS[name].items():
        if actions:
            tables[table_name].grant(function, *actions)
            writes = writes or any(action not in READ for action in actions)
    if not TABLE_ACTIONS[name]:
        return
    key = next(iter(tables.values())).encryption_key
    if key is None:  # DynamoDB's AWS-managed key (the stage's cmk option off): no grant needed
        return
    if writes:
        key.grant_encrypt_decrypt(function)
    else:
        key.grant_decrypt(function)
