"""`GET /exports/{export_id}`: how a background CSV export is going, and once done a short-lived
presigned URL to download it (a new URL on every read). Only the person who asked for the export,
or an admin, may read it; anyone else gets 404, as if it did not exist.

A job that no runner has touched for `STALLED_AFTER` (its runner crashed and Lambda's retries
were spent, or the launch itself failed) is launched again here: it resumes from its last part.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BaseModel, ConfigDict, Field

from api_routes.common import NotFound, audit_read, principal
from leadrelay import wiring
from leadrelay.auth import Role
from leadrelay.clock import get_clock, iso
from leadrelay.definitions import EXPORTS
from leadrelay.models.export_job import ExportStatus

router = Router()
logger = Logger(service="api")

STALLED_AFTER = timedelta(minutes=2)
ExportId = Annotated[str, Path(min_length=1, max_length=64, description="`export_id` of the 202 answer")]


class ExportView(BaseModel):
    """A background export as its creator sees it."""

    model_config = ConfigDict(defer_build=True)
    export_id: str
    status: ExportStatus = Field(description="queued, running, done, failed, or expired (past retention or erased)")
    rows: int = Field(description="rows written so far (all of them once done)")
    url: str | None = Field(None, description="done: a presigned GET of the CSV file, valid until `expires_at`")
    expires_at: str | None = Field(None, description="when `url` stops working (ISO UTC)")
    error: str | None = Field(None, description="failed or expired: why")
    created_at: str
    finished_at: str | None = None


@router.get(
    "/exports/<export_id>",
    summary="A background export's status, and its download URL once done",
    tags=["leads"],
    responses={
        200: {
            "description": "the export",
            "content": {"application/json": {"examples": {"done": {"value": {
                "export_id": "01KB2C3D4E5F6G7H8J9K0M1N2P", "status": "done", "rows": 12840,
                "url": "https://leadrelay-exports.s3.ap-south-1.amazonaws.com/exports/…?X-Amz-Signature=…",
                "expires_at": "2026-11-23T12:45:00.000Z", "error": None,
                "created_at": "2026-11-23T12:29:41.000Z", "finished_at": "2026-11-23T12:30:02.000Z",
            }}}}},
        },
        404: {"description": "no such export, or another person's"},
    },
)  # fmt: skip
def get_export(export_id: ExportId) -> ExportView:
    who = principal(router)
    job = wiring.export_records().get(export_id)
    if job is None or (who.role is not Role.ADMIN and job.user_id != (who.user_id or who.username)):
        raise NotFound(f"there is no export {export_id!r} of yours")
    now = get_clock().now()
    status = job.shown_status(now)
    if job.stalled(now, STALLED_AFTER):
        logger.warning("export stalled; launching a runner again", extra={"export_id": export_id})
        try:
            wiring.launch_export(export_id)
        except Exception:
            logger.exception("could not launch the export runner", extra={"export_id": export_id})
    url = expires_at = None
    if status is ExportStatus.DONE:
        until = min(now + timedelta(seconds=EXPORTS.url_expires_s), job.expires_at)
        url = wiring.export_files().url(job.key, max(1, int((until - now).total_seconds())))
        expires_at = iso(until)
        audit_read(who, "lead export download link", count=job.rows)
    return ExportView(
        export_id=job.export_id, status=status, rows=job.rows, url=url, expires_at=expires_at,
        error=_why(job.error, status), created_at=iso(job.created_at),
        finished_at=iso(job.finished_at) if job.finished_at else None,
    )  # fmt: skip


def _why(error: str | None, status: ExportStatus) -> str | None:
    if status is ExportStatus.EXPIRED and error is None:
        return f"the file was deleted {EXPORTS.retention_days} days after it was written (retention)"
    return error if status is not ExportStatus.DONE else None


def status_body(export_id: str) -> dict[str, Any]:
    """The 202 answer that starts a background export."""
    return {"export_id": export_id, "status": ExportStatus.QUEUED.value, "status_url": f"/exports/{export_id}"}
