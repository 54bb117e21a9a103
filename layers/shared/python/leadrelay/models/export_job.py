"""A background CSV export's record (`leadrelay.export_job` runs it; `store/exports.py` keeps it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

# Ids per lead-id index item and per access-log entry: 5,000 ULIDs ≈ 140 KB, under DynamoDB's 400 KB.
IDS_PER_ITEM = 5000


class ExportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    EXPIRED = "expired"  # past retention, or removed by an erasure request


@dataclass
class ExportJob:
    """One background export (the job record)."""

    export_id: str
    user_id: str
    username: str
    created_at: datetime
    expires_at: datetime  # the file's (and the record's) end: the bucket's retention
    key: str  # the object key: random, never derived from the id
    query: dict[str, Any]  # the filters and search of GET /leads/export, and date_format
    status: ExportStatus = ExportStatus.QUEUED
    rows: int = 0
    parts: list[dict[str, Any]] = field(default_factory=list)  # [{"n", "etag", "rows"}], S3 has them
    cursor: str | None = None  # where the part after the last one starts
    upload_id: str | None = None
    completing: bool = False  # every part is up; only CompleteMultipartUpload remains
    runner: str | None = None
    lease_until: datetime | None = None
    error: str | None = None
    finished_at: datetime | None = None

    def claimable(self, now: datetime) -> bool:
        """Whether a runner may take the job now: unfinished, and nobody's lease is live."""
        if self.status not in (ExportStatus.QUEUED, ExportStatus.RUNNING):
            return False
        return self.lease_until is None or self.lease_until <= now

    def stalled(self, now: datetime, grace: timedelta) -> bool:
        """Unfinished with no live runner for `grace` (its runner crashed, or it was never launched)."""
        if self.status not in (ExportStatus.QUEUED, ExportStatus.RUNNING):
            return False
        since = self.lease_until or self.created_at
        return since + grace <= now

    def shown_status(self, now: datetime) -> ExportStatus:
        if self.status is ExportStatus.DONE and now >= self.expires_at:
            return ExportStatus.EXPIRED
        return self.status
