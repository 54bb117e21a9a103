"""The pipeline as data (pure): presets, categories, retiring and renaming."""

from __future__ import annotations

import pytest

from leadrelay.errors import Refused
from leadrelay.models import LeadStatus
from leadrelay.pipeline import PRESETS, Category, check_edit, default_pipeline, from_preset, status_for


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_is_a_valid_pipeline_with_its_won_and_lost_needs(name: str) -> None:
    pipeline = from_preset(name)
    won = [s for s in pipeline.stages if s.category is Category.WON]
    lost = [s for s in pipeline.stages if s.category is Category.LOST]
    assert won and lost and all(s.required_fields == ["value"] for s in won)
    assert all(s.required_fields == ["reason"] for s in lost)


def test_the_default_pipeline_is_the_built_in_statuses() -> None:
    assert [s.stage_id for s in default_pipeline().active()] == ["new", "contacted", "qualified", "won", "lost"]


def test_categories_decide_the_built_in_status() -> None:
    assert status_for(Category.WON) is LeadStatus.WON and status_for(Category.LOST) is LeadStatus.LOST
    assert status_for(Category.OPEN) is None


def test_a_retired_stage_counts_as_where_its_leads_went() -> None:
    old = from_preset("real_estate")
    new = old.model_copy(deep=True)
    negotiation = new.get("negotiation")
    assert negotiation is not None
    negotiation.retired, negotiation.moved_to = True, "site_visit"
    check_edit(old, new, {"negotiation": 4})
    effective = new.effective("negotiation")
    assert effective is not None and effective.stage_id == "site_visit"


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
