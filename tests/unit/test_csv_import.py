"""CSV import, the file side: encodings, delimiters, quoting, header aliases, explicit mappings,
limits, and the JSON object each row becomes (what a generic source would have been sent)."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from leadrelay.capture.csv_import import (
    EXTRA,
    IGNORE,
    CsvImportError,
    decode_csv_bytes,
    header_key,
    plan_columns,
    read_csv,
    row_payload,
    sniff_delimiter,
)
from leadrelay.models import Source
from leadrelay.sources.generic import GenericAdapter

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"


def payloads(text: str, mapping: dict[str, str | None] | None = None) -> dict[int, dict[str, str]]:
    sheet = read_csv(text)
    plan = plan_columns(sheet.headers, mapping)
    return {row: row_payload(plan, cells) for row, cells in sheet.rows}


def targets(text: str, mapping: dict[str, str | None] | None = None) -> dict[str, str]:
    return {column.header: column.target for column in plan_columns(read_csv(text).headers, mapping)}


# -- encodings ------------------------------------------------------------------------------------


def test_utf8_with_and_without_a_bom_reads_the_same_devanagari_name() -> None:
    text = "Name,Phone\nप्रिया वर्मा,9876543210\n"
    plain = decode_csv_bytes(text.encode("utf-8"))
    with_bom = decode_csv_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))
    assert plain == with_bom == text
    assert payloads(with_bom)[2]["name"] == "प्रिया वर्मा"


def test_excel_unicode_text_in_utf16_is_read_with_or_without_its_bom() -> None:
    text = "Name\tMobile\nअनिल कुमार\t9876543210\n"
    assert decode_csv_bytes(text.encode("utf-16")) == text  # BOM + little-endian
    assert decode_csv_bytes(text.encode("utf-16-le")) == text
    assert decode_csv_bytes(text.encode("utf-16-be")) == text
    assert payloads(decode_csv_bytes(text.encode("utf-16")))[2] == {"name": "अनिल कुमार", "phone": "9876543210"}


def test_a_windows_1252_file_falls_back_gracefully() -> None:
    data = "Name,Phone,Remarks\nJosé D’Souza,9876543210,Budget Rs 75 lakh – urgent\n".encode("cp1252")
    row = payloads(decode_csv_bytes(data))[2]
    assert row == {"name": "José D’Souza", "phone": "9876543210", "message": "Budget Rs 75 lakh – urgent"}


def test_an_excel_workbook_or_binary_garbage_is_refused_with_a_clear_message() -> None:
    with pytest.raises(CsvImportError) as workbook:
        decode_csv_bytes(b"PK\x03\x04\x14\x00\x06\x00rest of a zip")
    assert (workbook.value.status, workbook.value.code) == (415, "not_csv") and "CSV UTF-8" in str(workbook.value)
    with pytest.raises(CsvImportError) as undefined:
        decode_csv_bytes(b"Name,Phone\nA\x81\x8d\x8f,9876543210\n")  # not UTF-8, and bytes cp1252 leaves undefined
    assert undefined.value.code == "invalid_encoding"


# -- delimiters and quoting -----------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_delimiter_is_sniffed(delimiter: str) -> None:
    text = delimiter.join(["Name", "Phone", "City"]) + "\n" + delimiter.join(["Asha", "9876543210", "Pune"]) + "\n"
    assert sniff_delimiter(text) == delimiter
    assert payloads(text)[2] == {"name": "Asha", "phone": "9876543210", "city": "Pune"}


def test_a_single_column_file_falls_back_to_a_comma() -> None:
    text = "Phone\n9876543210\n9876543211\n"
    assert sniff_delimiter(text) == ","
    assert payloads(text) == {2: {"phone": "9876543210"}, 3: {"phone": "9876543211"}}


def test_quoted_commas_do_not_fool_the_fallback_of_a_semicolon_file() -> None:
    text = 'Name;Phone\n"Kumar, Anil";9876543210\n'
    assert sniff_delimiter(text) == ";"
    assert payloads(text)[2]["name"] == "Kumar, Anil"


def test_the_nobroker_fixture_keeps_quoted_commas_and_newlines_and_counts_rows_as_in_the_file() -> None:
    sheet = read_csv(decode_csv_bytes((FIXTURES / "nobroker_export.csv").read_bytes()))
    assert sheet.headers[0] == "Lead ID"  # the BOM is not part of the first header
    # Row 2 spans two lines; row 5 is empty and skipped; numbering follows the records.
    assert [row for row, _ in sheet.rows] == [2, 3, 4, 6, 7] and sheet.empty_rows == 1
    rows = dict(sheet.rows)
    assert rows[2][5] == "2 BHK, Baner" and rows[2][7] == "Wants a site visit\non Saturday"
    assert rows[7][1] == "Kumar, Anil"


def test_a_semicolon_export_with_quoted_semicolons_is_read_whole() -> None:
    sheet = read_csv((FIXTURES / "expo_semicolon.csv").read_text(encoding="utf-8"))
    assert sheet.delimiter == ";"
    assert dict(sheet.rows)[2][4] == "Met at the expo; wants a brochure"


def test_short_rows_are_padded_and_cells_beyond_the_header_go_to_extra() -> None:
    text = "Name,Phone\nAsha\nRavi,9876543210,walk-in\n"
    assert payloads(text) == {2: {"name": "Asha"}, 3: {"name": "Ravi", "phone": "9876543210", "column 3": "walk-in"}}


def test_blank_and_duplicate_headers_are_named_so_no_cell_is_lost() -> None:
    text = "Name,Phone,,Notes,Notes\nAsha,9876543210,x,first,second\n"
    assert read_csv(text).headers == ["Name", "Phone", "column 3", "Notes", "Notes (2)"]
    # Two columns feeding `message` are joined; the unnamed column stays in extra.
    assert payloads(text)[2] == {"name": "Asha", "phone": "9876543210", "message": "first\nsecond", "column 3": "x"}


# -- header aliases and explicit mappings ---------------------------------------------------------


def test_portal_headers_map_by_alias() -> None:
    headers = ("Full Name,Mobile No.,E-mail,PIN,Requirement,Project,Budget,Enquiry ID,Language,UTM Source,"
               "utm_campaign,State,Posted On")  # fmt: skip
    mapped = targets(headers + "\n" + ",".join(["x"] * 13) + "\n")
    assert mapped == {
        "Full Name": "name", "Mobile No.": "phone", "E-mail": "email", "PIN": "pincode", "Requirement": "message",
        "Project": "product", "Budget": "budget", "Enquiry ID": "external_id", "Language": "language",
        "UTM Source": "utm_source", "utm_campaign": "utm_campaign", "State": "state", "Posted On": EXTRA,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("header", "field"),
    [("Customer Name", "name"), ("Phone Number", "phone"), ("Contact", "phone"), ("Mobile Number", "phone"),
     ("Email", "email"), ("Zip", "pincode"), ("Remarks", "message"), ("Comments", "message"),
     ("Property", "product"), ("Lead Id", "external_id"), ("ID", "external_id"), ("City", "city"),
     ("First Name", "first_name"), ("gclid", "gclid")],
)  # fmt: skip
def test_header_aliases(header: str, field: str) -> None:
    assert targets(f"{header},E-mail address\n1,asha@example.com\n")[header] == field


def test_header_key_folds_case_and_punctuation() -> None:
    assert [header_key(h) for h in ("E-mail", " Mobile No. ", "UTM_Source", "Lead  ID")] == [
        "e_mail", "mobile_no", "utm_source", "lead_id",
    ]  # fmt: skip


def test_an_explicit_mapping_wins_and_the_other_columns_still_map_by_alias() -> None:
    text = "Cust,Cust Mob,Phone,Sr No,City\nAsha,9876543210,080-22345678,1,Pune\n"
    mapping: dict[str, str | None] = {"Cust": "name", "Cust Mob": "phone", "Sr No": None}
    assert targets(text, mapping) == {"Cust": "name", "Cust Mob": "phone", "Phone": EXTRA, "Sr No": IGNORE,
                                      "City": "city"}  # fmt: skip
    # The office phone is not lost: it is kept in extra under its header.
    assert payloads(text, mapping)[2] == {"name": "Asha", "phone": "9876543210", "city": "Pune",
                                          "Phone": "080-22345678"}  # fmt: skip


def test_a_mapping_may_name_columns_in_any_case_and_keep_one_in_extra() -> None:
    text = "Customer,Contact,Email\nAsha,9876543210,asha@example.com\n"
    assert targets(text, {"contact": "phone", "EMAIL": "extra"}) == {
        "Customer": "name", "Contact": "phone", "Email": EXTRA,
    }  # fmt: skip


def test_a_mapping_naming_a_missing_column_or_an_unknown_field_is_refused() -> None:
    text = "Name,Phone\nAsha,9876543210\n"
    with pytest.raises(CsvImportError) as missing:
        plan_columns(read_csv(text).headers, {"Mobile": "phone"})
    assert missing.value.code == "unknown_column" and "Name, Phone" in str(missing.value)
    with pytest.raises(CsvImportError) as unknown:
        plan_columns(read_csv(text).headers, {"Phone": "mobile_phone"})
    assert unknown.value.code == "invalid_mapping" and "'mobile_phone'" in str(unknown.value)


def test_when_both_phone_columns_map_the_first_non_empty_cell_wins_and_the_other_is_kept() -> None:
    text = "Name,Mobile,Phone\nAsha,,9876543210\nRavi,9876543211,9876543212\n"
    rows = payloads(text)
    assert rows[2] == {"name": "Asha", "phone": "9876543210"}
    assert rows[3] == {"name": "Ravi", "phone": "9876543211", "Phone": "9876543212"}


def test_a_file_without_a_phone_or_email_column_is_refused_before_any_row() -> None:
    with pytest.raises(CsvImportError) as refused:
        plan_columns(read_csv("Name,City\nAsha,Pune\n").headers)
    assert refused.value.code == "no_contact_column" and "Name, City" in str(refused.value)


def test_a_file_whose_first_row_is_a_lead_is_told_it_needs_a_header() -> None:
    with pytest.raises(CsvImportError) as refused:
        plan_columns(read_csv("Asha,9876543210,Pune\nRavi,9876543211,Noida\n").headers)
    assert refused.value.code == "missing_header"


# -- rows, limits -------------------------------------------------------------------------------


def test_empty_rows_are_skipped_and_counted() -> None:
    sheet = read_csv("Name,Phone\n\nAsha,9876543210\n,\n  ,  \nRavi,9876543211\n\n")
    assert [row for row, _ in sheet.rows] == [3, 6] and sheet.empty_rows == 4


def test_leading_blank_lines_before_the_header_are_skipped() -> None:
    sheet = read_csv("\n\nName,Phone\nAsha,9876543210\n")
    assert sheet.header_row == 3 and sheet.rows == [(4, ["Asha", "9876543210"])]


def test_too_many_rows_is_refused_naming_the_limit() -> None:
    text = "Phone\n" + "".join(f"98765{n:05d}\n" for n in range(11))
    assert len(read_csv(text, max_rows=11).rows) == 11
    with pytest.raises(CsvImportError) as refused:
        read_csv(text, max_rows=10)
    assert (refused.value.status, refused.value.code) == (413, "too_many_rows") and "10 rows" in str(refused.value)


@pytest.mark.parametrize(("text", "code"), [("", "empty_file"), ("  \n\n", "empty_file"), ("Name,Phone\n", "no_rows")])
def test_empty_files_are_refused(text: str, code: str) -> None:
    with pytest.raises(CsvImportError) as refused:
        read_csv(text)
    assert refused.value.code == code and refused.value.status == 422


def test_a_malformed_file_names_the_row() -> None:
    with pytest.raises(CsvImportError) as refused:
        read_csv('Name,Phone\n"' + "x" * 200_000 + '",9876543210\n')
    assert refused.value.code == "malformed_csv" and "row 2" in str(refused.value)


# -- what the generic adapter makes of each row ---------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "e164", "kind"),
    [("098765 43210", "+919876543210", "mobile"), ("+91-9876543210", "+919876543210", "mobile"),
     ("91 98765-43210", "+919876543210", "mobile"), ("080-22345678", "+918022345678", "landline")],
)  # fmt: skip
def test_messy_phones_in_a_row_become_e164(phone: str, e164: str, kind: str) -> None:
    row = payloads(f'Customer Name,Mobile Number\nप्रिया वर्मा,"{phone}"\n')[2]
    source = Source(source_id="nobroker", name="NoBroker", key_hash="x")
    lead = GenericAdapter().parse_one(row, source)
    assert (lead.phone, lead.phone_type, lead.name) == (e164, kind, "प्रिया वर्मा")


def test_unmapped_columns_end_up_in_the_leads_extra_under_their_headers() -> None:
    rows = payloads(decode_csv_bytes((FIXTURES / "nobroker_export.csv").read_bytes()))
    source = Source(source_id="nobroker", name="NoBroker", key_hash="x")
    lead = GenericAdapter().parse_one(rows[2], source)
    assert lead.external_id == "NB-1001" and lead.product == "2 BHK, Baner" and lead.budget is not None
    assert lead.extra == {"Posted On": "2026-11-20"}
    assert lead.message == "Wants a site visit on Saturday"
