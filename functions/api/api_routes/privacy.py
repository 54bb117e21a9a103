"""DPDP Act 2023: erase or export everything held about a person (admin), and withdraw consent.

`leadrelay.privacy` (with the contact normalisers and phonenumbers) is imported by the routes
that use it, not with the api function (tests/unit/test_cold_imports.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BaseModel, ConfigDict, Field

from api_routes.common import NotFound, _json, api_error, audit_read, principal
from leadrelay import wiring
from leadrelay.auth import Role
from leadrelay.clock import get_clock, iso

if TYPE_CHECKING:
    from leadrelay.privacy import Person

router = Router()


class PersonRequest(BaseModel):
    """Who: a phone, an email or a lead id (any one is enough)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)
    lead_id: str | None = Field(default=None, max_length=64)


def _person(body: PersonRequest) -> Person:
    from leadrelay.privacy import Person, PrivacyRefused

    try:
        return Person.from_request(body.phone, body.email, body.lead_id)
    except PrivacyRefused as refused:
        raise api_error(refused) from refused


@router.post("/privacy/erasure", summary="Erase everything held about a person (admin)", tags=["privacy"])
def erase(body: PersonRequest) -> dict[str, Any]:
    who = principal(router)
    who.require(Role.ADMIN)
    from leadrelay.privacy import PrivacyStore

    result = PrivacyStore(wiring.lead_repository()).erase(_person(body), by=who.username, now=get_clock().now())
    removed_exports = _remove_exports(result)
    if removed_exports:
        result["removed"]["export"] = len(removed_exports)
    audit_read(who, "privacy erasure", count=len(result["lead_ids"]))
    return result


@router.post("/privacy/export", summary="Everything held about a person, as JSON (admin)", tags=["privacy"])
def export(body: PersonRequest) -> dict[str, Any]:
    who = principal(router)
    who.require(Role.ADMIN)
    person = _person(body)
    from leadrelay.privacy import PrivacyStore

    held = PrivacyStore(wiring.lead_repository()).export(person)
    audit_read(who, "privacy export", count=len(held["leads"]))
    return {"exported_at": iso(get_clock().now()), **_json(held)}


class ConsentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    given: Literal[False] = Field(description="false: the person withdraws consent (giving it comes with a lead)")
    channel: str = Field(default="all", min_length=1, max_length=40, description="how they said so: call, whatsapp…")
    reason: str | None = Field(default=None, max_length=500)


@router.post("/leads/<lead_id>/consent", summary="Record a withdrawal of consent (stops marketing at once)",
             tags=["privacy"])  # fmt: skip
def withdraw(lead_id: Annotated[str, Path(min_length=1, max_length=64)], body: ConsentRequest) -> dict[str, Any]:
    from leadrelay.privacy import PrivacyRefused, PrivacyStore

    who = principal(router)
    repo = wiring.lead_repository()
    lead = repo.get(lead_id, consistent=True)
    if lead is None or not who.can_see_lead(lead):
        raise NotFound(f"there is no lead {lead_id!r} you can see")
    store = PrivacyStore(repo)
    try:
        store.withdraw_consent(lead_id, channel=body.channel, by=who.username, at=get_clock().now(),
                               reason=body.reason)  # fmt: skip
    except PrivacyRefused as refused:
        raise api_error(refused) from refused
    return {"lead_id": lead_id, "consent": False, "ledger": _json(store.consent_ledger(lead_id))}


def _remove_exports(result: dict[str, Any]) -> list[str]:
    """Stored CSV exports are copies too: delete every file that holds one of the erased leads
    (and stop unfinished exports), per each export's lead-id index (leadrelay.export_job)."""
    from datetime import timedelta

    from leadrelay.definitions import EXPORTS
    from leadrelay.export_job import remove_exports_holding

    if not result.get("lead_ids"):
        return []
    now = get_clock().now()
    return remove_exports_holding(
        list(result["lead_ids"]), records=wiring.export_records(), files=wiring.export_files(),
        since=now - timedelta(days=EXPORTS.retention_days + 1),
        reason=f"removed by erasure request {result.get('erasure_id')}: it held a person's data",
    )  # fmt: skip
