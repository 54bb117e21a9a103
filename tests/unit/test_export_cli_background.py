"""`leadrelay export` and a 202: it polls the export's status with the progress bar, downloads the
file once done, and on a failed export says why and leaves no file behind."""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Any

import pytest

from leadrelay.local import export_cli

ACCEPTED = '{"export_id": "E1", "status": "queued", "status_url": "/exports/E1"}'


def _args(out: Path) -> argparse.Namespace:
    return argparse.Namespace(out=str(out), date_format=None, state_dir=None, status=None, source_id=None,
                              agent_id=None, team_id=None, tag="big", received_from=None, received_to=None, q=None)  # fmt: skip


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """A stack that answers the export 202 and then the given status views, in turn."""
    views: list[dict[str, Any]] = []
    monkeypatch.setattr(export_cli, "stack_access", lambda state_dir: ("http://api", "token"))
    monkeypatch.setattr(export_cli, "fetch_part", lambda url, token, query: (202, {}, ACCEPTED))
    monkeypatch.setattr(export_cli, "_get_json", lambda url, token: (200, views.pop(0)))
    monkeypatch.setattr(export_cli, "POLL_EVERY_S", 0.0)
    return views


def test_a_finished_background_export_is_downloaded_into_the_file(api: list[dict[str, Any]], tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    api += [{"status": "queued", "rows": 0}, {"status": "running", "rows": 5000},
            {"status": "done", "rows": 12000, "url": "http://s3/presigned"}]  # fmt: skip
    downloaded: list[str] = []

    class Body(io.BytesIO):
        def __enter__(self) -> Body:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

    def urlopen(url: str, timeout: float) -> Body:
        downloaded.append(url)
        return Body("\ufefflead_id\r\nL1\r\n".encode())

    monkeypatch.setattr(export_cli.urllib.request, "urlopen", urlopen)
    err = io.StringIO()
    assert export_cli.run_export(_args(tmp_path / "leads.csv"), err=err) == 0
    assert downloaded == ["http://s3/presigned"] and api == []
    assert (tmp_path / "leads.csv").read_bytes() == "\ufefflead_id\r\nL1\r\n".encode()
    assert "12,000 leads" in err.getvalue()


def test_a_failed_background_export_says_why_and_leaves_no_file(api: list[dict[str, Any]], tmp_path: Path) -> None:
    api += [{"status": "running", "rows": 10}, {"status": "failed", "rows": 10, "error": "not_found: no agent"}]
    err = io.StringIO()
    assert export_cli.run_export(_args(tmp_path / "leads.csv"), err=err) == 2
    assert "failed: not_found: no agent" in err.getvalue()
    assert list(tmp_path.iterdir()) == []
