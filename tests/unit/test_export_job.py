"""The background export job as a state machine, with in-memory records and files: it claims,
writes parts, completes once, survives a crash anywhere and never leaves a second or a half file.

Given a selection of leads and a runner over fakes
When it runs (or crashes, or runs out of time, or two run at once)
Then the file holds each row exactly once, in the synchronous export's order.
"""

from __future__ import annotations

import copy
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leadrelay.auth import Principal, Role
from leadrelay.errors import Refused
from leadrelay.export_job import ExportRunner, new_job, remove_exports_holding
from leadrelay.models.export_job import ExportJob, ExportStatus

START = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)
ADMIN = Principal(username="asha", role=Role.ADMIN, user_id="u-asha")


@dataclass
class Row:
    lead_id: str


class Crash(BaseException):
    """The runner's process dies here (nothing in it runs after: not even an `except Exception`)."""


@dataclass
class MemoryRecords:
    jobs: dict[str, ExportJob] = field(default_factory=dict)
    index: dict[str, dict[int, list[str]]] = field(default_factory=dict)

    def _held(self, job: ExportJob, runner: str) -> ExportJob | None:
        stored = self.jobs[job.export_id]
        return stored if stored.runner == runner and stored.status is ExportStatus.RUNNING else None

    def get(self, export_id: str) -> ExportJob | None:
        return copy.deepcopy(self.jobs.get(export_id))

    def claim(self, export_id: str, runner: str, now: datetime, lease_until: datetime) -> ExportJob | None:
        stored = self.jobs[export_id]
        if not stored.claimable(now):
            return None
        stored.status, stored.runner, stored.lease_until = ExportStatus.RUNNING, runner, lease_until
        return copy.deepcopy(stored)

    def begin_upload(self, job: ExportJob, runner: str, upload_id: str) -> bool:
        stored = self._held(job, runner)
        if stored is not None:
            stored.upload_id = upload_id
        return stored is not None

    def commit_part(self, job: ExportJob, runner: str, part: dict[str, Any], cursor: str | None,
                    lead_ids: list[str], last: bool) -> bool:  # fmt: skip
        self.index.setdefault(job.export_id, {})[part["n"]] = list(lead_ids)
        stored = self._held(job, runner)
        if stored is None or len(stored.parts) != len(job.parts):
            return False
        stored.parts.append(part)
        stored.rows += part["rows"]
        stored.cursor, stored.completing = cursor, last
        return True

    def finish(self, job: ExportJob, runner: str, now: datetime) -> bool:
        stored = self._held(job, runner)
        if stored is not None:
            stored.status, stored.finished_at, stored.runner, stored.lease_until = ExportStatus.DONE, now, None, None
        return stored is not None

    def fail(self, job: ExportJob, runner: str, error: str, now: datetime) -> bool:
        stored = self._held(job, runner)
        if stored is not None:
            stored.status, stored.error, stored.runner, stored.lease_until = ExportStatus.FAILED, error, None, None
        return stored is not None

    def release(self, job: ExportJob, runner: str) -> bool:
        stored = self._held(job, runner)
        if stored is not None:
            stored.runner, stored.lease_until = None, None
        return stored is not None

    def live_exports(self, since: datetime) -> list[str]:
        return [i for i, job in self.jobs.items() if job.created_at >= since]

    def holds_any(self, export_id: str, lead_ids: list[str]) -> bool:
        return any(set(ids) & set(lead_ids) for ids in self.index.get(export_id, {}).values())

    def mark_removed(self, export_id: str, reason: str) -> ExportJob | None:
        stored = self.jobs[export_id]
        before = copy.deepcopy(stored)
        stored.status, stored.error, stored.runner, stored.lease_until = ExportStatus.EXPIRED, reason, None, None
        return before


@dataclass
class MemoryFiles:
    uploads: dict[str, dict[int, bytes]] = field(default_factory=dict)
    objects: dict[str, bytes] = field(default_factory=dict)
    crash_on_part: int | None = None
    crash_on_complete: bool = False
    puts: int = 0

    def start(self, key: str) -> str:
        upload_id = secrets.token_hex(4)
        self.uploads[upload_id] = {}
        return upload_id

    def put_part(self, key: str, upload_id: str, number: int, body: bytes) -> str:
        if number == self.crash_on_part:
            self.crash_on_part = None
            raise Crash(f"died uploading part {number}")
        self.uploads[upload_id][number] = body  # the same number again replaces the part
        self.puts += 1
        return f'"etag-{number}-{len(body)}"'

    def complete(self, key: str, upload_id: str, parts: list[dict[str, Any]]) -> None:
        if upload_id not in self.uploads:
            assert key in self.objects, "completing an upload that neither exists nor completed"
            return
        assert key not in self.objects, "a second file under the same key"
        uploaded = self.uploads.pop(upload_id)
        self.objects[key] = b"".join(uploaded[p["n"]] for p in parts)
        if self.crash_on_complete:
            self.crash_on_complete = False
            raise Crash("died right after S3 completed the upload")

    def abort(self, key: str, upload_id: str) -> None:
        self.uploads.pop(upload_id, None)

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)


@dataclass
class World:
    ids: list[str]
    records: MemoryRecords = field(default_factory=MemoryRecords)
    files: MemoryFiles = field(default_factory=MemoryFiles)
    now: datetime = START
    time_left: float = 900.0
    relaunched: list[str] = field(default_factory=list)
    logged: list[tuple[int, list[str]]] = field(default_factory=list)
    who: Principal | None = ADMIN
    refuse_after: int | None = None

    def select(self, who: Principal, query: dict[str, Any], cursor: str | None, limit: int) -> Any:
        start = int(cursor or 0)
        if self.refuse_after is not None and start >= self.refuse_after:
            raise Refused("not_found", "there is no agent 'a-9' you can see", 404)
        page = [Row(i) for i in self.ids[start : start + limit]]
        end = start + limit
        return page, (str(end) if end < len(self.ids) else None)

    def runner(self, part_bytes: int = 64) -> ExportRunner:
        return ExportRunner(
            records=self.records, files=self.files, select=self.select, principal_of=lambda job: self.who,
            to_csv=lambda rows, head, query: ("\ufeffid\r\n" if head else "") + "".join(f"{r.lead_id}\r\n" for r in rows),
            log_access=lambda who, job, n, ids: self.logged.append((n, list(ids))), now=lambda: self.now,
            time_left_s=lambda: self.time_left, relaunch=self.relaunched.append, part_bytes=part_bytes,
        )  # fmt: skip

    def queue(self) -> ExportJob:
        job = new_job("E1", ADMIN, {"status": None}, self.now, timedelta(days=2), "20261123-0630")
        self.records.jobs[job.export_id] = job
        return job

    def file(self, job: ExportJob) -> list[str]:
        text = self.files.objects[job.key].decode()
        assert text.startswith("\ufeffid\r\n") and text.count("\ufeff") == 1
        return text.removeprefix("\ufeffid\r\n").split("\r\n")[:-1]


IDS = [f"L{n:04d}" for n in range(1000)]


def test_a_queued_job_is_written_part_by_part_and_completed_once() -> None:
    # Given a queued export of 1,000 leads and parts of about 2 KB
    world = World(IDS)
    job = world.queue()
    # When a runner runs it
    done = world.runner(part_bytes=2048).run(job.export_id)
    # Then it is done with every row once, in order, in several parts, each part access-logged
    assert done is not None and done.status is ExportStatus.DONE and done.rows == 1000
    stored = world.records.jobs[job.export_id]
    assert stored.status is ExportStatus.DONE and len(stored.parts) > 2 and stored.runner is None
    assert world.file(stored) == IDS
    assert [n for n, _ in world.logged] == [p["n"] for p in stored.parts]
    assert sum(len(ids) for _, ids in world.logged) == 1000
    assert world.records.holds_any(job.export_id, ["L0999"])


def test_an_empty_selection_is_a_file_with_only_the_header() -> None:
    world = World([])
    job = world.queue()
    assert world.runner().run(job.export_id).status is ExportStatus.DONE  # type: ignore[union-attr]
    assert world.file(world.records.jobs[job.export_id]) == []


def test_a_runner_that_dies_mid_upload_is_resumed_from_the_last_part_and_no_row_is_doubled() -> None:
    # Given a runner that dies uploading its third part
    world = World(IDS)
    job = world.queue()
    world.files.crash_on_part = 3
    with pytest.raises(Crash):
        world.runner(part_bytes=2048).run(job.export_id)
    crashed = world.records.jobs[job.export_id]
    assert crashed.status is ExportStatus.RUNNING and len(crashed.parts) == 2
    # When another runner comes before the lease lapses, it leaves the job alone
    assert world.runner(part_bytes=2048).run(job.export_id) is None
    # And once the lease has lapsed, the next runner resumes from the recorded cursor
    world.now += timedelta(minutes=17)
    done = world.runner(part_bytes=2048).run(job.export_id)
    # Then the one file holds every row exactly once
    assert done is not None and done.status is ExportStatus.DONE and done.rows == 1000
    assert world.file(world.records.jobs[job.export_id]) == IDS


def test_a_runner_that_hits_an_error_gives_the_job_back_so_a_retry_resumes_it_at_once() -> None:
    # Given S3 refusing the runner's second part (an error it survives, unlike a crash)
    world = World(IDS)
    job = world.queue()
    real_put = world.files.put_part

    def refusing(key: str, upload_id: str, number: int, body: bytes) -> str:
        if number == 2:
            raise RuntimeError("SlowDown")
        return real_put(key, upload_id, number, body)

    world.files.put_part = refusing  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        world.runner(part_bytes=2048).run(job.export_id)
    # Then the job is released, not leased for 16 minutes
    assert world.records.jobs[job.export_id].lease_until is None
    # And Lambda's retry, moments later, resumes it to the end
    world.files.put_part = real_put  # type: ignore[method-assign]
    assert world.runner(part_bytes=2048).run(job.export_id).status is ExportStatus.DONE  # type: ignore[union-attr]
    assert world.file(world.records.jobs[job.export_id]) == IDS


def test_a_runner_that_dies_after_s3_completed_the_file_is_finished_without_a_second_file() -> None:
    world = World(IDS[:50])
    job = world.queue()
    world.files.crash_on_complete = True
    with pytest.raises(Crash):
        world.runner().run(job.export_id)
    assert world.records.jobs[job.export_id].completing
    world.now += timedelta(minutes=17)
    assert world.runner().run(job.export_id).status is ExportStatus.DONE  # type: ignore[union-attr]
    assert world.file(world.records.jobs[job.export_id]) == IDS[:50]
    assert len(world.files.objects) == 1


def test_a_runner_that_lost_its_lease_before_recording_its_upload_aborts_it() -> None:
    # Given a runner whose lease is taken (an erasure stops the job) while S3 starts its upload
    world = World(IDS[:50])
    job = world.queue()
    real_start = world.files.start

    def start_then_lose(key: str) -> str:
        world.records.mark_removed(job.export_id, "erased meanwhile")
        return real_start(key)

    world.files.start = start_then_lose  # type: ignore[method-assign]
    # When it runs, then it stops without a file and without an upload nobody would ever know of
    assert world.runner().run(job.export_id).status is ExportStatus.RUNNING  # type: ignore[union-attr]
    assert world.files.uploads == {} and world.files.objects == {}
    assert world.records.jobs[job.export_id].upload_id is None


def test_a_runner_out_of_time_hands_over_to_a_successor_that_finishes() -> None:
    # Given an invocation with too little time left to read on
    world = World(IDS, time_left=10.0)
    job = world.queue()
    # When it runs, it releases the job and launches a successor, writing nothing
    left = world.runner().run(job.export_id)
    assert left is not None and left.status is ExportStatus.RUNNING and world.relaunched == [job.export_id]
    assert world.records.jobs[job.export_id].lease_until is None
    # And the successor, with time, finishes at once (no lease to wait for)
    world.time_left = 900.0
    assert world.runner(part_bytes=2048).run(job.export_id).status is ExportStatus.DONE  # type: ignore[union-attr]
    assert world.file(world.records.jobs[job.export_id]) == IDS


def test_two_runners_launched_together_write_one_file() -> None:
    world = World(IDS)
    job = world.queue()
    first, second = world.runner(part_bytes=2048), world.runner(part_bytes=2048)
    assert first.run(job.export_id).status is ExportStatus.DONE  # type: ignore[union-attr]
    assert second.run(job.export_id) is None
    assert len(world.files.objects) == 1 and world.file(world.records.jobs[job.export_id]) == IDS


def test_a_user_disabled_before_the_job_runs_gets_no_file() -> None:
    world = World(IDS, who=None)
    job = world.queue()
    failed = world.runner().run(job.export_id)
    assert failed is not None and failed.status is ExportStatus.FAILED and "no longer an active user" in failed.error
    assert world.files.objects == {} and world.files.uploads == {}


def test_a_scope_that_no_longer_allows_the_selection_fails_the_job_and_discards_its_parts() -> None:
    world = World(IDS, refuse_after=400)
    job = world.queue()
    failed = world.runner(part_bytes=2048).run(job.export_id)
    assert failed is not None and failed.status is ExportStatus.FAILED and failed.error.startswith("not_found")
    assert world.files.objects == {} and world.files.uploads == {}


def test_a_done_export_past_retention_shows_as_expired_and_a_stalled_one_is_noticed() -> None:
    job = new_job("E2", ADMIN, {}, START, timedelta(days=2), "x")
    assert job.key.startswith("exports/") and "E2" not in job.key and len(job.key.split("/")[1]) >= 32
    assert job.stalled(START + timedelta(minutes=3), timedelta(minutes=2))
    assert not job.stalled(START + timedelta(minutes=1), timedelta(minutes=2))
    job.status = ExportStatus.DONE
    assert job.shown_status(START + timedelta(days=1)) is ExportStatus.DONE
    assert job.shown_status(START + timedelta(days=2)) is ExportStatus.EXPIRED
    assert not job.stalled(START + timedelta(days=1), timedelta(minutes=2))


def test_erasure_removes_the_files_holding_the_person_and_stops_unfinished_exports() -> None:
    # Given a done export holding L0007, a done one without it, and one still running
    world = World(IDS[:20])
    holding = world.queue()
    world.runner().run(holding.export_id)
    world.ids = IDS[100:120]
    other = new_job("E3", ADMIN, {}, world.now, timedelta(days=2), "y")
    world.records.jobs["E3"] = other
    world.runner().run("E3")
    running = new_job("E4", ADMIN, {}, world.now, timedelta(days=2), "z")
    world.records.jobs["E4"] = running
    world.records.claim("E4", "r", world.now, world.now + timedelta(minutes=16))
    world.records.jobs["E4"].upload_id = world.files.start(running.key)
    # When the person behind L0007 is erased
    removed = remove_exports_holding(["L0007"], records=world.records, files=world.files,
                                     since=START - timedelta(days=3), reason="erasure X")  # fmt: skip
    # Then the file holding them is gone, the unfinished export is stopped, the other file stays
    assert sorted(removed) == [holding.export_id, "E4"]
    assert holding.key not in world.files.objects and other.key in world.files.objects
    assert world.records.jobs[holding.export_id].status is ExportStatus.EXPIRED
    assert world.records.jobs["E4"].status is ExportStatus.EXPIRED and world.files.uploads == {}
    # And the running export's runner can write nothing more
    assert not world.records.commit_part(running, "r", {"n": 1, "etag": "e", "rows": 1}, None, ["L1"], True)
