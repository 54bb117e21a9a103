"""The sales pipeline's types (pure data): stages, their categories, and which stage a status is.

A lead's sales status is the stable id of a stage of its organisation's pipeline. Each stage has a
label people see (renaming changes only this), a category (open, won or lost: what routing,
follow-ups and reports go by, so any pipeline works with them), an order, and the fields a lead
must carry to enter it (a deal value to be won, a reason to be lost). A stage is never deleted: it
is retired, and a retired stage still in use names the stage its leads now count as (`moved_to`).

Routing's own words (`new`, `offered`, `assigned`, `unassigned`: who holds the lead) are not sales
stages. A lead shows them as its `status` only while it sits in the pipeline's entry stage (the
first open one) and nobody has worked it yet; they all count as that entry stage.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

STAGE_ID = r"^[a-z0-9][a-z0-9_-]{0,47}$"
RequiredField = Literal["value", "reason"]

# Who holds a lead that nobody has worked yet (routing writes these, people never set them).
ROUTING_STATUSES = frozenset({"new", "offered", "assigned", "unassigned"})
# The first-contact stage of the built-in statuses (a call that reaches the person moves the lead there).
CONTACTED = "contacted"


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

    @property
    def closes(self) -> bool:
        return self.category is not Category.OPEN


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
            if stage.stage_id in ROUTING_STATUSES - {"new"}:
                raise ValueError(f"{stage.stage_id!r} is a routing state (who holds the lead), not a sales stage")
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

    def entry(self) -> Stage:
        """Where a lead starts: the first active open stage."""
        return next(stage for stage in self.active() if stage.category is Category.OPEN)

    def first(self, category: Category) -> Stage:
        return next(stage for stage in self.active() if stage.category is category)

    def contact_stage(self) -> Stage | None:
        """Where a first call that reaches the person moves a lead nobody worked yet: `contacted` when
        the pipeline has it, else the open stage after the entry one (None when there is none)."""
        stage = self.effective(CONTACTED)
        if stage is not None and not stage.retired:
            return stage
        opened = [stage for stage in self.active() if stage.category is Category.OPEN]
        return opened[1] if len(opened) > 1 else None

    def stage_of(self, status: str) -> Stage:
        """The stage a lead whose `status` is this counts as: routing's words are the entry stage, a
        retired stage is where its leads went, and a status the pipeline does not know (a lead stored
        under an earlier pipeline) counts by the built-in word's category, else as the entry stage."""
        if status in ROUTING_STATUSES and (status != "new" or self.get("new") is None):
            return self.entry()
        stage = self.effective(status)
        if stage is not None and not stage.retired:
            return stage
        if status in (Category.WON.value, Category.LOST.value):
            return self.first(Category(status))
        return self.entry()

    def label(self, status: str) -> str:
        stage = self.get(status)
        return stage.label if stage is not None else status

    def ids_counting_as(self, stage_id: str) -> list[str]:
        """`stage_id` and every retired stage whose leads now count as it (a `status=` filter)."""
        return [stage.stage_id for stage in self.stages if stage.stage_id == stage_id
                or (stage.retired and self.stage_of(stage.stage_id).stage_id == stage_id)]  # fmt: skip

    def shown_in_use(self, counts: dict[str, int]) -> dict[str, int]:
        """Leads per stage as people see them: a retired stage's leads under the stage they moved to."""
        shown: dict[str, int] = {}
        for stage_id, count in counts.items():
            target = self.stage_of(stage_id).stage_id if self.get(stage_id) is not None else stage_id
            shown[target] = shown.get(target, 0) + count
        return shown


def make_stages(*rows: tuple[str, str, Category], won_needs_value: bool = True) -> list[Stage]:
    stages = []
    for order, (stage_id, label, category) in enumerate(rows):
        required: list[RequiredField] = (["value"] if category is Category.WON and won_needs_value else
                                         ["reason"] if category is Category.LOST else [])  # fmt: skip
        stages.append(Stage(stage_id=stage_id, label=label, category=category, order=order * 10,
                            required_fields=required))  # fmt: skip
    return stages


def default_pipeline() -> Pipeline:
    """The built-in statuses as a pipeline, for an organisation that never set one: new (with
    routing's offered/assigned/unassigned), contacted, qualified, won (a value is optional), lost
    (a reason is required)."""
    stages = make_stages(("new", "New", Category.OPEN), ("contacted", "Contacted", Category.OPEN),
                         ("qualified", "Qualified", Category.OPEN), ("won", "Won", Category.WON),
                         ("lost", "Lost", Category.LOST), won_needs_value=False)  # fmt: skip
    return Pipeline(stages=stages)
