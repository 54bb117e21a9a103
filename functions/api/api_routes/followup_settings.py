"""The follow-up rules as org settings: outcome → next follow-up, missed escalation, the
first-contact SLA and its re-distribution, nurture cadences (docs/followups.md)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router

from api_routes.common import principal
from leadrelay import wiring
from leadrelay.auth import Role
from leadrelay.models.followup_settings import FollowupSettings

router = Router()


def _view(settings: FollowupSettings) -> dict[str, Any]:
    # Exactly the document PUT takes, so a client can GET, edit and PUT it back. With
    # `sla.first_contact_minutes` null the organisation's `first_contact_sla_minutes` holds.
    return settings.model_dump(mode="json")


@router.get("/settings/followups", summary="The follow-up rules (admin, manager)", tags=["settings"])
def get_followup_settings() -> dict[str, Any]:
    principal(router).require(Role.ADMIN, Role.MANAGER)
    return _view(wiring.followup_store().get_settings())


@router.put("/settings/followups", summary="Replace the follow-up rules (admin)", tags=["settings"])
def put_followup_settings(body: FollowupSettings) -> dict[str, Any]:
    """The whole document; a field left out takes its default (an outcome left out of `rules`
    keeps its default rule). Applies from the next activity and the next tick."""
    principal(router).require(Role.ADMIN)
    return _view(wiring.followup_store().put_settings(body))
