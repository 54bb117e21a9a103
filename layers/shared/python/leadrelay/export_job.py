"""A large CSV export, run in the background: the job's states and the runner that writes the file.

`GET /leads/export` answers 202 with an export id when the selection is larger than one answer
may carry (or the client asks for it); the job then writes the same CSV (`leadrelay.export`) to
the exports bucket as an S3 multipart upload, part by part:

    queued ──claim──▶ running ──last part──▶ completing ──▶ done
                         │  └─ time nearly up: release the lease, launch again (resumes)
                         └─ refused (the user is gone, the scope no longer allows it) ──▶ failed

Crash safety: the job record holds the cursor after the last part S3 has, and a lease. A runner
that dies leaves a lease that lapses; the next one (Lambda's retry, or the status poll re-launching
a stalled job) claims it and re-reads from the recorded cursor. A part is uploaded under its own
number, so an upload repeated after a crash replaces the first one; the object appears once, when
the upload completes, under the key chosen at creation: never a half file, never a second file.

The caller's scope is decided again at job time: the person's user record is read when the job
runs, so a manager moved to another team meanwhile exports the new team (or nothing).

Pure domain: records, files, selection, identity and the access log are ports passed in.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from leadrelay.auth import Principal
from leadrelay.errors import Refused
from leadrelay.models import Lead
from leadrelay.models.export_job import ExportJob, ExportStatus

# S3 takes parts of at least 5 MiB (except the last); a part is written once the CSV since the
# last part reaches this size.
PART_BYTES = 5 * 1024 * 1024
READ_PAGE = 200
# A runner stops reading when less than this is left of its invocation, and launches a successor.
STOP_MARGIN_S = 30.0


def new_job(
    export_id: str, who: Principal, query: dict[str, Any], now: datetime, retention: timedelta, stamp: str
) -> ExportJob:
    """A queued job; its key holds 192 random bits, so knowing an export id reveals nothing."""
    key = f"exports/{secrets.token_urlsafe(24)}/leads-{stamp}.csv"
    return ExportJob(
        export_id=export_id, user_id=who.user_id or who.username, username=who.username, created_at=now,
        expires_at=now + retention, key=key, query=dict(query),
    )  # fmt: skip


class JobRecords(Protocol):
    """The job records (conditional writes: each write names the runner that holds the lease)."""

    def claim(self, export_id: str, runner: str, now: datetime, lease_until: datetime) -> ExportJob | None: ...
    def begin_upload(self, job: ExportJob, runner: str, upload_id: str) -> bool: ...
    def commit_part(self, job: ExportJob, runner: str, part: dict[str, Any], cursor: str | None,
                    lead_ids: list[str], last: bool) -> bool: ...  # fmt: skip
    def finish(self, job: ExportJob, runner: str, now: datetime) -> bool: ...
    def fail(self, job: ExportJob, runner: str, error: str, now: datetime) -> bool: ...
    def release(self, job: ExportJob, runner: str) -> bool: ...


class ExportFiles(Protocol):
    """The exports bucket."""

    def start(self, key: str) -> str: ...
    def put_part(self, key: str, upload_id: str, number: int, body: bytes) -> str: ...
    def complete(self, key: str, upload_id: str, parts: list[dict[str, Any]]) -> None: ...
    def abort(self, key: str, upload_id: str) -> None: ...
    def delete(self, key: str) -> None: ...


class LostLease(Exception):
    """Another runner (or an erasure) changed the job under this one: stop without writing."""


SelectPage = Callable[[Principal, dict[str, Any], str | None, int], tuple[list[Lead], str | None]]


@dataclass
class ExportRunner:
    """Runs one job as far as its invocation's time allows."""

    records: JobRecords
    files: ExportFiles
    select: SelectPage  # one page of the selection, in the principal's scope (lead_selection)
    principal_of: Callable[[ExportJob], Principal | None]  # the user's record now; None: gone or disabled
    to_csv: Callable[[list[Lead], bool, dict[str, Any]], str]  # rows (with the BOM and header when True)
    log_access: Callable[[Principal, ExportJob, int, list[str]], None]
    now: Callable[[], datetime]
    time_left_s: Callable[[], float]
    relaunch: Callable[[str], None]
    lease: timedelta = timedelta(minutes=16)
    part_bytes: int = PART_BYTES
    stop_margin_s: float = STOP_MARGIN_S

    def run(self, export_id: str) -> ExportJob | None:
        """Claim the job and write it; the job as left, or None when it was not claimable."""
        runner = secrets.token_hex(8)
        job = self.records.claim(export_id, runner, self.now(), self.now() + self.lease)
        if job is None:
            return None
        try:
            return self._run(job, runner)
        except LostLease:
            return job
        except Exception:
            # An error the runner survived (S3 or DynamoDB refusing): give the job back at once, so
            # Lambda's retry of this invocation resumes it instead of waiting for the lease to lapse.
            with suppress(Exception):
                self.records.release(job, runner)
            raise

    def _run(self, job: ExportJob, runner: str) -> ExportJob:
        who = self.principal_of(job)
        if who is None:
            return self._fail(job, runner, "the person who asked for this export is no longer an active user")
        if job.completing:
            return self._complete(job, runner)
        if job.upload_id is None:
            upload_id = self.files.start(job.key)
            if not self.records.begin_upload(job, runner, upload_id):
                self.files.abort(job.key, upload_id)  # empty, but nobody else would ever know of it
                raise LostLease()
            job.upload_id = upload_id
        cursor = job.cursor
        body = self.to_csv([], True, job.query) if not job.parts else ""
        lead_ids: list[str] = []
        while True:
            if self.time_left_s() < self.stop_margin_s:
                # What was read since the last part is read again by the successor.
                self._held(self.records.release(job, runner))
                self.relaunch(job.export_id)
                return job
            try:
                page, cursor = self.select(who, job.query, cursor, READ_PAGE)
            except Refused as refused:
                return self._fail(job, runner, f"{refused.code}: {refused}")
            body += self.to_csv(page, False, job.query)
            lead_ids += [lead.lead_id for lead in page]
            last = cursor is None
            if last or len(body.encode("utf-8")) >= self.part_bytes:
                self._put_part(job, runner, who, body, len(lead_ids), lead_ids, cursor, last)
                body, lead_ids = "", []
            if last:
                return self._complete(job, runner)

    def _put_part(self, job: ExportJob, runner: str, who: Principal, body: str, rows: int,
                  lead_ids: list[str], cursor: str | None, last: bool) -> None:  # fmt: skip
        assert job.upload_id is not None
        number = len(job.parts) + 1
        etag = self.files.put_part(job.key, job.upload_id, number, body.encode("utf-8"))
        part = {"n": number, "etag": etag, "rows": rows}
        self.log_access(who, job, number, lead_ids)  # before the part counts: no file without its log line
        self._held(self.records.commit_part(job, runner, part, cursor, lead_ids, last))
        job.parts.append(part)
        job.rows += rows
        job.cursor = cursor
        job.completing = last

    def _complete(self, job: ExportJob, runner: str) -> ExportJob:
        assert job.upload_id is not None
        self.files.complete(job.key, job.upload_id, job.parts)
        self._held(self.records.finish(job, runner, self.now()))
        job.status, job.finished_at, job.runner, job.lease_until = ExportStatus.DONE, self.now(), None, None
        return job

    def _fail(self, job: ExportJob, runner: str, error: str) -> ExportJob:
        if job.upload_id is not None:
            self.files.abort(job.key, job.upload_id)
        self._held(self.records.fail(job, runner, error, self.now()))
        job.status, job.error = ExportStatus.FAILED, error
        return job

    @staticmethod
    def _held(written: bool) -> None:
        if not written:
            raise LostLease()


QUERY_FIELDS = ("status", "source_id", "agent_id", "team_id", "tag", "received_from", "received_to", "q")


def selection_arguments(query: dict[str, Any]) -> dict[str, Any]:
    """The stored query as `lead_selection.select_leads` keyword arguments (times parsed; the status
    stays the stage id it was, resolved against the pipeline when the job runs)."""
    from leadrelay.clock import parse_iso

    arguments: dict[str, Any] = {name: query.get(name) for name in QUERY_FIELDS}
    for name in ("received_from", "received_to"):
        if arguments[name] is not None:
            arguments[name] = parse_iso(arguments[name])
    return arguments


def remove_exports_holding(
    lead_ids: list[str], *, records: Any, files: ExportFiles, since: datetime, reason: str
) -> list[str]:
    """DPDP erasure: delete every stored export file that holds one of `lead_ids`, and stop every
    unfinished export (a runner may have read the person before the erasure and not yet written
    the part: it is stopped rather than trusted). The ids of the exports removed.

    `records` lists the exports created since `since` (the oldest whose file can still exist) and
    tells which hold the leads (each written part's lead-id index)."""
    removed: list[str] = []
    for export_id in records.live_exports(since):
        job = records.get(export_id)
        if job is None or job.status is ExportStatus.EXPIRED:
            continue
        unfinished = job.status in (ExportStatus.QUEUED, ExportStatus.RUNNING)
        if not unfinished and not records.holds_any(export_id, lead_ids):
            continue
        before = records.mark_removed(export_id, reason)
        if before is None:
            continue
        if before.upload_id is not None:
            files.abort(before.key, before.upload_id)  # the parts of an unfinished upload hold data too
        files.delete(before.key)  # after the abort: a runner completing meanwhile leaves nothing behind
        removed.append(export_id)
    return removed
