"""The sales pipeline as data: the stages a business moves its leads through (pure).

Each stage has a stable id (what leads, history and reports keep), a label people see (renaming
changes only this), a category (open, won or lost: what routing, follow-ups and reports go by,
so any pipeline works with them), an order, and the fields a lead must carry to enter it (a deal
value to be won, a reason to be lost). A stage is never deleted: it is retired, and a retired
stage still in use names the stage its leads now count as (`moved_to`), so history stays true.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from leadrelay.errors import Refused
from leadrelay.models.lead import LeadStatus

STAGE_ID = r"^[a-z0-9][a-z0-9_-]{0,47}$"
RequiredField = Literal["value", "reason"]


class Category(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class Stage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage_id: str = Field(pattern=STAGE_ID, description="stable: leads and history keep it")
    label: str = Field(min_length=1, max_length=80, description="what people see; rename freely")
    category: Category
    order: int = Field(ge=0, le=1000)
    required_fields: list[RequiredField] = Field(default_factory=list, description="value (won), reason (lost)")
    retired: bool = False
    moved_to: str | None = Field(default=None, description="a retired stage's leads count as this stage")


class Pipeline(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(default=0, ge=0, description="the optimistic lock: send back what you read")
    preset: str | None = Field(default=None, max_length=40)
    stages: list[Stage] = Field(min_length=3, max_length=50)

    @model_validator(mode="after")
    def _coherent(self) -> Pipeline:
        ids = [stage.stage_id for stage in self.stages]
        if len(set(ids)) != len(ids):
            raise ValueError("stage ids must be unique")
        active = {stage.stage_id: stage for stage in self.stages if not stage.retired}
        for category in Category:
            if not any(stage.category is category for stage in active.values()):
                raise ValueError(f"the pipeline needs at least one active {category.value} stage")
        for stage in self.stages:
            if stage.moved_to is not None and (not stage.retired or stage.moved_to not in active):
                raise ValueError(f"{stage.stage_id}: moved_to must name an active stage, on a retired stage")
        return self

    def get(self, stage_id: str) -> Stage | None:
        return next((stage for stage in self.stages if stage.stage_id == stage_id), None)

    def effective(self, stage_id: str) -> Stage | None:
        """The stage a lead in `stage_id` counts as now (a retired stage's `moved_to`)."""
        stage = self.get(stage_id)
        seen: set[str] = set()
        while stage is not None and stage.retired and stage.moved_to and stage.stage_id not in seen:
            seen.add(stage.stage_id)
            stage = self.get(stage.moved_to)
        return stage

    def active(self) -> list[Stage]:
        return sorted((stage for stage in self.stages if not stage.retired), key=lambda stage: stage.order)


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


def status_for(category: Category) -> LeadStatus | None:
    """The built-in status a stage's category sets (open stages leave the working status as it is)."""
    return {Category.WON: LeadStatus.WON, Category.LOST: LeadStatus.LOST}.get(category)


def _stages(*rows: tuple[str, str, Category]) -> list[Stage]:
    stages = []
    for order, (stage_id, label, category) in enumerate(rows):
        required: list[RequiredField] = (["value"] if category is Category.WON else
                                         ["reason"] if category is Category.LOST else [])  # fmt: skip
        stages.append(Stage(stage_id=stage_id, label=label, category=category, order=order * 10,
                            required_fields=required))  # fmt: skip
    return stages


OPEN, WON, LOST = Category.OPEN, Category.WON, Category.LOST
# Pipelines to start from, by industry; an organisation edits its copy freely.
PRESETS: dict[str, list[Stage]] = {
    "real_estate": _stages(
        ("new", "New enquiry", OPEN), ("contacted", "Contacted", OPEN), ("site_visit", "Site visit", OPEN),
        ("negotiation", "Negotiation", OPEN), ("booked", "Booked", WON), ("lost", "Lost", LOST),
    ),
    "education": _stages(
        ("new", "New enquiry", OPEN), ("counselled", "Counselled", OPEN), ("applied", "Applied", OPEN),
        ("fee_paid", "Fee paid", WON), ("lost", "Not joining", LOST),
    ),
    "loans_dsa": _stages(
        ("new", "New lead", OPEN), ("documents", "Documents collected", OPEN), ("login", "File logged in", OPEN),
        ("sanctioned", "Sanctioned", OPEN), ("disbursed", "Disbursed", WON), ("rejected", "Rejected", LOST),
    ),
    "insurance": _stages(
        ("new", "New lead", OPEN), ("quoted", "Quote shared", OPEN), ("proposal", "Proposal signed", OPEN),
        ("issued", "Policy issued", WON), ("lost", "Lost", LOST),
    ),
    "b2b_services": _stages(
        ("new", "New lead", OPEN), ("qualified", "Qualified", OPEN), ("proposal", "Proposal sent", OPEN),
        ("negotiation", "Negotiation", OPEN), ("won", "Won", WON), ("lost", "Lost", LOST),
    ),
}  # fmt: skip


def default_pipeline() -> Pipeline:
    """The built-in statuses as a pipeline, for an organisation that never set one."""
    stages = _stages(("new", "New", OPEN), ("contacted", "Contacted", OPEN), ("qualified", "Qualified", OPEN),
                     ("won", "Won", WON), ("lost", "Lost", LOST))  # fmt: skip
    return Pipeline(stages=stages)


def from_preset(name: str) -> Pipeline:
    if name not in PRESETS:
        raise Refused("unknown_preset", f"no preset {name!r}; presets: {', '.join(sorted(PRESETS))}", 404)
    return Pipeline(preset=name, stages=[stage.model_copy() for stage in PRESETS[name]])
