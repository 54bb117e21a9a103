"""The search backfill: leads stored before the search index existed get their search items."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, ConfigDict, Field

from api_routes.common import BadRequest, principal
from leadrelay import wiring
from leadrelay.auth import Role

router = Router()

REINDEX_BUDGET_S = 8.0  # the api function has 15 s; leave room to answer


class ReindexRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    cursor: str | None = Field(default=None, max_length=2048, description="`next` from the previous call")
    max_leads: int = Field(default=500, ge=1, le=5000, description="leads read in this call at most")


class ReindexAnswer(BaseModel):
    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={"examples": [{"leads": 500, "indexed": 12, "items": 31, "changed": 0, "next": "eyJwayI6…"}]},
    )

    leads: int = Field(description="leads read in this call")
    indexed: int = Field(description="leads that lacked search items and got them")
    items: int = Field(description="search items written")
    changed: int = Field(description="leads skipped because they changed meanwhile (their own write indexed them)")
    next: str | None = Field(description="call again with this cursor; null: every lead was read")


@router.post(
    "/search/reindex",
    summary="Give leads stored before the search index existed their search items (admin), a slice per call",
    description="A one-off maintenance job (`leadrelay search reindex` calls it until `next` is null). It reads "
    "every lead through the `by_received` index, at most `max_leads` or about eight seconds per call, and writes "
    "only the search items a lead lacks: idempotent, safe while leads arrive and are edited, and a lead already "
    "indexed is left alone.",
    tags=["leads"],
    responses={200: {"description": "one slice done", "content": {"application/json": {"model": ReindexAnswer}}}},
)
def reindex(body: ReindexRequest) -> dict[str, Any]:
    principal(router).require(Role.ADMIN)
    deadline = time.monotonic() + REINDEX_BUDGET_S
    try:
        done = wiring.search_backfill().run(body.cursor, body.max_leads, lambda: time.monotonic() < deadline)
    except ValueError as exc:
        raise BadRequest("invalid_cursor", str(exc)) from exc
    return asdict(done)
