"""Concurrency on the moto server: several export runners launched for the same job at once (a
Lambda retry racing a status poll's re-launch, say) write one file, each row once.

Given a queued export of 40 leads on the moto server
When six runners, each in its own copy of the export function, start on it together
Then exactly one claims it, the file holds every row once, and no second object exists.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from leadrelay import definitions, wiring
from leadrelay.auth import Principal, Role
from leadrelay.clock import SystemClock, get_clock, set_clock
from leadrelay.export_job import new_job
from leadrelay.local.aws import base_env, create_exports_bucket, create_table
from leadrelay.local.stack import ContainerPool
from leadrelay.models.source import Source, hash_key
from tests.helpers import LambdaContext, claims, hook_event
from tests.integration.local_fixtures import moto_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.concurrency
RUNNERS = 6


class LongContext(LambdaContext):
    def get_remaining_time_in_millis(self) -> int:
        return 900_000


@pytest.fixture
def org(moto_server: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:  # noqa: F811
    suffix = uuid.uuid4().hex[:8]
    names = {"LEADS_TABLE": f"x-leads-{suffix}", "ORG_TABLE": f"x-org-{suffix}", "EVENT_BUS_NAME": f"x-bus-{suffix}",
             "EXPORTS_BUCKET": f"x-exports-{suffix}"}  # fmt: skip
    for key, value in {**base_env(moto_server.endpoint), **names}.items():
        monkeypatch.setenv(key, value)
    set_clock(SystemClock())
    wiring.reset()
    ddb = boto3.client("dynamodb")
    for table in definitions.TABLES:
        create_table(ddb, table, names[table.env_var])
    create_exports_bucket(boto3.client("s3"), names["EXPORTS_BUCKET"])
    wiring.org_repository().put_source(Source(source_id="web", name="Web", key_hash=hash_key("k")))
    yield names
    wiring.reset()


def test_six_runners_started_together_on_one_export_write_one_file_with_each_row_once(org: dict[str, str]) -> None:
    # Given 40 leads and a queued export of them by an admin
    functions = Path(__file__).resolve().parents[2] / "functions"
    ingest = ContainerPool(functions / "ingest", "ingest", 1)
    lead_ids = set()
    for i in range(40):
        response = ingest(hook_event("web", {"phone": f"98{i:08d}"}, key="k"), LambdaContext())
        assert response["statusCode"] == 202, response
        lead_ids.add(json.loads(response["body"])["lead_id"])
    sub = claims("admin", username="asha")["sub"]
    who = Principal(username="asha", role=Role.ADMIN, user_id=sub)
    now = get_clock().now()
    job = new_job("EXPORT-RACE", who, {"date_format": "iso"}, now, timedelta(days=2), "race")
    wiring.export_records().create(job)
    # When six runners, each its own container, start on it at once
    export = ContainerPool(functions / "export", "export", RUNNERS)
    with ThreadPoolExecutor(RUNNERS) as pool:
        results = list(pool.map(lambda _: export({"export_id": job.export_id}, LongContext()), range(RUNNERS)))
    # Then exactly one claimed and finished it; the others left it alone
    statuses = sorted(str(r["status"]) for r in results)
    assert statuses == ["None"] * (RUNNERS - 1) + ["done"], results
    # And the one object holds every lead exactly once
    s3 = boto3.client("s3")
    objects = s3.list_objects_v2(Bucket=org["EXPORTS_BUCKET"]).get("Contents", [])
    assert [o["Key"] for o in objects] == [job.key]
    text = s3.get_object(Bucket=org["EXPORTS_BUCKET"], Key=job.key)["Body"].read().decode("utf-8")
    rows = [row["lead_id"] for row in csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))]
    assert sorted(rows) == sorted(lead_ids) and len(rows) == len(set(rows)) == 40
    assert wiring.export_records().get(job.export_id).rows == 40  # type: ignore[union-attr]
