"""The pipeline's types (models/pipeline.py) as a specification: which stage a status counts as,
where a first call moves a lead, labels and counts as people see them, and the built-in pipeline."""

from __future__ import annotations

import pytest

from leadrelay.models.pipeline import Category, Pipeline, Stage, default_pipeline, make_stages

OPEN, WON, LOST = Category.OPEN, Category.WON, Category.LOST


def pipeline(*rows: tuple[str, str, Category], retired: dict[str, str | None] | None = None) -> Pipeline:
    """Stages in this order; `retired` maps a retired stage to where its leads went."""
    stages = make_stages(*rows)
    for stage in stages:
        if retired and stage.stage_id in retired:
            stage.retired, stage.moved_to = True, retired[stage.stage_id]
    return Pipeline(stages=stages)


def test_the_built_in_pipeline_names_orders_and_asks_what_the_statuses_always_did() -> None:
    # Given an organisation that never set a pipeline
    built_in = default_pipeline()
    # Then its stages are the built-in statuses, labelled and ordered as people know them
    assert [(s.stage_id, s.label, s.category, s.order) for s in built_in.stages] == [
        ("new", "New", OPEN, 0), ("contacted", "Contacted", OPEN, 10), ("qualified", "Qualified", OPEN, 20),
        ("won", "Won", WON, 30), ("lost", "Lost", LOST, 40),
    ]  # fmt: skip
    # And a won lead may carry a value but need not; a lost one needs a reason
    assert [s.required_fields for s in built_in.stages] == [[], [], [], [], ["reason"]]
    assert built_in.version == 0 and built_in.preset is None


def test_made_stages_ask_a_won_lead_for_its_value_and_a_lost_one_for_its_reason() -> None:
    # When stages are made from rows (as the presets are)
    stages = make_stages(("a", "A", OPEN), ("b", "B", WON), ("c", "C", LOST))
    # Then they are ordered ten apart, the won stage needs a value, the lost one a reason, open ones nothing
    assert [(s.order, s.required_fields) for s in stages] == [(0, []), (10, ["value"]), (20, ["reason"])]
    # And without the value rule a won stage needs nothing
    assert make_stages(("b", "B", WON), won_needs_value=False)[0].required_fields == []
    assert all(not s.retired and s.moved_to is None for s in stages)
    assert [s.closes for s in stages] == [False, True, True]


def test_a_label_is_the_stages_and_an_unknown_status_shows_as_itself() -> None:
    built_in = default_pipeline()
    assert built_in.label("qualified") == "Qualified"
    # A status an earlier pipeline left (or a routing word) is shown as it is stored
    assert built_in.label("site_visit") == "site_visit"
    assert built_in.label("assigned") == "assigned"


def test_counts_in_use_show_a_retired_stages_leads_under_the_stage_they_went_to() -> None:
    # Given a pipeline whose "visit" stage was retired into "meeting"
    visits = pipeline(("new", "New", OPEN), ("visit", "Visit", OPEN), ("meeting", "Meeting", OPEN),
                      ("won", "Won", WON), ("lost", "Lost", LOST), retired={"visit": "meeting"})  # fmt: skip
    # When the leads per stored status are shown
    shown = visits.shown_in_use({"new": 4, "visit": 2, "meeting": 3, "won": 1})
    # Then visit's leads are counted under meeting, the rest where they are
    assert shown == {"new": 4, "meeting": 5, "won": 1}
    # And a status the pipeline never had is kept as it is, not folded into the entry stage
    assert visits.shown_in_use({"site_visit": 2, "new": 1}) == {"site_visit": 2, "new": 1}
    assert visits.shown_in_use({}) == {}


def test_where_a_first_call_moves_a_lead_nobody_worked_yet() -> None:
    # contacted, when the pipeline has it (wherever it sits)
    late = pipeline(("new", "New", OPEN), ("qualified", "Qualified", OPEN), ("contacted", "Contacted", OPEN),
                    ("won", "Won", WON), ("lost", "Lost", LOST))  # fmt: skip
    assert late.contact_stage().stage_id == "contacted"  # type: ignore[union-attr]
    # contacted retired into another stage: that stage
    moved = pipeline(("new", "New", OPEN), ("contacted", "Contacted", OPEN), ("reached", "Reached", OPEN),
                     ("qualified", "Qualified", OPEN), ("won", "Won", WON), ("lost", "Lost", LOST),
                     retired={"contacted": "qualified"})  # fmt: skip
    assert moved.contact_stage().stage_id == "qualified"  # type: ignore[union-attr]
    # without contacted: the open stage after the entry one, by order
    assert pipeline(("new", "New", OPEN), ("call", "Call", OPEN), ("visit", "Visit", OPEN), ("won", "Won", WON),
                    ("lost", "Lost", LOST)).contact_stage().stage_id == "call"  # type: ignore[union-attr]  # fmt: skip
    # and no such stage when the entry is the only open one
    assert pipeline(("new", "New", OPEN), ("won", "Won", WON), ("lost", "Lost", LOST)).contact_stage() is None


def test_a_retired_contacted_stage_without_a_destination_is_not_where_a_call_moves_a_lead() -> None:
    retired = pipeline(("new", "New", OPEN), ("contacted", "Contacted", OPEN), ("call", "Call", OPEN),
                       ("won", "Won", WON), ("lost", "Lost", LOST), retired={"contacted": None})  # fmt: skip
    assert retired.contact_stage().stage_id == "call"  # type: ignore[union-attr]


@pytest.mark.parametrize("word", ["offered", "assigned", "unassigned"])
def test_routing_words_are_the_entry_stage_even_beside_a_new_stage_that_is_not_the_entry(word: str) -> None:
    # Given a pipeline that starts at "enquiry" and keeps a later open stage called "new"
    odd = pipeline(("enquiry", "Enquiry", OPEN), ("new", "New", OPEN), ("won", "Won", WON), ("lost", "Lost", LOST))
    # Then who-holds-it words count as the entry stage, and "new" is the stage of that name
    assert odd.stage_of(word).stage_id == "enquiry"
    assert odd.stage_of("new").stage_id == "new"


def test_new_counts_where_a_retired_new_stage_went_and_as_the_entry_without_one() -> None:
    # Given "new" retired into "fresh"
    moved = pipeline(("new", "New", OPEN), ("fresh", "Fresh", OPEN), ("won", "Won", WON), ("lost", "Lost", LOST),
                     retired={"new": "fresh"})  # fmt: skip
    assert moved.stage_of("new").stage_id == "fresh"
    # Given no "new" at all: the entry stage
    assert (
        pipeline(("enquiry", "Enquiry", OPEN), ("won", "Won", WON), ("lost", "Lost", LOST)).stage_of("new").stage_id
        == "enquiry"
    )


def test_a_retired_stage_in_use_counts_only_as_its_destination() -> None:
    visits = pipeline(("new", "New", OPEN), ("visit", "Visit", OPEN), ("meeting", "Meeting", OPEN),
                      ("won", "Won", WON), ("lost", "Lost", LOST), retired={"visit": "meeting"})  # fmt: skip
    assert visits.ids_counting_as("meeting") == ["visit", "meeting"]
    assert visits.ids_counting_as("new") == ["new"]
    assert visits.ids_counting_as("visit") == ["visit"]


def test_following_retired_stages_ends_even_on_a_stored_loop() -> None:
    # Given a stored pipeline read without validation whose retired stages point at each other
    a = Stage(stage_id="a", label="A", category=OPEN, order=0, retired=True, moved_to="b")
    b = Stage(stage_id="b", label="B", category=OPEN, order=1, retired=True, moved_to="a")
    looped = Pipeline.model_construct(stages=[a, b])
    # Then the walk stops at a retired stage rather than running forever
    stage = looped.effective("a")
    assert stage is not None and stage.retired


def test_stage_ids_must_be_unique_and_every_category_needs_an_active_stage() -> None:
    rows = [s.model_dump() for s in default_pipeline().stages]
    with pytest.raises(ValueError, match="unique"):
        Pipeline.model_validate({"stages": [*rows, rows[0]]})
    rows[3]["retired"] = True  # the only won stage
    with pytest.raises(ValueError, match="active won stage"):
        Pipeline.model_validate({"stages": rows})


def test_moved_to_must_name_an_active_stage_on_a_retired_one() -> None:
    rows = [s.model_dump() for s in default_pipeline().stages]
    rows[1]["moved_to"] = "qualified"  # contacted is not retired
    with pytest.raises(ValueError, match="moved_to"):
        Pipeline.model_validate({"stages": rows})
    rows[1]["retired"], rows[1]["moved_to"] = True, "gone"
    with pytest.raises(ValueError, match="moved_to"):
        Pipeline.model_validate({"stages": rows})
