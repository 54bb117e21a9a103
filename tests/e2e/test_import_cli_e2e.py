"""End-to-end: an admin adds a source for NoBroker through the API and imports its CSV export with
`leadrelay import` against `leadrelay local --demo`; the leads are routed like any other."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import LocalStackClient

pytestmark = pytest.mark.e2e


def leadrelay(*argv: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "leadrelay"), *argv]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def phone() -> str:
    return "9" + str(uuid.uuid4().int)[:9]


def test_a_nobroker_export_is_imported_from_the_cli_and_its_leads_are_routed(
    local_stack: LocalStackClient, tmp_path: Path
) -> None:
    # Given a generic source for NoBroker, made through the API
    made = local_stack.post("/sources", as_user="admin", json={"kind": "generic", "name": "NoBroker e2e"})
    assert made.status_code == 201, made.text
    source_id = made.json()["source_id"]
    # And NoBroker's export: a BOM, messy phones, a Devanagari name, a quoted comma, a row with no contact
    one, two, three = phone(), phone(), phone()
    text = (
        "\ufeffLead ID,Customer Name,Mobile Number,City,Remarks\n"
        f'E2E-{one},Rahul Sharma,0{one[:5]} {one[5:]},Pune,"2 BHK, Baner"\n'
        f"E2E-{two},प्रिया वर्मा,+91-{two},Pune,\n"
        f"E2E-NONE-{one},No Contact,,Pune,call back\n"
        f"E2E-{three},Anil Kumar,{three},Mumbai,\n"
    )
    path = tmp_path / "nobroker.csv"
    path.write_text(text, encoding="utf-8")
    state = str(local_stack.state_dir)
    # When the admin imports it from the CLI
    first = leadrelay("import", str(path), "--source", source_id, "--state-dir", state)
    # Then three rows are leads and the row without a phone is quarantined (exit 1, listed)
    assert first.returncode == 1, first.stderr
    assert "created           3" in first.stdout and "quarantined       1" in first.stdout
    assert "row 4: missing_contact" in first.stdout
    # When it is imported again, Then nothing is made twice
    again = leadrelay("import", str(path), "--source", source_id, "--json", "--state-dir", state)
    report: dict[str, Any] = json.loads(again.stdout)
    assert again.returncode == 1 and (report["created"], report["duplicate"], report["quarantined"]) == (0, 3, 1)
    # And the imported leads carry E.164 phones and are routed like webhook leads
    lead_ids = [r["lead_id"] for r in report["results"] if r.get("lead_id")]
    deadline = time.monotonic() + 5
    while True:
        leads = [local_stack.get(f"/leads/{lead_id}", as_user="admin").json() for lead_id in lead_ids]
        if all(lead["assigned_agent_id"] for lead in leads) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert sorted(lead["phone"] for lead in leads) == sorted(f"+91{p}" for p in (one, two, three))
    assert all(lead["assigned_agent_id"] for lead in leads), leads
    assert {lead["name"] for lead in leads} == {"Rahul Sharma", "प्रिया वर्मा", "Anil Kumar"}
    # And the refused row waits in the quarantine with its reason
    quarantined = leadrelay("quarantine", "list", "--json", "--state-dir", state)
    items = json.loads(quarantined.stdout)["items"]
    assert any(i["source_id"] == source_id and i["error"] == "missing_contact" for i in items)
    # And a file that names no phone or email column is refused before anything is stored (exit 2)
    bad = tmp_path / "bad.csv"
    bad.write_text("Name,City\nAsha,Pune\n", encoding="utf-8")
    refused = leadrelay("import", str(bad), "--source", source_id, "--state-dir", state)
    assert refused.returncode == 2 and "no_contact_column" in refused.stderr
