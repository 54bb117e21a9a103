"""One definition of the tables, the stream filter and the schedules.

Both `infra/` (CDK) and the local stack read these, and an infra test checks that the synthesized
CloudFormation agrees with them, so the laptop and AWS cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Index:
    """A global secondary index with string keys and an ALL projection."""

    name: str
    partition_key: str
    sort_key: str | None = None


@dataclass(frozen=True)
class TableDef:
    """A DynamoDB table: string `pk`/`sk` keys, on-demand, optional stream and TTL."""

    logical_name: str
    env_var: str
    partition_key: str = "pk"
    sort_key: str = "sk"
    indexes: tuple[Index, ...] = ()
    stream: str | None = None  # a StreamViewType, e.g. NEW_AND_OLD_IMAGES
    ttl_attribute: str | None = None

    def create_table_kwargs(self, table_name: str) -> dict[str, Any]:
        """Arguments for boto3 `create_table`, as the local stack and the moto tests use them."""
        attributes = {self.partition_key, self.sort_key}
        for index in self.indexes:
            attributes.add(index.partition_key)
            if index.sort_key:
                attributes.add(index.sort_key)
        kwargs: dict[str, Any] = {
            "TableName": table_name,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [
                {"AttributeName": self.partition_key, "KeyType": "HASH"},
                {"AttributeName": self.sort_key, "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"} for name in sorted(attributes)],
        }
        if self.indexes:
            kwargs["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": index.name,
                    "KeySchema": [{"AttributeName": index.partition_key, "KeyType": "HASH"}]
                    + ([{"AttributeName": index.sort_key, "KeyType": "RANGE"}] if index.sort_key else []),
                    "Projection": {"ProjectionType": "ALL"},
                }
                for index in self.indexes
            ]
        if self.stream:
            kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": self.stream}
        return kwargs


# Leads, their timelines, routing audit, raw requests, touchpoints, dedupe keys and quarantine.
LEADS_TABLE = TableDef(
    logical_name="Leads",
    env_var="LEADS_TABLE",
    indexes=(
        # Every lead (and, separately, every quarantined request), newest first: list_pk is
        # "LEAD" or "QUARANTINE"; list_sk is "<received_at>#<id>".
        Index("by_received", "list_pk", "list_sk"),
        # An agent's leads, newest first (sparse: only assigned leads carry agent_pk).
        Index("by_agent", "agent_pk", "list_sk"),
        # A team's leads, newest first (sparse: only assigned leads carry team_pk).
        Index("by_team", "team_pk", "list_sk"),
        # Due work for the schedules (sparse: only items with something due carry due_pk).
        Index("by_due", "due_pk", "due_at"),
        # Search terms of leads (sparse: only `SEARCH#…` items carry search_pk): search_pk is
        # "PHONE#<E.164>", "EMAIL#<email>" or "NAME#<first two letters>"; search_sk starts with the
        # folded name word (names) and ends "<received_at>#<lead id>" (leadrelay.search).
        Index("by_search", "search_pk", "search_sk"),
    ),
    stream="NEW_AND_OLD_IMAGES",
    ttl_attribute="expires_at",
)

# The organisation: agents, teams, pools and their round-robin state, per-agent day counters,
# sources (keys stored as hashes), the rule chain and org settings.
ORG_TABLE = TableDef(logical_name="Org", env_var="ORG_TABLE", ttl_attribute="expires_at")

TABLES: tuple[TableDef, ...] = (LEADS_TABLE, ORG_TABLE)

# Only leads that need routing reach the router: a new lead, or one marked for re-routing. Each
# pattern is an EventBridge-style filter as Lambda's event source mapping takes it.
ROUTE_FILTER_PATTERNS: tuple[dict[str, Any], ...] = (
    {
        "eventName": ["INSERT", "MODIFY"],
        "dynamodb": {
            "NewImage": {
                "sk": {"S": ["LEAD"]},
                "routing_state": {"S": ["pending"]},
            }
        },
    },
)


@dataclass(frozen=True)
class StreamMapping:
    """How the router consumes the leads stream (the event source mapping's settings)."""

    batch_size: int = 10
    max_batching_window_seconds: int = 0
    bisect_batch_on_error: bool = True
    retry_attempts: int = 5
    max_record_age_seconds: int = 3600
    report_batch_item_failures: bool = True
    # TRIM_HORIZON, as the local poller starts: a mapping replaced on a deploy re-reads the last
    # 24 hours rather than skipping what arrived meanwhile (the router and consumers are idempotent).
    starting_position: str = "TRIM_HORIZON"
    filter_patterns: tuple[dict[str, Any], ...] = ROUTE_FILTER_PATTERNS


ROUTE_STREAM = StreamMapping()

# The dashboard's counters and activity feed (leadrelay.dashboard) ride on the events function's
# mapping below: every change of a lead item (its counters follow the new image) and of a follow-up
# item (open/missed/done per due day); new timeline entries come through the events' own pattern.
# Not a third mapping: DynamoDB Streams serves two readers per shard without throttling.
AGGREGATE_FILTER_PATTERNS: tuple[dict[str, Any], ...] = (
    {"dynamodb": {"Keys": {"sk": {"S": ["LEAD"]}}}},
    {"dynamodb": {"NewImage": {"followup_id": {"S": [{"exists": True}]}}}},
    {"eventName": ["REMOVE"], "dynamodb": {"OldImage": {"followup_id": {"S": [{"exists": True}]}}}},
)
# Domain events leave through the stream, never by a publish call after the commit: a timeline
# entry (written inside the transaction of the change it records) and a quarantined request are
# new items, and each one's INSERT is forwarded to the bus by the events function. Updates (an
# erasure rewriting a timeline) and TTL deletions are not events.
EVENT_FILTER_PATTERNS: tuple[dict[str, Any], ...] = (
    {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"sk": {"S": [{"prefix": "TL#"}]}}}},
    {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"pk": {"S": [{"prefix": "QUARANTINE#"}]}}}},
)

# The events function's mapping: the same failure contract as the router's (bisect, per-record
# failures, an on-failure queue), its own filter.
EVENTS_STREAM = StreamMapping(filter_patterns=EVENT_FILTER_PATTERNS + AGGREGATE_FILTER_PATTERNS)

# Timeline kinds forwarded under other detail-types: the names these events had before they left
# through the stream, so existing rules keep matching (a touchpoint was published as lead.merged, a
# reopening as lead.merged and lead.reopened, a manual reassignment as lead.assigned). A kind not
# listed leaves under its own name.
EVENT_DETAIL_TYPES: dict[str, tuple[str, ...]] = {
    "lead.touchpoint": ("lead.merged",),
    "lead.reopened": ("lead.reopened", "lead.merged"),
    "lead.reassigned": ("lead.reassigned", "lead.assigned"),
}
# A quarantined request (no lead yet) leaves as this detail-type.
QUARANTINED_DETAIL_TYPE = "lead.quarantined"


@dataclass(frozen=True)
class Schedule:
    """A schedule that invokes the followup function with a fixed `detail`."""

    name: str
    rate_minutes: int
    task: str
    description: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    def event_detail(self) -> dict[str, Any]:
        """The `detail` the followup function receives: `{"task": …}` plus any fixed detail, so one
        function tells its schedules apart (infra's rule input and the local ticker both send it)."""
        return {"task": self.task, **self.detail}


SCHEDULES: tuple[Schedule, ...] = (
    Schedule(
        name="FollowupTick",
        rate_minutes=1,
        task="tick",
        description="Due follow-ups, SLA re-distribution, missed follow-up escalation, nurture.",
    ),
    Schedule(
        name="PullSources",
        rate_minutes=1,
        task="pull",
        # Every minute, but each source is called only when its provider's limit allows
        # (IndiaMART: once per 5 minutes); a minute's tick keeps the calls close to that limit.
        description="Pull leads from providers with a pull API (IndiaMART, 99acres, MagicBricks, Housing).",
    ),
)

# Unassigned leads waiting this long (the tick's UnassignedLeads above 0 for as many minutes in a
# row) raise the LeadsWaiting alarm; a lead the router never decided raises StuckLeads.
LEAD_WAITING_ALARM_MINUTES = 15

# Each function's Lambda timeout in seconds: infra deploys these, and the local stack gives its
# handlers a context with the same time left, so time-aware code (the pull round) behaves alike.
# API Gateway gives up after 29 s: a webhook (ingest) should be answered long before, and the api
# function's CSV import stops taking rows in time to answer.
FUNCTION_TIMEOUT_S: dict[str, int] = {"ingest": 10, "route": 30, "followup": 60, "api": 15}
# The events function (stream → bus) has its own entry: several developers edit the line above.
FUNCTION_TIMEOUT_S["events"] = 30

# Content types API Gateway hands to Lambda base64-encoded (the REST API's binaryMediaTypes; the
# local gateway encodes the same ones, and any body that is not UTF-8, which AWS would mangle):
# CSV files exported from Excel are often Windows-1252, and their bytes must arrive intact.
BINARY_MEDIA_TYPES: tuple[str, ...] = (
    "text/csv",
    "application/csv",
    "application/vnd.ms-excel",
    "application/octet-stream",
    "multipart/form-data",
)

EVENT_BUS_ENV = "EVENT_BUS_NAME"
EVENT_SOURCE = "leadrelay"
DLQ_ENV = "ROUTE_DLQ_URL"
EVENTS_DLQ_ENV = "EVENTS_DLQ_URL"


@dataclass(frozen=True)
class IdempotencyStore:
    """Where the API keeps `Idempotency-Key` records (Powertools' idempotency utility): items of
    `table` under one partition value, the key's hash as the sort key, expiring by the table's TTL
    attribute after `expires_after_s` (a retry after that runs again)."""

    table: TableDef
    partition_value: str
    expires_after_s: int


# Creating POSTs of the REST API honour `Idempotency-Key` for 24 hours (an offline phone syncs
# within a day; a key older than that is a new request).
API_IDEMPOTENCY = IdempotencyStore(table=ORG_TABLE, partition_value="IDEMPOTENCY#api", expires_after_s=24 * 3600)


@dataclass(frozen=True)
class ExportsBucket:
    """Large CSV exports (`leadrelay.export_job`): the S3 bucket the export function writes and the
    api function hands out presigned GETs for. Retention is DPDP's: the bucket's lifecycle deletes
    a file `retention_days` after it was written, and the job's records expire with it (an erasure
    request removes the files holding the person at once: docs/api.md#large-exports)."""

    env_var: str = "EXPORTS_BUCKET"
    function_env_var: str = "EXPORT_FUNCTION_NAME"
    prefix: str = "exports/"
    retention_days: int = 2
    # Multipart uploads a crashed runner left unfinished are aborted (their parts deleted) after this.
    abort_incomplete_upload_days: int = 1
    # A presigned download URL works this long; each status read issues a new one.
    url_expires_s: int = 900
    # Above this many rows a selection is exported in the background (202). Measured (docs/api.md#large-exports):
    # a typical row is ~340 bytes, so 5,000 rows are ~1.7 MB, and formatting them took 350 ms of one
    # CPU here (~2.5 s at the api function's 256 MB, plus 25 index reads): well inside its 15 s
    # timeout and API Gateway's 29 s, and under Lambda's 6 MB response limit (API Gateway's is 10 MB).
    sync_max_rows: int = 5000
    # Rows can be long (a 2,000-character Devanagari message makes a 6.5 KB row): one answer also
    # stops at this many bytes (checked after each page of at most 200 rows, so it stays under 6 MB),
    # and a first answer that reaches it turns into a background export.
    sync_max_bytes: int = 4 * 1024 * 1024


EXPORTS = ExportsBucket()
# The export function runs a job for up to 15 minutes, then hands over to a successor (export_job).
FUNCTION_TIMEOUT_S["export"] = 900


@dataclass(frozen=True)
class OfferTimers:
    """Offer expiry exact to the second (docs/routing.md#offers): with an offer timeout below the
    tick, or not a multiple of it, each offer gets a one-time EventBridge Scheduler schedule (in
    the group named by `group_env`, `at(...)`, deleted after it fires) that invokes the followup
    function with `{"task": task, …}` at the offer's expiry; the minute tick stays the safety net.
    The local stack's ticker fires them on its clock."""

    group_env: str = "OFFER_SCHEDULE_GROUP"
    role_env: str = "OFFER_SCHEDULER_ROLE_ARN"
    target_env: str = "OFFER_TARGET_ARN"
    dlq_env: str = "OFFER_DLQ_ARN"
    task: str = "expire_offer"
    tick_seconds: int = 60
    # The schedule's retry policy: a failed invoke is retried this often, for at most this long
    # (then dead-lettered; the tick expires the offer anyway).
    retry_attempts: int = 3
    max_event_age_s: int = 300


OFFER_TIMERS = OfferTimers()
