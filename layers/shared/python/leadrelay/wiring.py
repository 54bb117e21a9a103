"""Builds the domain's services from the environment, once per process (Lambda container or the
local stack). `reset()` forgets them when the environment changes (tests, a new local stack).

Each function imports only what it uses, and importing this module loads no store: the router
never loads the capture path (phone parsing, source adapters), ingest never loads the routing
engine, and the events function loads only the dashboard's store, which keeps cold starts short.

Handlers and API routes take everything of the store's from here (services, and the few item
readers and error checks at the end), never from `leadrelay.store` itself.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from leadrelay.clock import get_clock
from leadrelay.config import get_settings, reset_settings

if TYPE_CHECKING:
    from datetime import datetime
    from typing import Any

    from leadrelay.capture import CaptureService
    from leadrelay.capture.source_cache import SourceCache
    from leadrelay.dashboard_counts import Definitions
    from leadrelay.export_job import ExportRunner
    from leadrelay.models import Lead, TimelineEvent
    from leadrelay.models.lead_edit import LeadEdit
    from leadrelay.routing.offers import OfferDesk
    from leadrelay.routing.reassign import Reassigner
    from leadrelay.routing.router import Router
    from leadrelay.routing.snapshot import RosterSnapshots
    from leadrelay.store.access_log import AccessLog
    from leadrelay.store.activities import ActivityLog
    from leadrelay.store.assignments import AssignmentStore
    from leadrelay.store.backtests import BacktestRuns
    from leadrelay.store.dashboard import DashboardStore
    from leadrelay.store.directory import UserDirectory
    from leadrelay.store.exports import ExportFiles, ExportRecords
    from leadrelay.store.followups import FollowupStore
    from leadrelay.store.leads import LeadRepository
    from leadrelay.store.lifecycle import LeadLifecycle
    from leadrelay.store.offer_timers import SchedulerTimers
    from leadrelay.store.offers import OfferStore
    from leadrelay.store.org import OrgRepository
    from leadrelay.store.pipeline import PipelineStore
    from leadrelay.store.presence import PresenceStore
    from leadrelay.store.quarantine import QuarantineStore
    from leadrelay.store.search import LeadSearch, SearchBackfill
    from leadrelay.store.users import UserStore
    from leadrelay.tick import FollowupTick


@lru_cache(maxsize=1)
def lead_repository() -> LeadRepository:
    from leadrelay.store.leads import LeadRepository

    return LeadRepository(get_settings().leads_table)


@lru_cache(maxsize=1)
def org_repository() -> OrgRepository:
    from leadrelay.store.org import OrgRepository

    return OrgRepository(get_settings().org_table)


def user_store() -> UserStore:
    """LeadRelay's user records (identity), read through the per-process cache."""
    from leadrelay.store.users import UserStore

    return UserStore(get_settings().org_table, get_settings().user_cache_seconds)


def user_directory() -> UserDirectory:
    """The Cognito user pool people sign in to."""
    from leadrelay.store.directory import UserDirectory

    return UserDirectory(get_settings().user_pool_id)


def access_log() -> AccessLog:
    """Who read which leads (org table, TTL per the retention setting)."""
    from leadrelay.store.access_log import AccessLog

    return AccessLog(get_settings().org_table, get_settings().access_log_retention_days)


def capture_service() -> CaptureService:
    from leadrelay.capture import CaptureService

    return CaptureService(
        leads=lead_repository(),
        org=org_repository(),
        clock=get_clock(),
        settings=get_settings(),
        sources=source_cache(),
    )


@lru_cache(maxsize=1)
def source_cache() -> SourceCache:
    """The sources a warm ingest keeps between webhooks (capture/source_cache.py)."""
    from leadrelay.capture.source_cache import SourceCache

    return SourceCache()


@lru_cache(maxsize=1)
def roster_snapshots() -> RosterSnapshots:
    """The routing state a warm router keeps between leads (one per thread, like a container)."""
    from leadrelay.routing.snapshot import RosterSnapshots

    return RosterSnapshots(org_repository())


def router() -> Router:
    from leadrelay.routing.router import Router
    from leadrelay.store.assignments import AssignmentStore

    settings = get_settings()
    return Router(
        leads=lead_repository(),
        org=org_repository(),
        assignments=AssignmentStore(settings.leads_table, settings.org_table),
        clock=get_clock(),
        timezone=settings.org_timezone,
        max_attempts=settings.max_assign_attempts,
        snapshots=roster_snapshots(),
    )


def followup_store() -> FollowupStore:
    from leadrelay.store.followups import FollowupStore

    settings = get_settings()
    return FollowupStore(settings.leads_table, settings.org_table)


def activity_log() -> ActivityLog:
    from leadrelay.store.activities import ActivityLog

    return ActivityLog(leads=lead_repository(), followups=followup_store(), clock=get_clock(),
                       timezone=get_settings().org_timezone)  # fmt: skip


def followup_tick(batch: int = 200) -> FollowupTick:
    from leadrelay.store.assignments import AssignmentStore
    from leadrelay.tick import FollowupTick

    settings = get_settings()
    return FollowupTick(
        leads=lead_repository(), org=org_repository(), followups=followup_store(), activities=activity_log(),
        assignments=AssignmentStore(settings.leads_table, settings.org_table),
        route=lambda lead, trigger: router().route(lead, trigger=trigger), clock=get_clock(),
        timezone=settings.org_timezone, batch=batch,
    )  # fmt: skip


def prepare(*services: Callable[[], object]) -> None:
    """Build the DynamoDB client and `services` now, at a Lambda function's init, so the first
    request does not pay for them (bench/lambda_layout.py measures the first call). Outside
    Lambda (tests, the local stack) they are built on first use, once the environment is set."""
    if not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return
    from leadrelay.store.dynamo import client

    client()
    for service in services:
        service()


def dashboard_store() -> DashboardStore:
    from leadrelay.store.dashboard import DashboardStore

    settings = get_settings()
    return DashboardStore(settings.org_table, settings.leads_table)


def dashboard_definitions() -> Definitions:
    """The dashboard's definitions as the organisation's settings say now."""
    return dashboard_store().definitions(get_settings().org_timezone)


def offer_store() -> OfferStore:
    from leadrelay.store.offers import OfferStore

    settings = get_settings()
    return OfferStore(settings.leads_table, settings.org_table)


def offer_desk() -> OfferDesk:
    from leadrelay.routing.offers import OfferDesk
    from leadrelay.store.assignments import SLA_CLOCK_QUEUE

    return OfferDesk(leads=lead_repository(), org=org_repository(), offers=offer_store(), clock=get_clock(),
                     timezone=get_settings().org_timezone, sla_queue=SLA_CLOCK_QUEUE)  # fmt: skip


def presence_store() -> PresenceStore:
    from leadrelay.store.presence import PresenceStore

    return PresenceStore(get_settings().leads_table, org_repository())


def reset() -> None:
    """Forget settings, clients and repositories (the environment changed)."""
    from leadrelay.events.bus import events_client
    from leadrelay.store import directory, users
    from leadrelay.store.dynamo import reset_client

    reset_settings()
    reset_client()
    directory.reset_client()
    users.forget_cached()
    events_client.cache_clear()
    from leadrelay.store.exports import s3_client

    s3_client.cache_clear()
    for cached in (lead_repository, org_repository, roster_snapshots, source_cache):
        cached.cache_clear()


# -- services the API routes and handlers used to build inline (issue #8: one wiring place) ------


def assignment_store() -> AssignmentStore:
    from leadrelay.store.assignments import AssignmentStore

    settings = get_settings()
    return AssignmentStore(settings.leads_table, settings.org_table)


def reassigner() -> Reassigner:
    from leadrelay.routing.reassign import Reassigner

    settings = get_settings()
    return Reassigner(org=org_repository(), assignments=assignment_store(), clock=get_clock(),
                      timezone=settings.org_timezone)  # fmt: skip


def lead_lifecycle() -> LeadLifecycle:
    from leadrelay.store.lifecycle import LeadLifecycle

    return LeadLifecycle(leads=lead_repository(), org_table=get_settings().org_table, clock=get_clock(),
                         pipelines=pipeline_store())  # fmt: skip


def quarantine_store() -> QuarantineStore:
    from leadrelay.store.quarantine import QuarantineStore

    return QuarantineStore(lead_repository().table)


def lead_search() -> LeadSearch:
    from leadrelay.store.search import LeadSearch

    return LeadSearch(lead_repository().table)


def search_backfill() -> SearchBackfill:
    from leadrelay.store.search import SearchBackfill

    return SearchBackfill(lead_repository().table)


def pipeline_store() -> PipelineStore:
    from leadrelay.store.pipeline import PipelineStore

    settings = get_settings()
    return PipelineStore(settings.org_table, settings.leads_table)


def export_records() -> ExportRecords:
    """Background exports' job records (org table)."""
    from leadrelay.store.exports import ExportRecords

    return ExportRecords(get_settings().org_table)


def export_files() -> ExportFiles:
    """The exports bucket."""
    from leadrelay.store.exports import ExportFiles

    return ExportFiles(get_settings().exports_bucket)


def launch_export(export_id: str) -> None:
    """Start a runner for the export (the export function, asynchronously)."""
    from leadrelay.store.exports import launch

    launch(export_id, get_settings().export_function_name)


def export_runner(time_left_s: Callable[[], float]) -> ExportRunner:
    """The background export runner, bound to the stores, the identity records and the access log."""
    from leadrelay import export, export_job
    from leadrelay.auth import Principal, RequestInfo, Role
    from leadrelay.export_job import ExportRunner, selection_arguments
    from leadrelay.lead_selection import select_leads
    from leadrelay.models.export_job import IDS_PER_ITEM, ExportJob
    from leadrelay.store.access_log import AccessEntry

    settings = get_settings()

    def principal_of(job: ExportJob) -> Principal | None:
        # The record as it is now, not as the request saw it: a moved or removed person's scope applies.
        user = user_store().get(job.user_id)
        if user is None or not user.active or user.role not in {role.value for role in Role}:
            return None
        request = RequestInfo(request_id=f"export-{job.export_id}", route=f"export job {job.export_id}")
        return Principal(username=user.username, role=Role(user.role), agent_id=user.agent_id,
                         team_id=user.team_id, user_id=user.user_id, request=request)  # fmt: skip

    def select(who: Principal, query: dict[str, object], cursor: str | None, limit: int) -> tuple[list, str | None]:  # type: ignore[type-arg]
        return select_leads(who, cursor=cursor, limit=limit, leads=lead_repository(), agents=org_repository(),
                            search=lead_search, pipeline=lambda: pipeline_store().get(),
                            **selection_arguments(dict(query)))  # fmt: skip

    def to_csv(leads: list, with_header: bool, query: dict[str, object]) -> str:  # type: ignore[type-arg]
        date_format: Literal["iso", "indian"] = "indian" if query.get("date_format") == "indian" else "iso"
        return (export.header() if with_header else "") + export.rows(leads, date_format, settings.org_timezone)

    def log_access(who: Principal, job: ExportJob, part: int, lead_ids: list[str]) -> None:
        for chunk, start in enumerate(range(0, len(lead_ids), IDS_PER_ITEM)):
            access_log().append(AccessEntry(
                at=get_clock().now(), request_id=f"export-{job.export_id}-part{part}-{chunk}",
                user_id=who.user_id or who.username, username=who.username, role=who.role.value,
                team_id=who.team_id, route=f"export job {job.export_id}", what="lead export (background)",
                lead_ids=lead_ids[start : start + IDS_PER_ITEM],
            ))  # fmt: skip

    return ExportRunner(
        records=export_records(), files=export_files(), select=select, principal_of=principal_of, to_csv=to_csv,
        log_access=log_access, now=lambda: get_clock().now(), time_left_s=time_left_s, relaunch=launch_export,
        part_bytes=export_job.PART_BYTES,
    )  # fmt: skip


def backtest_runs() -> BacktestRuns:
    """Back-test runs kept so a change they proved can be enabled (performance weighting)."""
    from leadrelay.store.backtests import BacktestRuns

    return BacktestRuns(get_settings().org_table)


def offer_timers() -> SchedulerTimers | None:
    """The one-time offer timers (EventBridge Scheduler), or None where none are configured."""
    from leadrelay.store.offer_timers import SchedulerTimers

    return SchedulerTimers.from_environment()


# -- what handlers read or check of the store's without importing it (issue #8: handlers see wiring) --


def is_transient(error: BaseException) -> bool:
    """A storage failure that goes away by itself (answered 503 with `errors.RETRY_AFTER_S`)."""
    from leadrelay.store.transient import is_transient

    return is_transient(error)


def item_from_image(image: dict[str, Any]) -> dict[str, Any]:
    """A stream record's image (attribute-value JSON) as a plain dict."""
    from leadrelay.store.dynamo import from_item

    return from_item(image)


def lead_from_item(values: dict[str, Any]) -> Lead:
    """The lead in a lead item read as a plain dict (index keys dropped)."""
    from leadrelay.store.leads import lead_from_item

    return lead_from_item(values)


def lead_from_image(image: dict[str, Any]) -> Lead:
    """The lead in a stream record's image of a lead item."""
    return lead_from_item(item_from_image(image))


def edit_lead(lead: Lead, edit: LeadEdit, now: datetime) -> tuple[Lead, list[TimelineEvent]]:
    """Apply a person's edit to the lead as read, with its history (`store/lead_edits.py`)."""
    from leadrelay.store.lead_edits import edit_lead

    return edit_lead(lead_repository().table, lead, edit, now)
