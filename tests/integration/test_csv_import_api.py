"""POST /sources/{id}/import on moto: a NoBroker export becomes leads through capture (E.164 phones,
dedupe, raw copies), refused rows are quarantined and listed, a re-import is all duplicates."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from leadrelay import wiring
from leadrelay.capture.csv_import import MAX_IMPORT_BYTES, import_csv
from leadrelay.local.demo import seed
from leadrelay.models import Source
from tests.helpers import LambdaContext, api_event, claims
from tests.integration.flow import Flow

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"
NOBROKER = (FIXTURES / "nobroker_export.csv").read_bytes()


@pytest.fixture
def flow(aws: dict[str, str]) -> Flow:
    flow = Flow(aws["LEADS_TABLE"])
    seed(demo=True)
    status, made = flow.call("POST", "/sources", body={"source_id": "nobroker", "kind": "generic", "name": "NoBroker"})
    assert status == 201, made
    return flow


def post_csv(flow: Flow, source_id: str, data: bytes, *, content_type: str = "text/csv",
             query: dict[str, str] | None = None, role: str = "admin", base64_body: bool = False) -> tuple[int, dict[str, Any]]:  # fmt: skip
    """The CSV file as the body, the way curl --data-binary sends it (base64 when API Gateway would)."""
    event = api_event("POST", f"/sources/{source_id}/import", headers={"Content-Type": content_type}, query=query,
                      claims=claims(role, username="ops-admin"))  # fmt: skip
    if base64_body:
        event["body"], event["isBase64Encoded"] = base64.b64encode(data).decode(), True
    else:
        event["body"] = data.decode("utf-8")
    response = flow.api(event, LambdaContext())
    return response["statusCode"], json.loads(response["body"])


def test_a_nobroker_export_becomes_leads_and_the_row_without_contact_is_quarantined(flow: Flow) -> None:
    # When the admin uploads NoBroker's export as text/csv
    status, report = post_csv(flow, "nobroker", NOBROKER)
    # Then every row with a phone or email is a lead, numbered as in the file (header = row 1)
    assert status == 200, report
    assert {k: report[k] for k in ("source_id", "rows", "created", "merged", "duplicate", "quarantined", "empty_rows",
                                   "complete", "next_row")} == {
        "source_id": "nobroker", "rows": 5, "created": 4, "merged": 0, "duplicate": 0, "quarantined": 1,
        "empty_rows": 1, "complete": True, "next_row": None,
    }  # fmt: skip
    results = {r["row"]: r for r in report["results"]}
    assert [r["row"] for r in report["results"]] == [2, 3, 4, 6, 7]
    assert results[6]["outcome"] == "quarantined" and results[6]["error"] == "missing_contact"
    assert report["columns"]["Mobile Number"] == "phone" and report["columns"]["Posted On"] == "extra"
    leads = {r["row"]: wiring.lead_repository().get(r["lead_id"]) for r in report["results"] if r.get("lead_id")}
    first, hindi, office, quoted = leads[2], leads[3], leads[4], leads[7]
    assert first is not None and hindi is not None and office is not None and quoted is not None
    assert (first.phone, first.external_id, first.product, first.extra) == (
        "+919876543210",
        "NB-1001",
        "2 BHK, Baner",
        {"Posted On": "2026-11-20"},
    )
    assert first.source_id == "nobroker" and first.source_kind == "generic" and first.budget is not None
    assert (hindi.name, hindi.phone, hindi.language) == ("प्रिया वर्मा", "+919876543211", "hi")
    assert (office.phone, office.phone_type) == ("+918022345678", "landline")
    assert (quoted.name, quoted.email) == ("Kumar, Anil", "anil.kumar@example.com")
    # And the refused row is kept raw in quarantine, listed for the admin with the reason
    listed = flow.get("/quarantine")[1]["items"]
    kept = next(item for item in listed if item["request_id"] == results[6]["request_id"])
    assert kept["error"] == "missing_contact" and kept["path"] == "/import/nobroker" and kept["source_id"] == "nobroker"
    assert json.loads(kept["body"])["name"] == "No Contact Person" and kept["headers"]["x-leadrelay-row"] == "6"
    assert kept["headers"]["x-leadrelay-imported-by"] == "ops-admin"
    # And each lead keeps its row as the raw request
    (raw,) = wiring.lead_repository().raw_requests(first.lead_id)
    assert json.loads(raw["body"])["external_id"] == "NB-1001" and raw["path"] == "/import/nobroker"


def test_importing_the_same_file_again_gives_duplicates_and_new_people_by_phone_are_merged(flow: Flow) -> None:
    post_csv(flow, "nobroker", NOBROKER)
    # When the same export is imported again (as JSON this time)
    status, again = flow.call("POST", "/sources/nobroker/import", body={"csv": NOBROKER.decode("utf-8-sig")})
    # Then no lead is made twice
    assert status == 200 and (again["created"], again["duplicate"], again["quarantined"]) == (0, 4, 1)
    assert len(flow.get("/leads", query={"source_id": "nobroker"})[1]["items"]) == 4
    # When an expo list (semicolons, no id column) names Rahul again by another way of writing his phone
    expo = (FIXTURES / "expo_semicolon.csv").read_bytes()
    status, report = post_csv(flow, "nobroker", expo)
    assert status == 200 and (report["created"], report["merged"]) == (1, 1), report
    rahul = next(r for r in report["results"] if r["row"] == 3)
    first = next(
        r for r in flow.get("/leads", query={"source_id": "nobroker"})[1]["items"] if r["external_id"] == "NB-1001"
    )
    assert rahul["lead_id"] == first["lead_id"]
    # And the expo file imported twice is all duplicates, on the rows' bodies (no id column)
    assert post_csv(flow, "nobroker", expo)[1]["duplicate"] == 2


def test_a_mapping_names_columns_the_aliases_do_not_know(flow: Flow) -> None:
    data = b"Cust,Cust Mob,Sr No\nAsha,9876543210,1\n"
    status, refused = post_csv(flow, "nobroker", data)
    assert (status, refused["error"]) == (422, "no_contact_column") and "Cust Mob" in refused["message"]
    mapping = json.dumps({"Cust": "name", "Cust Mob": "phone", "Sr No": None})
    status, report = post_csv(flow, "nobroker", data, query={"mapping": mapping})
    assert status == 200 and report["created"] == 1
    lead = wiring.lead_repository().get(report["results"][0]["lead_id"])
    assert lead is not None and (lead.name, lead.phone, lead.extra) == ("Asha", "+919876543210", {})
    # A mapping kept on the source (settings.csv_mapping) is used when the request has none
    flow.call("PATCH", "/sources/nobroker", body={"settings": {"csv_mapping": {"Cust Mob": "phone"}}})
    status, report = post_csv(flow, "nobroker", b"Cust,Cust Mob\nRavi,9876543211\n")
    assert status == 200 and report["created"] == 1 and report["columns"]["Cust Mob"] == "phone"


def test_a_windows_1252_file_sent_as_bytes_is_read(flow: Flow) -> None:
    data = "Name,Phone\nJosé D’Souza,9876543212\n".encode("cp1252")
    status, report = post_csv(flow, "nobroker", data, base64_body=True)
    assert status == 200 and report["created"] == 1, report
    lead = wiring.lead_repository().get(report["results"][0]["lead_id"])
    assert lead is not None and lead.name == "José D’Souza"


@pytest.mark.parametrize(
    ("source_id", "data", "content_type", "status", "code"),
    [("nope", b"Phone\n9876543210\n", "text/csv", 404, "not_found"),
     ("facebook-leads", b"Phone\n9876543210\n", "text/csv", 422, "import_unsupported_kind"),
     ("nobroker", b"<leads/>", "application/xml", 415, "unsupported_media_type"),
     ("nobroker", b"", "text/csv", 400, "empty_body"),
     ("nobroker", b"Name,City\nAsha,Pune\n", "text/csv", 422, "no_contact_column"),
     ("nobroker", b'{"csv": 5}', "application/json", 422, "invalid_request"),
     ("nobroker", b'{"csv": "Phone\\n9876543210\\n", "mapping": {"Phone": "mobile"}}', "application/json", 422,
      "invalid_mapping")],
)  # fmt: skip
def test_imports_that_cannot_start_are_4xx_json_and_store_nothing(
    flow: Flow, source_id: str, data: bytes, content_type: str, status: int, code: str
) -> None:
    answer = post_csv(flow, source_id, data, content_type=content_type)
    assert (answer[0], answer[1]["error"]) == (status, code), answer
    assert answer[1]["message"]
    assert flow.get("/leads", query={"source_id": "nobroker"})[1]["items"] == []


def test_the_row_and_byte_limits_are_named_in_a_413(flow: Flow) -> None:
    rows = "Phone\n" + "".join(f"98{n:08d}\n" for n in range(5001))
    status, refused = flow.call("POST", "/sources/nobroker/import", body={"csv": rows})
    assert (status, refused["error"]) == (413, "too_many_rows") and "5000 rows" in refused["message"]
    big = b"Phone,Notes\n" + b"9876543210," + b"x" * MAX_IMPORT_BYTES + b"\n"
    status, refused = post_csv(flow, "nobroker", big)
    assert (status, refused["error"]) == (413, "payload_too_large") and str(MAX_IMPORT_BYTES) in refused["message"]
    assert flow.get("/leads", query={"source_id": "nobroker"})[1]["items"] == []


def test_the_import_is_logged_with_counts_only(flow: Flow) -> None:
    from api_routes.common import logger

    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    keep = Keep()
    keep.setFormatter(logger.registered_formatter)
    level = logger.log_level
    logger.addHandler(keep)
    logger.setLevel("INFO")  # the tests run at WARNING; the stack and AWS log at INFO
    try:
        status, report = post_csv(flow, "nobroker", NOBROKER)
    finally:
        logger.setLevel(level)
        logger.removeHandler(keep)  # type: ignore[attr-defined]
    assert status == 200, report
    line = next(json.loads(x) for x in lines if json.loads(x)["message"] == "csv import")
    assert line["import_counts"]["created"] == 4 and line["source_id"] == "nobroker"
    assert "Rahul" not in json.dumps(line) and "9876543210" not in json.dumps(line)


def test_a_disabled_source_refuses_an_import(flow: Flow) -> None:
    flow.call("PATCH", "/sources/nobroker", body={"active": False})
    status, refused = post_csv(flow, "nobroker", NOBROKER)
    assert (status, refused["error"]) == (409, "source_disabled")


def test_an_import_out_of_time_says_where_to_go_on_and_going_on_imports_each_row_once(flow: Flow) -> None:
    # Given a budget that runs out after two rows (a fake timer: 0.6 s a look)
    source = wiring.org_repository().get_source("nobroker")
    assert isinstance(source, Source)
    ticks = iter(n * 0.6 for n in range(100))
    text = NOBROKER.decode("utf-8-sig")
    report = import_csv(wiring.capture_service(), source, text, budget_s=1.0, timer=lambda: next(ticks))
    first = report.as_dict()
    assert (first["processed"], first["complete"], first["next_row"]) == (2, False, 4)
    # When the client sends the file again from next_row through the API
    status, rest = flow.call("POST", "/sources/nobroker/import", body={"csv": text}, query={"start_row": "4"})
    # Then the remaining rows are done, and no row was imported twice
    assert status == 200 and rest["complete"] and [r["row"] for r in rest["results"]] == [4, 6, 7]
    assert (rest["created"], rest["quarantined"], rest["duplicate"]) == (2, 1, 0)
    assert len(flow.get("/leads", query={"source_id": "nobroker"})[1]["items"]) == 4
