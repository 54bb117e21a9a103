"""GET /leads/export on moto with the real handlers: a CSV a spreadsheet opens correctly and safely,
in parts for long lists, and that imports back without creating a lead."""

from __future__ import annotations

import csv
import io
from typing import Any

from leadrelay.clock import get_clock
from tests.helpers import LambdaContext, api_event, claims
from tests.integration.flow import Flow


def _lead(flow: Flow, demo: dict[str, Any], **fields: Any) -> str:
    get_clock().advance(minutes=1)  # type: ignore[attr-defined]
    status, answer = flow.post("website", fields, demo["website"]["key"])
    assert status == 202, answer
    return str(answer["lead_id"])


def _export(flow: Flow, query: dict[str, str] | None = None, role: str = "admin",
            **who: Any) -> tuple[int, dict[str, str], str]:  # fmt: skip
    event = api_event("GET", "/leads/export", query=query, claims=claims(role, **who))
    response = flow.api(event, LambdaContext())
    headers = {k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()}
    return response["statusCode"], {**headers, **(response.get("headers") or {})}, response["body"]


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def test_the_csv_has_a_bom_devanagari_and_tamil_names_and_no_formula_can_run(flow: Flow, demo: dict[str, Any]) -> None:
    # Given leads named in Devanagari and Tamil, and one whose message is a formula
    _lead(flow, demo, name="आशा वर्मा", phone="9876500001", city="नोएडा")
    _lead(flow, demo, name="ஆஷா ராமன்", phone="9876500002", city="சென்னை")
    _lead(flow, demo, name='=HYPERLINK("http://evil")', phone="9876500003", message="@SUM(A1:A9)")
    # When the list is exported
    status, headers, body = _export(flow)
    # Then it is UTF-8 CSV with a BOM, the names as written, every formula and phone made text
    assert status == 200 and headers["Content-Type"].startswith("text/csv") and body.startswith("\ufeff")
    rows = _rows(body)
    assert {row["name"] for row in rows} >= {"आशा वर्मा", "ஆஷா ராமன்"}
    evil = next(row for row in rows if row["phone"] == "'+919876500003")
    assert evil["name"].startswith("'=") and evil["message"] == "'@SUM(A1:A9)"
    assert all(not row[column].startswith(("=", "+", "-", "@")) for row in rows for column in row)


def test_the_indian_date_format_is_day_first_in_the_org_time_zone(flow: Flow, demo: dict[str, Any]) -> None:
    _lead(flow, demo, phone="9876500004")
    received = flow.get("/leads")[1]["items"][0]["received_at"]
    iso_row = _rows(_export(flow)[2])[0]
    indian_row = _rows(_export(flow, {"date_format": "indian"})[2])[0]
    assert iso_row["received_at"] == received
    from datetime import datetime
    from zoneinfo import ZoneInfo

    local = datetime.fromisoformat(received.replace("Z", "+00:00")).astimezone(ZoneInfo("Asia/Kolkata"))
    assert indian_row["received_at"] == local.strftime("%d-%m-%Y %H:%M")


def test_a_long_list_comes_in_parts_that_join_into_one_file(flow: Flow, demo: dict[str, Any]) -> None:
    ids = {_lead(flow, demo, phone=f"98765001{i:02d}") for i in range(5)}
    status, headers, first = _export(flow, {"limit": "2"})
    assert status == 200 and headers["X-Row-Count"] == "2" and headers.get("X-Next-Cursor")
    text = first
    while headers.get("X-Next-Cursor"):
        _, headers, part = _export(flow, {"limit": "2", "header": "false", "cursor": headers["X-Next-Cursor"]})
        assert not part.startswith("\ufeff") and "lead_id" not in part
        text += part
    assert {row["lead_id"] for row in _rows(text)} == ids


def test_the_export_is_scoped_and_filtered_like_the_list(flow: Flow, demo: dict[str, Any]) -> None:
    _lead(flow, demo, phone="9876500201", tags="expo")
    _lead(flow, demo, phone="9876500202")
    assert len(_rows(_export(flow, {"tag": "expo"})[2])) == 1
    assert _rows(_export(flow, role="agent", agent_id="nobody")[2]) == []


def test_exporting_then_importing_the_file_creates_no_new_lead(flow: Flow, demo: dict[str, Any]) -> None:
    # Given leads with Devanagari and Tamil names, exported
    _lead(flow, demo, name="आशा वर्मा", phone="9876500301", email="asha@example.com")
    _lead(flow, demo, name="ஆஷா ராமன்", phone="9876500302")
    before = {item["lead_id"]: item for item in flow.get("/leads")[1]["items"]}
    text = _export(flow)[2]
    # When the file is imported into a generic source, twice
    first = flow.call("POST", "/sources/website/import", body={"csv": text})[1]
    second = flow.call("POST", "/sources/website/import", body={"csv": text})[1]
    # Then no lead was created: each row matched its lead (merged), and the second time a duplicate
    assert first["created"] == 0 and first["merged"] == 2 and first["quarantined"] == 0, first
    assert second["created"] == 0 and second["duplicate"] == 2, second
    after = {item["lead_id"]: item for item in flow.get("/leads")[1]["items"]}
    assert after.keys() == before.keys()
    assert {lead["name"] for lead in after.values()} == {"आशा वर्मा", "ஆஷா ராமன்"}
