"""Builds the domain's services from the environment, once per process (Lambda container or the
local stack). `reset()` forgets them when the environment changes (tests, a new local stack).

Each function imports only what it uses: the router never loads the capture path (phone
parsing, source adapters) and ingest never loads the routing engine, which keeps cold starts short.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from leadrelay.clock import get_clock
from leadrelay.config import get_settings, reset_settings
from leadrelay.store.leads import LeadRepository
from leadrelay.store.org import OrgRepository

if TYPE_CHECKING:
    from leadrelay.capture import CaptureService
    from leadrelay.routing.router import Router


@lru_cache(maxsize=1)
def lead_repository() -> LeadRepository:
    return LeadRepository(get_settings().leads_table)


@lru_cache(maxsize=1)
def org_repository() -> OrgRepository:
    return OrgRepository(get_settings().org_table)


def capture_service() -> CaptureService:
    from leadrelay.capture import CaptureService

    return CaptureService(
        leads=lead_repository(),
        org=org_repository(),
        clock=get_clock(),
        settings=get_settings(),
    )


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
    )


def reset() -> None:
    """Forget settings, clients and repositories (the environment changed)."""
    from leadrelay.events.bus import events_client
    from leadrelay.store.dynamo import reset_client

    reset_settings()
    reset_client()
    events_client.cache_clear()
    for cached in (lead_repository, org_repository):
        cached.cache_clear()
