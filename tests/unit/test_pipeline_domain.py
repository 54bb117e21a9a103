"""The pipeline as data (pure): presets, categories, retiring and renaming."""

from __future__ import annotations

import pytest

from leadrelay.errors import Refused
from leadrelay.pipeline import PRESETS, Category, Pipeline, check_edit, default_pipeline, from_preset


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_is_a_valid_pipeline_with_its_won_and_lost_needs(name: str) -> None:
    pipeline = from_preset(name)
    won = [s for s in pipeline.stages if s.category is Category.WON]
    lost = [s for s in pipeline.stages if s.category is Category.LOST]
    assert won and lost and all(s.required_fields == ["value"] for s in won)
    assert all(s.required_fields == ["reason"] for s in lost)


def test_the_default_pipeline_is_the_built_in_statuses() -> None:
    # Given an organisation that never edited its pipeline
    pipeline = default_pipeline()
    # Then its stages are today's statuses, with today's rules: won's value optional, lost needs a reason
    assert [s.stage_id for s in pipeline.active()] == ["new", "contacted", "qualified", "won", "lost"]
    assert [s.category.value for s in pipeline.active()] == ["open", "open", "open", "won", "lost"]
    assert pipeline.get("won").required_fields == [] and pipeline.get("lost").required_fields == ["reason"]  # type: ignore[union-attr]


@pytest.mark.parametrize("routing_word", ["new", "offered", "assigned", "unassigned"])
def test_routing_words_count_as_the_entry_stage_of_any_pipeline(routing_word: str) -> None:
    assert default_pipeline().stage_of(routing_word).stage_id == "new"
    education = from_preset("education")
    assert education.stage_of(routing_word).stage_id == "new"
    renamed = education.model_copy(deep=True)
    renamed.stages = [s.model_copy(update={"stage_id": "enquiry"}) if s.stage_id == "new" else s
                      for s in renamed.stages]  # fmt: skip
    assert renamed.stage_of(routing_word).stage_id == "enquiry"


def test_a_routing_word_cannot_be_a_sales_stage() -> None:
    stages = [s.model_dump() for s in default_pipeline().stages]
    stages[1]["stage_id"] = "assigned"
    with pytest.raises(ValueError, match="routing state"):
        Pipeline.model_validate({"stages": stages})


def test_a_status_an_earlier_pipeline_left_counts_by_its_category() -> None:
    # Given leads closed under the default pipeline, and the real-estate pipeline now
    pipeline = from_preset("real_estate")
    # Then won still counts as the first won stage, lost as the lost one, anything else as the entry
    assert pipeline.stage_of("won").stage_id == "booked" and pipeline.stage_of("won").category is Category.WON
    assert pipeline.stage_of("lost").category is Category.LOST
    assert pipeline.stage_of("qualified").stage_id == "new"


def test_the_first_contact_stage_is_contacted_or_the_open_stage_after_entry() -> None:
    assert default_pipeline().contact_stage().stage_id == "contacted"  # type: ignore[union-attr]
    assert from_preset("education").contact_stage().stage_id == "counselled"  # type: ignore[union-attr]


def test_a_retired_stage_counts_as_where_its_leads_went() -> None:
    old = from_preset("real_estate")
    new = old.model_copy(deep=True)
    negotiation = new.get("negotiation")
    assert negotiation is not None
    negotiation.retired, negotiation.moved_to = True, "site_visit"
    check_edit(old, new, {"negotiation": 4})
    effective = new.effective("negotiation")
    assert effective is not None and effective.stage_id == "site_visit"
    assert new.stage_of("negotiation").stage_id == "site_visit"
    assert new.ids_counting_as("site_visit") == ["site_visit", "negotiation"]


def test_retiring_a_stage_in_use_without_a_destination_is_refused() -> None:
    old = from_preset("real_estate")
    new = old.model_copy(deep=True)
    stage = new.get("negotiation")
    assert stage is not None
    stage.retired = True
    with pytest.raises(Refused) as refused:
        check_edit(old, new, {"negotiation": 2})
    assert refused.value.code == "stage_in_use"
    check_edit(old, new, {})  # nobody there: fine
