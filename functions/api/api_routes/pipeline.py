"""The organisation's pipeline (stages as data) and moving a lead through it."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BaseModel, ConfigDict, Field

from api_routes.common import NotFound, api_error, lead_view, principal
from leadrelay import wiring
from leadrelay.auth import Role
from leadrelay.clock import get_clock
from leadrelay.errors import Refused
from leadrelay.pipeline import PRESETS, Category, Pipeline, check_edit, from_preset

router = Router()


class PipelineDocument(Pipeline):
    """The pipeline as GET shows it, to send back edited (`in_use` is read-only)."""

    model_config = ConfigDict(defer_build=True)
    in_use: dict[str, int] | None = Field(default=None, description="read-only: leads per stage")


def _store() -> Any:
    return wiring.pipeline_store()


def _view(pipeline: Pipeline, in_use: dict[str, int]) -> dict[str, Any]:
    """`in_use`: leads people put in each stage, a retired stage's under the stage they moved to
    (leads routing still holds count as the entry stage and are not in it)."""
    return {**pipeline.model_dump(mode="json"), "in_use": pipeline.shown_in_use(in_use)}


@router.get("/pipeline", summary="The pipeline's stages and how many leads each holds", tags=["pipeline"])
def get_pipeline() -> dict[str, Any]:
    principal(router)
    store = _store()
    return _view(store.get(), store.in_use())


@router.put(
    "/pipeline",
    summary="Add, rename, reorder or retire stages (admin)",
    description="Send back what GET returned, edited, with its `version` (409 `version_conflict` if it moved). "
    "Stages are retired (`retired: true`), never removed; retiring a stage that holds leads needs `moved_to` "
    "(422 `stage_in_use` otherwise). Renaming changes only `label`: leads and history keep the stage id.",
    tags=["pipeline"],
)
def put_pipeline(document: PipelineDocument) -> dict[str, Any]:
    principal(router).require(Role.ADMIN)
    store = _store()
    current, in_use = store.get(), store.in_use()
    new = Pipeline.model_validate(document.model_dump(exclude={"in_use"}))
    try:
        if new.version != current.version:
            raise Refused("version_conflict", f"the pipeline is at version {current.version}, you edited {new.version}")
        check_edit(current, new, in_use | _held_before_counters(current, new, in_use))
        stored = store.put(new, current.version)
    except Refused as refused:
        raise api_error(refused) from refused
    return _view(stored, in_use)


def _held_before_counters(current: Pipeline, new: Pipeline, in_use: dict[str, int]) -> dict[str, int]:
    """Leads a newly retired stage holds that its counter does not know: those set before the stage
    counters existed (statuses were built in). The dashboard's counters count every lead by its
    current status since the first: one Query per month of history, only when retiring a stage
    whose counter says it is empty."""
    from leadrelay.clock import local_day
    from leadrelay.config import get_settings

    retiring = [s.stage_id for s in new.stages if s.retired and not s.moved_to and not in_use.get(s.stage_id)
                and not (current.get(s.stage_id) and current.get(s.stage_id).retired)]  # type: ignore[union-attr]  # fmt: skip
    if not retiring:
        return {}
    oldest = _store().oldest_received()
    if oldest is None:
        return {}
    zone = get_settings().org_timezone
    cells = wiring.dashboard_store().lead_cells(local_day(oldest, zone), local_day(get_clock().now(), zone))
    held: dict[str, int] = {}
    for cell in cells:
        for stage_id in retiring:
            count = int(cell.get(f"s:{stage_id}") or 0)
            if count > 0:
                held[stage_id] = held.get(stage_id, 0) + count
    return held


@router.get("/pipeline/presets", summary="Industry pipelines to start from", tags=["pipeline"])
def list_presets() -> dict[str, Any]:
    principal(router)
    return {name: [stage.model_dump(mode="json") for stage in stages] for name, stages in sorted(PRESETS.items())}


@router.post("/pipeline/presets/<name>", summary="Start from an industry preset (admin; before any lead uses a stage)",
             tags=["pipeline"])  # fmt: skip
def apply_preset(name: Annotated[str, Path(max_length=40)]) -> dict[str, Any]:
    principal(router).require(Role.ADMIN)
    store = _store()
    current, in_use = store.get(), store.in_use()
    try:
        preset = from_preset(name)
        stranded = sorted(stage for stage in in_use if preset.get(stage) is None)
        if stranded:
            raise Refused("pipeline_in_use", f"leads sit in {', '.join(stranded)}, which the preset lacks: "
                          "edit the pipeline (PUT) instead")  # fmt: skip
        stored = store.put(preset.model_copy(update={"version": current.version}), current.version)
    except Refused as refused:
        raise api_error(refused) from refused
    return _view(stored, in_use)


class StageMove(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    stage_id: str = Field(min_length=1, max_length=48)
    value: Decimal | None = Field(default=None, ge=0, le=10**12, decimal_places=2,
                                  description="the deal value in rupees (stages that need it)")  # fmt: skip
    reason: str | None = Field(default=None, min_length=1, max_length=500, description="why (stages that need it)")


@router.put("/leads/<lead_id>/stage", summary="Move a lead to a pipeline stage (the same as PUT /leads/{id}/status)",
            tags=["pipeline"])  # fmt: skip
def move_lead(lead_id: Annotated[str, Path(min_length=1, max_length=64)], move: StageMove) -> dict[str, Any]:
    """The stage is the lead's status: a won or lost stage closes the lead (and releases its agent's
    open-lead count), an open stage reopens a closed one; required fields are refused with 422."""
    from leadrelay.errors import StatusRefused
    from leadrelay.models.lifecycle import StatusChange

    who = principal(router)
    repo = wiring.lead_repository()
    lead = repo.get(lead_id, consistent=True)
    if lead is None or not who.can_see_lead(lead):
        raise NotFound(f"there is no lead {lead_id!r} you can see")
    pipeline = _store().get()
    try:
        moved, changed = wiring.lead_lifecycle().change(
            lead, StatusChange(move.stage_id, who.username, move.reason, move.value), pipeline=pipeline
        )
    except StatusRefused as refused:
        raise api_error(refused) from refused
    stage = pipeline.stage_of(moved.status)
    return {"lead": lead_view(moved, pipeline), "stage": stage.model_dump(mode="json"),
            "category": Category(stage.category).value, "changed": changed}  # fmt: skip
