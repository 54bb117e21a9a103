"""The sales pipeline as data: the stages a business moves its leads through (pure; the types are
in models/pipeline.py, edits and presets here).

Each stage has a stable id (what leads, history and reports keep), a label people see (renaming
changes only this), a category (open, won or lost: what routing, follow-ups and reports go by,
so any pipeline works with them), an order, and the fields a lead must carry to enter it (a deal
value to be won, a reason to be lost). A stage is never deleted: it is retired, and a retired
stage still in use names the stage its leads now count as (`moved_to`), so history stays true.
"""

from __future__ import annotations

from leadrelay.errors import Refused
from leadrelay.models.pipeline import (
    ROUTING_STATUSES,
    STAGE_ID,
    Category,
    Pipeline,
    RequiredField,
    Stage,
    default_pipeline,
    make_stages,
)

__all__ = [
    "PRESETS", "ROUTING_STATUSES", "STAGE_ID", "Category", "Pipeline", "RequiredField", "Stage", "check_edit",
    "default_pipeline", "from_preset",
]  # fmt: skip


def check_edit(old: Pipeline, new: Pipeline, in_use: dict[str, int]) -> None:
    """Refuse an edit that would break history or strand leads: a stage dropped from the list
    (retire it instead), or a stage in use retired without saying where its leads go."""
    kept = {stage.stage_id for stage in new.stages}
    dropped = [stage.stage_id for stage in old.stages if stage.stage_id not in kept]
    if dropped:
        raise Refused("stage_removed", f"stages are retired, never removed (history names them): {', '.join(dropped)}",
                      422)  # fmt: skip
    for stage in new.stages:
        before = old.get(stage.stage_id)
        newly_retired = stage.retired and (before is None or not before.retired)
        if newly_retired and in_use.get(stage.stage_id, 0) > 0 and not stage.moved_to:
            count = in_use[stage.stage_id]
            raise Refused("stage_in_use", f"{count} leads are in {stage.stage_id!r}: say where they go with moved_to")


OPEN, WON, LOST = Category.OPEN, Category.WON, Category.LOST
# Pipelines to start from, by industry; an organisation edits its copy freely.
PRESETS: dict[str, list[Stage]] = {
    "real_estate": make_stages(
        ("new", "New enquiry", OPEN), ("contacted", "Contacted", OPEN), ("site_visit", "Site visit", OPEN),
        ("negotiation", "Negotiation", OPEN), ("booked", "Booked", WON), ("lost", "Lost", LOST),
    ),
    "education": make_stages(
        ("new", "New enquiry", OPEN), ("counselled", "Counselled", OPEN), ("applied", "Applied", OPEN),
        ("fee_paid", "Fee paid", WON), ("lost", "Not joining", LOST),
    ),
    "loans_dsa": make_stages(
        ("new", "New lead", OPEN), ("documents", "Documents collected", OPEN), ("login", "File logged in", OPEN),
        ("sanctioned", "Sanctioned", OPEN), ("disbursed", "Disbursed", WON), ("rejected", "Rejected", LOST),
    ),
    "insurance": make_stages(
        ("new", "New lead", OPEN), ("quoted", "Quote shared", OPEN), ("proposal", "Proposal signed", OPEN),
        ("issued", "Policy issued", WON), ("lost", "Lost", LOST),
    ),
    "b2b_services": make_stages(
        ("new", "New lead", OPEN), ("qualified", "Qualified", OPEN), ("proposal", "Proposal sent", OPEN),
        ("negotiation", "Negotiation", OPEN), ("won", "Won", WON), ("lost", "Lost", LOST),
    ),
}  # fmt: skip


def from_preset(name: str) -> Pipeline:
    if name not in PRESETS:
        raise Refused("unknown_preset", f"no preset {name!r}; presets: {', '.join(sorted(PRESETS))}", 404)
    return Pipeline(preset=name, stages=[stage.model_copy() for stage in PRESETS[name]])
