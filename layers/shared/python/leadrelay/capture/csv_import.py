"""CSV import: a spreadsheet of leads (a NoBroker export, a property portal without an API, a list
typed up at an expo) becomes leads exactly the way webhooks do.

The file is read here (encoding, delimiter, header row, column mapping); each data row then becomes
one synthetic webhook request (a JSON object of the row's mapped fields) that goes through
`CaptureService.capture_trusted`: the generic adapter's parse, E.164 phones, dedupe, the raw copy,
quarantine with the reason. So a row without a phone or an email is quarantined and listed by
`GET /quarantine` (the rest of the file is still imported), re-importing the same file gives
`duplicate` for every row (on the lead id column, or else on the row's body within the retry
window), and a person already known by phone or email becomes `merged` (a touchpoint).

Row numbers are the file's records as a spreadsheet shows them: the header is row 1.

Limits (see `MAX_IMPORT_BYTES` and `MAX_IMPORT_ROWS`): the api function runs an import
synchronously, behind API Gateway (10 MB request, 29 s integration timeout) and Lambda (6 MB
synchronous request payload, 15 s api timeout). Each row costs about two AWS calls (one DynamoDB
transaction, one EventBridge put: roughly 40-60 ms together), so one call imports a few hundred
rows on AWS; `import_rows` stops at a row boundary when its time budget runs out and says where to
go on (`next_row`), and the client sends the file again from there (`leadrelay import` does so by
itself). Rows sent twice are deduped like any provider retry, so going on is always safe.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from leadrelay.capture import WebhookRequest
from leadrelay.ids import new_id
from leadrelay.sources.generic import ALIASES, ATTRIBUTION_FIELDS

if TYPE_CHECKING:
    from leadrelay.capture import CaptureService
    from leadrelay.models import Source

# 5 MB of CSV: under Lambda's 6 MB synchronous payload once API Gateway wraps it in the event
# (JSON-escaping the text in `{"csv": …}` adds a little more), and half API Gateway's 10 MB.
MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_IMPORT_ROWS = 5000
# What CSVs exported by portals and spreadsheets use; the Sniffer picks among these.
DELIMITERS = ",;\t|"
SNIFF_BYTES = 64 * 1024
# Mapping targets: keep a column in `extra` under its header, or leave it out of the lead.
EXTRA = "extra"
IGNORE = "ignore"

# Header names seen in portal and spreadsheet exports, beyond the generic adapter's own aliases
# (which are reused as they are). Headers are compared normalised: "Mobile No." → "mobile_no".
CSV_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("customer", "client_name", "client", "lead_name", "buyer_name", "sender_name", "your_name"),
    "phone": ("mobile_no", "phone_no", "contact_no", "mobile_phone", "cell", "cell_phone", "telephone", "tel",
              "whatsapp", "whatsapp_number", "whatsapp_no", "primary_phone", "contact_mobile", "mobile_number_1"),
    "email": ("e_mail", "e_mail_id", "e_mail_address", "email_id_1"),
    "city": ("city_name", "town"),
    "state": ("state_name",),
    "pincode": ("zip_code", "zipcode", "postcode", "post_code", "pin_no"),
    "message": ("remarks", "remark", "notes", "note", "description", "requirements", "lead_message",
                "customer_requirement", "message_text"),
    "product": ("property", "property_name", "project_name", "interested_in", "listing", "listing_name"),
    "budget": ("expected_budget", "budget_range", "price_range"),
    "external_id": ("inquiry_id", "enquiry_no", "enquiry_number", "query_id", "lead_no", "lead_number",
                    "reference_id", "ref_id", "unique_query_id", "request_id"),
    "language": ("mother_tongue",),
}  # fmt: skip
# The generic adapter joins these two into the name when there is no name.
NAME_PARTS = ("first_name", "last_name")
_FIRST_LAST = {"first_name": ("firstname", "given_name"), "last_name": ("lastname", "surname")}

LEAD_FIELDS: tuple[str, ...] = (*ALIASES, *NAME_PARTS, *ATTRIBUTION_FIELDS)
# Every key the generic adapter reads: an extra column whose header is one of these is renamed,
# so that it stays in `extra` instead of being read as a lead field.
_ADAPTER_KEYS = frozenset({*(n for names in ALIASES.values() for n in names), *LEAD_FIELDS, "key"})


class CsvImportError(Exception):
    """The file (or the request around it) cannot be imported at all; nothing was stored."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def header_key(header: str) -> str:
    """A header compared with aliases: case-folded, runs of anything else than letters and digits
    as one `_` ("E-mail" → "e_mail", "Mobile No." → "mobile_no")."""
    return re.sub(r"[\W_]+", "_", header.casefold()).strip("_")


def _alias_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for target, names in (*ALIASES.items(), *CSV_ALIASES.items(), *_FIRST_LAST.items()):
        for name in names:
            table.setdefault(name, target)
    for target in (*NAME_PARTS, *ATTRIBUTION_FIELDS):
        table.setdefault(target, target)
    return table


_ALIAS_TABLE = _alias_table()


# -- reading the file ---------------------------------------------------------------------------


def decode_csv_bytes(data: bytes) -> str:
    """The file's text: UTF-8 (with or without a BOM), UTF-16 (with a BOM, or recognised by its
    zero bytes: Excel's "Unicode text"), else Windows-1252 (Excel's "CSV" on an English Windows).
    Anything else is refused with a message saying how to save the file."""
    if data.startswith(b"PK\x03\x04"):
        raise CsvImportError(415, "not_csv", "this is an Excel workbook (.xlsx), not CSV: save it as 'CSV UTF-8'")
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                          (codecs.BOM_UTF16_BE, "utf-16-be")):  # fmt: skip
        if data.startswith(bom):
            return _decode(data[len(bom) :], encoding)
    head = data[:4096]
    if head.count(0) >= len(head) // 4 > 0:  # ASCII text in UTF-16 is half zero bytes
        even_zeros = head[0::2].count(0)
        return _decode(data, "utf-16-be" if even_zeros > head[1::2].count(0) else "utf-16-le")
    try:
        return _decode(data, "utf-8")
    except CsvImportError:
        return _decode(data, "cp1252")


def _decode(data: bytes, encoding: str) -> str:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise CsvImportError(
            400, "invalid_encoding",
            f"the file is not readable as {encoding} (byte {exc.start}); save it as 'CSV UTF-8'",
        ) from exc  # fmt: skip
    if "\x00" in text:
        raise CsvImportError(400, "invalid_encoding", "the file holds zero bytes: it is not CSV text")
    return text


@dataclass
class CsvSheet:
    """The file as read: its header, and each non-empty data row with its row number."""

    headers: list[str]
    rows: list[tuple[int, list[str]]]
    delimiter: str
    header_row: int = 1
    empty_rows: int = 0


def sniff_delimiter(text: str) -> str:
    """The delimiter, by `csv.Sniffer` on the first lines; when it cannot tell (one column, quoted
    commas, ragged rows), the candidate that appears most often in the header line; else a comma."""
    sample = text[:SNIFF_BYTES]
    lines = sample.splitlines()
    header = next((line for line in lines if line.strip()), "")
    if len(sample) == SNIFF_BYTES and len(lines) > 1:
        sample = "\n".join(lines[:-1])  # the last line may be cut in the middle of a field
    try:
        found = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        found = ""
    if found and found in header:
        return found
    counts = {d: _unquoted(header).count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _unquoted(line: str) -> str:
    """The line without its quoted parts, so that "Sharma, Rahul" does not count as a comma."""
    return re.sub(r'"[^"]*"', "", line)


def read_csv(text: str, max_rows: int = MAX_IMPORT_ROWS) -> CsvSheet:
    """Parse CSV text: the first non-empty record is the header, wholly empty records are skipped
    (and counted), more than `max_rows` data rows is refused (413) before anything is stored."""
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise CsvImportError(422, "empty_file", "the file is empty; it needs a header row and at least one row")
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', doublequote=True)
    headers: list[str] | None = None
    header_row = 1
    rows: list[tuple[int, list[str]]] = []
    empty = 0
    number = 0
    try:
        for number, record in enumerate(reader, start=1):
            cells = [cell.strip() for cell in record]
            if not any(cells):
                if headers is not None:
                    empty += 1
                continue
            if headers is None:
                headers, header_row = _headers(cells), number
                continue
            if len(rows) >= max_rows:
                raise CsvImportError(
                    413, "too_many_rows",
                    f"the file has more than {max_rows} rows; the limit is {max_rows} rows per import: split it",
                )  # fmt: skip
            rows.append((number, cells))
    except csv.Error as exc:
        raise CsvImportError(422, "malformed_csv", f"row {number + 1}: {exc}") from exc
    if headers is None:  # pragma: no cover - a non-blank text always has a non-empty record
        raise CsvImportError(422, "empty_file", "the file has no header row")
    if not rows:
        raise CsvImportError(422, "no_rows", "the file has a header row but no rows of leads")
    return CsvSheet(headers=headers, rows=rows, delimiter=delimiter, header_row=header_row, empty_rows=empty)


def _headers(cells: list[str]) -> list[str]:
    """Header cells, made unique ("Phone", "Phone (2)") and named when blank ("column 3")."""
    seen: dict[str, int] = {}
    headers = []
    for index, cell in enumerate(cells, start=1):
        name = cell.removeprefix("\ufeff").strip() or f"column {index}"
        seen[name] = seen.get(name, 0) + 1
        headers.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return headers


# -- mapping columns to lead fields ----------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of the file and where its cells go: a lead field, `extra`, or nowhere."""

    index: int
    header: str
    target: str  # a LEAD_FIELDS name, EXTRA or IGNORE


def plan_columns(headers: list[str], mapping: dict[str, str | None] | None = None) -> list[Column]:
    """Where each column goes. An explicit `mapping` ({"Customer Name": "name", "Sr No": null}) wins
    for the columns it names (null or "ignore" leaves a column out; "extra" keeps it in `extra`);
    every other column maps by its header's alias (name, mobile, e-mail, pin, remarks, lead id,
    utm_source, …) unless the mapping already gave that field a column; the rest go to `extra`.
    Several columns may feed one field: per row the first non-empty cell wins (the others stay in
    `extra`), and `message` joins them all."""
    mapping = dict(mapping or {})
    by_header = {h: h for h in headers}
    by_key = {header_key(h): h for h in reversed(headers)}
    explicit: dict[str, str] = {}
    for column, target in mapping.items():
        header = by_header.get(str(column).strip()) or by_key.get(header_key(str(column)))
        if header is None:
            raise CsvImportError(
                422, "unknown_column",
                f"the mapping names column {column!r}, which the file does not have; its columns are: "
                f"{', '.join(headers)}",
            )  # fmt: skip
        wanted = IGNORE if target is None else str(target).strip()
        if wanted not in (*LEAD_FIELDS, EXTRA, IGNORE):
            raise CsvImportError(
                422, "invalid_mapping",
                f"column {column!r} maps to {target!r}, which is not a lead field; use one of "
                f"{', '.join(LEAD_FIELDS)}, 'extra', or null to leave the column out",
            )  # fmt: skip
        explicit[header] = wanted
    claimed = set(explicit.values())
    plan = []
    for index, header in enumerate(headers):
        if header in explicit:
            target = explicit[header]
        else:
            alias = _ALIAS_TABLE.get(header_key(re.sub(r" \(\d+\)$", "", header)))  # "Notes (2)" maps as "Notes"
            target = alias if alias is not None and alias not in claimed else EXTRA
        plan.append(Column(index=index, header=header, target=target))
    if not any(column.target in ("phone", "email") for column in plan):
        if any("@" in h or sum(c.isdigit() for c in h) >= 8 for h in headers):
            raise CsvImportError(
                422, "missing_header",
                "the first row looks like a lead, not a header row: add a row naming the columns "
                "(e.g. Name, Phone, Email, City)",
            )  # fmt: skip
        raise CsvImportError(
            422, "no_contact_column",
            "no column is a phone or an email (e.g. 'Phone', 'Mobile', 'Email'); a lead needs one. The file's "
            f"columns are: {', '.join(headers)}. Name them, or send a mapping such as {{\"Contact\": \"phone\"}}",
        )  # fmt: skip
    return plan


def row_payload(plan: list[Column], cells: list[str]) -> dict[str, Any]:
    """One row as the JSON object a generic source would have been sent: mapped fields under their
    names, other columns under their headers (renamed `csv_<header>` when the generic adapter would
    read the header as a field), empty cells left out."""
    payload: dict[str, Any] = {}
    extra: dict[str, str] = {}
    for column in plan:
        value = cells[column.index] if column.index < len(cells) else ""
        if not value or column.target == IGNORE:
            continue
        if column.target == EXTRA:
            extra[column.header] = value
        elif column.target == "message" and "message" in payload:
            payload["message"] = f"{payload['message']}\n{value}"
        elif column.target in payload:
            extra[column.header] = value  # a second phone (email, …) column: kept, not lost
        else:
            payload[column.target] = value
    for index in range(len(plan), len(cells)):  # cells beyond the header row
        if cells[index]:
            extra[f"column {index + 1}"] = cells[index]
    for header, value in extra.items():
        name = f"csv_{header}" if header in _ADAPTER_KEYS or header in payload else header
        payload[name] = value
    return payload


# -- importing --------------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did, row by row; `next_row` is where to go on when the time budget ran out."""

    source_id: str
    import_id: str
    rows: int
    columns: dict[str, str]
    empty_rows: int = 0
    start_row: int = 2
    results: list[dict[str, Any]] = field(default_factory=list)
    next_row: int | None = None

    def count(self, outcome: str) -> int:
        return sum(1 for result in self.results if result["outcome"] == outcome)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source_id": self.source_id,
            "import_id": self.import_id,
            "rows": self.rows,
            "processed": len(self.results),
            "created": self.count("created"),
            "merged": self.count("merged"),
            "duplicate": self.count("duplicate"),
            "quarantined": self.count("quarantined"),
            "empty_rows": self.empty_rows,
            "start_row": self.start_row,
            "complete": self.next_row is None,
            "next_row": self.next_row,
            "columns": self.columns,
            "results": self.results,
        }


def row_request(source_id: str, payload: dict[str, Any], *, import_id: str, row: int, request_id: str,
                imported_by: str | None) -> WebhookRequest:  # fmt: skip
    """The synthetic webhook request for one row. Only the body counts for dedupe (with the
    source), so the same row in a later import of the same file is a `duplicate`."""
    headers = {"content-type": "application/json", "x-leadrelay-import": import_id, "x-leadrelay-row": str(row)}
    if imported_by:
        headers["x-leadrelay-imported-by"] = imported_by
    return WebhookRequest(
        source_id=source_id, method="POST", path=f"/import/{source_id}", headers=headers, query={},
        body=json.dumps(payload, ensure_ascii=False).encode("utf-8"), request_id=request_id,
    )  # fmt: skip


def import_rows(
    capture: CaptureService,
    source: Source,
    sheet: CsvSheet,
    plan: list[Column],
    *,
    imported_by: str | None = None,
    start_row: int = 2,
    budget_s: float | None = None,
    timer: Callable[[], float] = time.monotonic,
) -> ImportReport:
    """Run each row of `sheet` from `start_row` on through capture, in file order, and report.

    With `budget_s`, no new row is started once that many seconds have passed: the report then
    has `next_row`, the first row not done. Rows are independent requests, so a row that fails
    is quarantined and the next one goes ahead.
    """
    started = timer()
    now = capture.clock.now()
    report = ImportReport(
        source_id=source.source_id, import_id=new_id(now), rows=len(sheet.rows),
        columns={column.header: column.target for column in plan}, empty_rows=sheet.empty_rows, start_row=start_row,
    )  # fmt: skip
    for row, cells in sheet.rows:
        if row < start_row:
            continue
        if budget_s is not None and report.results and timer() - started >= budget_s:
            report.next_row = row
            break
        request = row_request(
            source.source_id, row_payload(plan, cells), import_id=report.import_id, row=row,
            request_id=new_id(capture.clock.now()), imported_by=imported_by,
        )  # fmt: skip
        result = capture.capture_trusted(source, request)
        body = result.body if isinstance(result.body, dict) else {"message": result.body}
        if 200 <= result.status < 300 and body.get("lead_id"):
            entry: dict[str, Any] = {"row": row, "outcome": body.get("outcome"), "lead_id": body["lead_id"]}
            if body.get("warnings"):
                entry["warnings"] = body["warnings"]
        else:
            entry = {
                "row": row, "outcome": "quarantined", "error": body.get("error"), "message": body.get("message"),
                "request_id": body.get("request_id") or request.request_id,
            }  # fmt: skip
        report.results.append(entry)
    return report


def import_csv(
    capture: CaptureService,
    source: Source,
    text: str,
    mapping: dict[str, str | None] | None = None,
    **options: Any,
) -> ImportReport:
    """Read `text` as CSV, map its columns (`mapping`, else the source's `csv_mapping` setting,
    else header aliases) and import every row; see `import_rows` for the options."""
    if len(text.encode("utf-8")) > MAX_IMPORT_BYTES:
        raise CsvImportError(413, "payload_too_large", f"the file is over {MAX_IMPORT_BYTES} bytes; split it")
    sheet = read_csv(text)
    saved = source.settings.get("csv_mapping")
    plan = plan_columns(sheet.headers, mapping if mapping is not None else saved if isinstance(saved, dict) else None)
    return import_rows(capture, source, sheet, plan, **options)
