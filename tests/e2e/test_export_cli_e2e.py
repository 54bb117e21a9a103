"""End-to-end: `leadrelay export` writes a running stack's leads to one CSV file, and `leadrelay
import` of that file creates nothing new (Devanagari and Tamil names intact)."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.e2e.conftest import LocalStackClient

pytestmark = pytest.mark.e2e


def leadrelay(*argv: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "leadrelay"), *argv]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_export_then_import_from_the_cli_creates_no_new_lead(local_stack: LocalStackClient, tmp_path: Path) -> None:
    # Given three people entered through the API, two with Devanagari and Tamil names, tagged for this test
    tag = f"rt-{uuid.uuid4().hex[:8]}"
    names = ["आशा वर्मा", "ஆஷா ராமன்", "Ravi Kumar"]
    for name in names:
        phone = "9" + str(uuid.uuid4().int)[:9]
        made = local_stack.post("/leads", as_user="admin", json={"name": name, "phone": phone, "tags": [tag]})
        assert made.status_code == 201, made.text
    state = str(local_stack.state_dir)
    out = tmp_path / "leads.csv"
    # When they are exported from the CLI
    exported = leadrelay("export", "--tag", tag, "--out", str(out), "--state-dir", state)
    # Then the file holds the three, with a BOM and the names as written
    assert exported.returncode == 0, exported.stderr
    text = out.read_text(encoding="utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert sorted(row["name"] for row in rows) == sorted(names)
    # And importing the file creates no lead: every row is the person already known
    before = local_stack.get("/leads", as_user="admin", params={"tag": tag, "limit": "200"}).json()["items"]
    imported = leadrelay("import", str(out), "--source", "website", "--json", "--state-dir", state)
    assert imported.returncode == 0, imported.stderr
    after = local_stack.get("/leads", as_user="admin", params={"tag": tag, "limit": "200"}).json()["items"]
    assert {lead["lead_id"] for lead in after} == {lead["lead_id"] for lead in before}
    assert '"created": 0' in imported.stdout and '"merged": 3' in imported.stdout
