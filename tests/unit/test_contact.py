"""Normalising what people type: phones to E.164 with Indian defaults, emails, names, budgets."""

from __future__ import annotations

from decimal import Decimal

import pytest

from leadrelay.models.contact import (
    ContactError,
    normalize_email,
    normalize_language,
    normalize_phone,
    normalize_pincode,
    normalize_text,
    parse_budget,
)


@pytest.mark.parametrize(
    "typed",
    ["9876543210", "+91 98765 43210", "919876543210", "09876543210", "+91-98765-43210",
     "(98765) 43210", "0091 9876543210", " 98765.43210 ", 9876543210],
)  # fmt: skip
def test_indian_mobiles_typed_any_common_way_become_one_e164_number(typed: object) -> None:
    assert normalize_phone(typed) == ("+919876543210", "mobile")


def test_a_bengaluru_landline_stays_a_landline_and_is_not_mistaken_for_a_mobile() -> None:
    assert normalize_phone("080-23456789") == ("+918023456789", "landline")


def test_a_foreign_number_with_its_country_code_is_kept() -> None:
    assert normalize_phone("+1 415 555 2671")[0] == "+14155552671"


@pytest.mark.parametrize("typed", ["12345", "+91 98765", "not a phone", "", "98765432101234"])
def test_numbers_outside_any_allocated_range_are_refused_with_the_field_named(typed: str) -> None:
    with pytest.raises(ContactError) as caught:
        normalize_phone(typed)
    assert caught.value.field == "phone"


def test_emails_are_lower_cased_and_checked_for_shape() -> None:
    assert normalize_email("  Ravi.Kumar@Example.COM ") == "ravi.kumar@example.com"
    with pytest.raises(ContactError):
        normalize_email("ravi@localhost")


@pytest.mark.parametrize("name", ["राम कुमार", "முருகன்", "ગીતા પટેલ", "ರಮೇಶ್", "Zoë D'Souza"])
def test_names_in_any_script_are_kept_as_written(name: str) -> None:
    assert normalize_text(f"  {name}  ") == name


def test_names_are_stored_in_nfc_so_the_same_name_compares_equal() -> None:
    decomposed = "Zoe\u0308"
    assert normalize_text(decomposed) == "Zo\u00eb"


@pytest.mark.parametrize(
    ("typed", "rupees"),
    [("75 lakh", Decimal("7500000")), ("₹1.2 crore", Decimal("12000000")), ("75,00,000", Decimal("7500000")),
     ("50k", Decimal("50000")), (2500000, Decimal("2500000")), ("Rs. 12.50", Decimal("12.50"))],
)  # fmt: skip
def test_budgets_in_indian_notation_become_rupees(typed: object, rupees: Decimal) -> None:
    assert parse_budget(typed) == rupees


def test_pincodes_are_six_digits_not_starting_with_zero() -> None:
    assert normalize_pincode("201 301") == "201301"
    with pytest.raises(ContactError):
        normalize_pincode("012345")


def test_languages_are_iso_codes_from_codes_or_names() -> None:
    assert normalize_language("Hindi") == "hi"
    assert normalize_language("TA") == "ta"
    with pytest.raises(ContactError):
        normalize_language("Klingon language")
