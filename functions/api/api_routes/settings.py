"""Organisation settings: what happens to a closed lead that comes back."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router

from api_routes import views
from api_routes.common import principal
from leadrelay import wiring
from leadrelay.auth import Role
from leadrelay.models.settings import OrgSettings, ReturningPolicy

router = Router()


def _view(settings: OrgSettings) -> dict[str, Any]:
    return settings.model_dump(mode="json")


@router.get(
    "/settings",
    summary="The organisation's settings (admin, manager)",
    tags=["settings"],
    responses=views.ok(views.SettingsView),
)
def get_settings_view() -> dict[str, Any]:
    principal(router).require(Role.ADMIN, Role.MANAGER)
    return _view(wiring.org_repository().get_org_settings())


@router.put("/settings", summary="Replace the organisation's settings with the document GET returns, edited (admin)",
            tags=["settings"])  # fmt: skip
def put_settings(document: OrgSettings) -> dict[str, Any]:
    """Send back what `GET /settings` returned, with your changes. The time zone is the deployment's
    (it decides what "today" is for caps and reports): a different one is refused, not half-applied."""
    from api_routes.common import Unprocessable

    principal(router).require(Role.ADMIN)
    repo = wiring.org_repository()
    current = repo.get_org_settings()
    if document.timezone != current.timezone:
        raise Unprocessable("timezone_fixed", f"the time zone is {current.timezone}, set per deployment; "
                            "send it unchanged")  # fmt: skip
    return _view(repo.put_org_settings(document))


@router.put("/settings/returning", summary="What a closed lead that comes back does (admin)", tags=["settings"])
def put_returning(policy: ReturningPolicy) -> dict[str, Any]:
    """`reopen_lost`, `reopen_won`: whether a returning lost / won lead is reopened and routed
    again (otherwise the touchpoint only goes on its timeline); `to_previous_agent`: a reopened
    lead goes back to its previous owner when they are eligible. Applies from the next arrival."""
    principal(router).require(Role.ADMIN)
    return _view(wiring.org_repository().put_returning_policy(policy))
