"""Large exports in the background on moto with the real handlers: 202, the export function
writes the file to the exports bucket, `GET /exports/{id}` hands out a presigned URL whose file
equals the synchronous CSV; scope, ownership, expiry, erasure and a crash mid-job.

Given the demo organisation with leads, an exports bucket and the export function "launched" by
a test launcher (the local stack runs it in a thread; on AWS Lambda's Event invoke)
When a person exports more than the synchronous limit
Then they get the same CSV, through S3, and nobody else does.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from datetime import timedelta
from typing import Any

import boto3
import pytest
import requests

from leadrelay.clock import get_clock
from tests.helpers import LambdaContext, api_event, claims
from tests.integration.flow import Flow

MAYA = {"username": "maya", "team_id": "ncr"}


@dataclasses.dataclass
class LongContext(LambdaContext):
    """The export function's context: 15 minutes to run."""

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


@pytest.fixture
def launched(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The exports bucket, and the export ids the api launched (run them with `run_jobs`)."""
    from leadrelay import wiring
    from leadrelay.local.aws import create_exports_bucket
    from leadrelay.store.exports import set_local_launcher

    bucket = create_exports_bucket(boto3.client("s3"), "test-exports")
    monkeypatch.setenv("EXPORTS_BUCKET", bucket)
    wiring.reset()
    ids: list[str] = []
    set_local_launcher(ids.append)
    yield ids
    set_local_launcher(None)


def run_jobs(launched: list[str]) -> list[dict[str, Any]]:
    import export_handler

    results = []
    while launched:
        results.append(export_handler.handler({"export_id": launched.pop(0)}, LongContext()))
    return results


def _lead(flow: Flow, demo: dict[str, Any], phone: str, **fields: Any) -> str:
    get_clock().advance(minutes=1)  # type: ignore[attr-defined]
    status, answer = flow.post("website", {"name": "Asha", "phone": phone, **fields}, demo["website"]["key"])
    assert status == 202, answer
    return str(answer["lead_id"])


def _export(flow: Flow, query: dict[str, str] | None = None, role: str = "admin", headers: dict[str, str] | None = None,
            **who: Any) -> tuple[int, dict[str, str], str]:  # fmt: skip
    event = api_event("GET", "/leads/export", query=query, claims=claims(role, **who))
    if headers:
        event["headers"] = {**(event.get("headers") or {}), **headers}
    response = flow.api(event, LambdaContext())
    merged = {k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()}
    return response["statusCode"], {**merged, **(response.get("headers") or {})}, response["body"]


def _sync_csv(flow: Flow, role: str = "admin", **who: Any) -> str:
    """The whole synchronous export, part by part (below the background limit)."""
    status, headers, text = _export(flow, {"limit": "2"}, role, **who)
    assert status == 200, text
    while headers.get("X-Next-Cursor"):
        status, headers, part = _export(flow, {"limit": "2", "header": "false", "cursor": headers["X-Next-Cursor"]},
                                        role, **who)  # fmt: skip
        assert status == 200, part
        text += part
    return text


def _status(flow: Flow, export_id: str, role: str = "admin", **who: Any) -> tuple[int, dict[str, Any]]:
    return flow.get(f"/exports/{export_id}", role, **who)


def test_a_large_export_is_202_then_done_and_its_presigned_file_equals_the_synchronous_csv(
    flow: Flow, demo: dict[str, Any], launched: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given five leads, one named in Devanagari and one whose name is a formula
    _lead(flow, demo, "9876511001", name="आशा वर्मा")
    _lead(flow, demo, "9876511002", name='=HYPERLINK("http://evil")')
    for n in range(3, 6):
        _lead(flow, demo, f"987651100{n}")
    expected = _sync_csv(flow)
    # When the synchronous limit is 3 rows and the admin exports
    from api_routes import lead_export

    monkeypatch.setattr(lead_export, "EXPORTS", dataclasses.replace(lead_export.EXPORTS, sync_max_rows=3))
    status, headers, body = _export(flow)
    # Then the answer is 202 with where to poll, and the job is queued and launched
    assert status == 202, body
    answer = json.loads(body)
    assert answer["status"] == "queued" and answer["status_url"] == f"/exports/{answer['export_id']}"
    assert headers["Location"] == answer["status_url"] and launched == [answer["export_id"]]
    assert _status(flow, answer["export_id"])[1]["status"] == "queued"
    # When the export function runs
    assert run_jobs(launched)[0]["status"] == "done"
    # Then the status says done with the rows and a presigned URL valid for 15 minutes
    status, view = _status(flow, answer["export_id"])
    assert status == 200 and view["status"] == "done" and view["rows"] == 5 and view["error"] is None
    now = get_clock().now()
    assert view["expires_at"] == (now + timedelta(minutes=15)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert "X-Amz-Signature=" in view["url"] and "X-Amz-Expires=900" in view["url"]
    # And the file behind it is byte for byte the synchronous export
    downloaded = requests.get(view["url"], timeout=10)
    assert downloaded.status_code == 200 and downloaded.content.decode("utf-8") == expected


def test_the_client_can_ask_for_the_background_and_a_bad_filter_is_refused_at_once(
    flow: Flow, demo: dict[str, Any], launched: list[str]
) -> None:
    _lead(flow, demo, "9876512001")
    assert _export(flow, {"async": "true"})[0] == 202
    assert _export(flow, headers={"Prefer": "respond-async, wait=10"})[0] == 202
    assert len(launched) == 2
    status, _, body = _export(flow, {"async": "true", "received_from": "2026-11-23T00:00:00"})
    assert status == 422 and json.loads(body)["error"] == "invalid_request"
    status, _, body = _export(flow, {"async": "true", "cursor": "abc"})
    assert status == 422
    assert len(launched) == 2  # nothing queued for the refused ones


def _team_leads(flow: Flow, demo: dict[str, Any]) -> None:
    for n, city in enumerate(["Noida", "Noida", "Gurgaon", "Mumbai", "Pune", "Noida", "Chennai"]):
        _lead(flow, demo, f"98765130{n:02d}", city=city)
    flow.run_router()


def test_a_managers_background_export_holds_only_their_team_like_their_synchronous_one(
    flow: Flow, demo: dict[str, Any], launched: list[str]
) -> None:
    # Given leads routed to several teams
    _team_leads(flow, demo)
    # When the NCR manager exports in the background
    status, _, body = _export(flow, {"async": "true"}, "manager", **MAYA)
    assert status == 202
    export_id = json.loads(body)["export_id"]
    run_jobs(launched)
    status, view = _status(flow, export_id, "manager", **MAYA)
    # Then the file holds exactly what their synchronous export holds: their team's leads only
    assert status == 200 and view["status"] == "done"
    rows = list(csv.DictReader(io.StringIO(requests.get(view["url"], timeout=10).text.removeprefix("\ufeff"))))
    admin_rows = list(csv.DictReader(io.StringIO(_sync_csv(flow).removeprefix("\ufeff"))))
    assert 0 < len(rows) < len(admin_rows)
    assert all(row["assigned_team_id"] == "ncr" for row in rows)
    assert {r["lead_id"] for r in admin_rows if r["assigned_team_id"] == "ncr"} == {r["lead_id"] for r in rows}
    assert requests.get(view["url"], timeout=10).text == _sync_csv(flow, "manager", **MAYA)
    # And the job left an access-log line naming the leads it read, as the synchronous export does
    status, log = flow.get("/audit/access", "admin", query={"user_id": claims("manager", **MAYA)["sub"]})
    assert status == 200, log
    logged = {lead_id for entry in log["items"] for lead_id in entry["lead_ids"]}
    assert {r["lead_id"] for r in rows} <= logged


def test_another_persons_export_is_404_and_an_admin_may_read_it(
    flow: Flow, demo: dict[str, Any], launched: list[str]
) -> None:
    _lead(flow, demo, "9876514001")
    status, _, body = _export(flow, {"async": "true"}, "manager", **MAYA)
    export_id = json.loads(body)["export_id"]
    run_jobs(launched)
    assert _status(flow, export_id, "manager", **MAYA)[0] == 200
    status, answer = _status(flow, export_id, "manager", username="ravi", team_id="ncr")
    assert status == 404 and answer["error"] == "not_found"
    assert _status(flow, export_id, "agent", username="a1", agent_id="a1")[0] == 404
    assert _status(flow, "01NOSUCHEXPORT")[0] == 404
    assert _status(flow, export_id)[1]["status"] == "done"  # an admin


def test_a_file_past_retention_is_expired_and_gives_no_url(
    flow: Flow, demo: dict[str, Any], launched: list[str]
) -> None:
    _lead(flow, demo, "9876515001")
    export_id = json.loads(_export(flow, {"async": "true"})[2])["export_id"]
    run_jobs(launched)
    get_clock().advance(days=2, minutes=1)  # type: ignore[attr-defined]
    status, view = _status(flow, export_id)
    assert status == 200 and view["status"] == "expired" and view["url"] is None
    assert "retention" in view["error"]


def test_erasing_a_person_deletes_the_exports_that_hold_them_and_only_those(
    flow: Flow, demo: dict[str, Any], launched: list[str]
) -> None:
    # Given one export holding the person, and a later one filtered to someone else
    lead_id = _lead(flow, demo, "9876516001", tags="erase-me")
    _lead(flow, demo, "9876516002", tags="keep")
    holding = json.loads(_export(flow, {"async": "true"})[2])["export_id"]
    other = json.loads(_export(flow, {"async": "true", "tag": "keep"})[2])["export_id"]
    run_jobs(launched)
    held_url = _status(flow, holding)[1]["url"]
    # When the person is erased
    status, erased = flow.call("POST", "/privacy/erasure", body={"lead_id": lead_id})
    # Then the erasure counts the export it removed, the file is gone, and its status says why
    assert status == 200 and erased["removed"].get("export") == 1, erased
    assert requests.get(held_url, timeout=10).status_code == 404
    status, view = _status(flow, holding)
    assert view["status"] == "expired" and view["url"] is None and "erasure" in view["error"]
    # And the export that never held them is still there
    assert _status(flow, other)[1]["status"] == "done"


def test_a_job_whose_runner_died_mid_file_is_relaunched_by_the_status_poll_and_resumes(
    flow: Flow, demo: dict[str, Any], launched: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given parts of ~1 KB read 3 leads at a time (moto allowing parts that small), a runner dying on part 3
    import moto.s3.models

    from leadrelay import export_job
    from leadrelay.store.exports import ExportFiles

    monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", 256)
    monkeypatch.setattr(export_job, "PART_BYTES", 1024)
    monkeypatch.setattr(export_job, "READ_PAGE", 3)
    for n in range(12):
        _lead(flow, demo, f"98765170{n:02d}", message="x" * 300)
    expected = _sync_csv(flow)
    export_id = json.loads(_export(flow, {"async": "true"})[2])["export_id"]
    real_put = ExportFiles.put_part
    calls = {"n": 0}

    def dying_put(self: ExportFiles, key: str, upload_id: str, number: int, body: bytes) -> str:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("the runner's process died")
        return real_put(self, key, upload_id, number, body)

    monkeypatch.setattr(ExportFiles, "put_part", dying_put)
    with pytest.raises(RuntimeError):
        run_jobs(launched)
    _, view = _status(flow, export_id)
    assert view["status"] == "running" and view["url"] is None and 0 < view["rows"] < 12
    # When the job has sat idle past the grace and the creator polls the status
    get_clock().advance(minutes=20)  # type: ignore[attr-defined]
    _status(flow, export_id)
    # Then the poll launched a runner again, which resumes and finishes the one file
    assert launched == [export_id]
    run_jobs(launched)
    view = _status(flow, export_id)[1]
    assert view["status"] == "done" and view["rows"] == 12
    assert requests.get(view["url"], timeout=10).content.decode("utf-8") == expected
    listed = boto3.client("s3").list_objects_v2(Bucket="test-exports").get("Contents", [])
    assert len(listed) == 1


def test_long_rows_make_a_first_answer_go_to_the_background_and_a_later_part_stop_early(
    flow: Flow, demo: dict[str, Any], launched: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given leads with long Devanagari messages, and answers capped at 4 KB (4 MB in production)
    from api_routes import lead_export

    for n in range(6):
        _lead(flow, demo, f"98765180{n:02d}", message="क" * 500)
    headers = _export(flow, {"limit": "1"})[1]
    monkeypatch.setattr(lead_export, "EXPORTS", dataclasses.replace(lead_export.EXPORTS, sync_max_bytes=4096))
    monkeypatch.setattr(lead_export, "READ_PAGE", 1)
    # When the whole list is asked for at once, it goes to the background
    status, _, body = _export(flow, {"limit": "5000"})
    assert status == 202 and launched == [json.loads(body)["export_id"]]
    # And a later part of a paged export stops at the cap and says where to go on
    status, headers, part = _export(flow, {"limit": "5000", "header": "false", "cursor": headers["X-Next-Cursor"]})
    assert status == 200 and 0 < int(headers["X-Row-Count"]) < 5 and headers.get("X-Next-Cursor")
    assert 4096 <= len(part.encode()) < 4096 + 2000


def test_the_scope_is_decided_again_when_the_job_runs(flow: Flow, demo: dict[str, Any], launched: list[str]) -> None:
    # Given the NCR manager queues a background export
    _team_leads(flow, demo)
    assert _sync_csv(flow, "manager", **MAYA).count("\r\n") > 1  # NCR has leads
    sub = claims("manager", **MAYA)["sub"]
    moved = json.loads(_export(flow, {"async": "true"}, "manager", **MAYA)[2])["export_id"]
    disabled = json.loads(_export(flow, {"async": "true"}, "manager", **MAYA)[2])["export_id"]
    # When, before the jobs run, she is moved to another team
    from leadrelay import wiring

    wiring.user_store().update(sub, {"team_id": "no-such-team"})
    run_jobs([moved])
    # Then her export holds that team's leads (none), not NCR's
    view = _status(flow, moved, "manager", **MAYA)[1]
    assert view["status"] == "done" and view["rows"] == 0
    # And when she is removed before a job runs, it fails and writes no file
    wiring.user_store().update(sub, {"status": "removed"})
    run_jobs([disabled])
    view = _status(flow, disabled)[1]  # (an admin reads it: she can no longer sign in)
    assert view["status"] == "failed" and "no longer an active user" in view["error"] and view["url"] is None
