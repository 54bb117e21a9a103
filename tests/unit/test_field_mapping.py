"""A source's `field_mapping`: a sender's own field names (a partner's `mob`, a Google or Meta
form's custom question) mapped to lead fields without code."""

from __future__ import annotations

from typing import Any

from leadrelay.models import Source, SourceKind
from leadrelay.sources.fields import PROVIDER_TARGETS, mapping_problems
from leadrelay.sources.generic import GenericAdapter
from leadrelay.sources.google_ads import GoogleAdsAdapter
from leadrelay.sources.meta import lead_from_graph


def _source(kind: SourceKind, **settings: Any) -> Source:
    return Source(source_id="s", kind=kind, name="s", key_hash="x", settings=settings)


def test_generic_fields_are_renamed_and_a_field_the_sender_filled_itself_wins() -> None:
    source = _source(SourceKind.GENERIC, field_mapping={"Mob": "phone", "alt_mob": "phone", "cust": "name"})
    lead = GenericAdapter().parse_one({"mob": "9830012345", "alt_mob": "9830099999", "cust": "Test Bose"}, source)
    assert (lead.phone, lead.name) == ("+919830012345", "Test Bose")
    assert lead.extra == {"alt_mob": "9830099999"}  # the second mapped phone is kept, not lost
    both = GenericAdapter().parse_one({"phone": "9830011111", "mob": "9830012345"}, source)
    assert both.phone == "+919830011111" and both.extra == {"mob": "9830012345"}


def test_google_qualifying_questions_map_by_column_id_or_name() -> None:
    source = _source(SourceKind.GOOGLE_ADS, google_key="g",
                     field_mapping={"which_project?": "product", "Preferred language": "language"})  # fmt: skip
    payload = {"google_key": "g", "lead_id": "L1", "user_column_data": [
        {"column_id": "PHONE_NUMBER", "string_value": "+919000000002"},
        {"column_id": "which_project?", "string_value": "Test Heights"},
        {"column_id": "custom_7", "column_name": "Preferred language", "string_value": "Marathi"},
        {"column_id": "budget_q", "string_value": "1 cr"},
    ]}  # fmt: skip
    (lead,) = GoogleAdsAdapter().parse(payload, source)
    assert (lead.product, lead.language) == ("Test Heights", "mr")  # type: ignore[union-attr]
    assert lead.extra["budget_q"] == "1 cr"  # type: ignore[union-attr]


def test_meta_custom_questions_map_to_lead_fields() -> None:
    source = _source(SourceKind.META_LEAD_ADS, field_mapping={"your_whatsapp_number": "phone",
                                                              "which_city_are_you_in?": "city"})  # fmt: skip
    graph = {"id": "7", "field_data": [{"name": "your_whatsapp_number", "values": ["98300 12345"]},
                                       {"name": "which_city_are_you_in?", "values": ["Kolkata"]}]}  # fmt: skip
    lead = lead_from_graph(graph, {}, source)
    assert (lead.phone, lead.city) == ("+919830012345", "Kolkata") and lead.extra == {}


def test_a_mapping_naming_something_that_is_not_a_lead_field_is_explained() -> None:
    assert mapping_problems({"mob": "phone"}, PROVIDER_TARGETS) == []
    (problem,) = mapping_problems({"mob": "mobile_no"}, PROVIDER_TARGETS)
    assert "mobile_no" in problem and "phone" in problem
    assert mapping_problems(["mob"], PROVIDER_TARGETS)
