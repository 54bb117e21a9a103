"""End-to-end over HTTP on the local stack: a background export answers 202, its status turns
done, and the presigned URL (pointing at the stack's S3, reachable from the host without a token)
serves the same CSV as the synchronous export; `leadrelay export`'s 202 path downloads it too."""

from __future__ import annotations

import io
import time
import uuid

import pytest
import requests

from tests.e2e.conftest import LocalStackClient

pytestmark = pytest.mark.e2e


def test_a_background_export_is_downloaded_from_its_presigned_url_like_the_synchronous_csv(
    local_stack: LocalStackClient,
) -> None:
    # Given three people tagged for this test, one named in Devanagari
    tag = f"bg-{uuid.uuid4().hex[:8]}"
    for name in ("आशा वर्मा", "ஆஷா ராமன்", "=cmd|' /C calc'!A0"):
        made = local_stack.post("/leads", as_user="admin", json={"name": name, "phone": "9" + str(uuid.uuid4().int)[:9],
                                                                  "tags": [tag]})  # fmt: skip
        assert made.status_code == 201, made.text
    settle = time.monotonic() + 30  # the router takes them first: both exports then see the same leads
    while time.monotonic() < settle and any(
        lead["status"] == "new"
        for lead in local_stack.get("/leads", as_user="admin", params={"tag": tag}).json()["items"]
    ):
        time.sleep(0.3)
    synchronous = local_stack.get("/leads/export", as_user="admin", params={"tag": tag})
    assert synchronous.status_code == 200
    # When the admin asks for it in the background
    accepted = local_stack.get("/leads/export", as_user="admin", params={"tag": tag},
                               headers={"Prefer": "respond-async"})  # fmt: skip
    # Then it is 202 with a status to poll, which turns done within seconds
    assert accepted.status_code == 202, accepted.text
    status_url = accepted.json()["status_url"]
    deadline = time.monotonic() + 60
    while True:
        view = local_stack.get(status_url, as_user="admin").json()
        if view["status"] not in ("queued", "running") or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert view["status"] == "done" and view["rows"] == 3, view
    # And the presigned URL serves the same bytes to anyone holding it (no token), from the host
    assert view["url"].startswith("http://127.0.0.1:")
    downloaded = requests.get(view["url"], timeout=30)
    assert downloaded.status_code == 200 and downloaded.content == synchronous.content
    # And nobody else may read the export's status
    assert local_stack.get(status_url, as_user="agent").status_code == 404
    # And the CLI's 202 path polls and downloads the same file
    from leadrelay.local.export_cli import export_all
    from leadrelay.local.progress import ProgressBar

    out = io.StringIO()
    token = local_stack.auth("admin")["Authorization"].split(" ", 1)[1]
    rows = export_all(local_stack.api_url, token, {"tag": tag, "async": "true"}, out, ProgressBar(io.StringIO(), "x"))
    assert rows == 3 and out.getvalue().encode("utf-8") == synchronous.content
