"""Leads entered and edited by people: a walk-in, a phone enquiry or a referral typed in by an agent
(`POST /leads`), and corrections, tags, custom fields and notes on a lead (`PATCH /leads/{id}`)."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api_routes.common import CaptureRefused, NotFound, Unprocessable, api_error, lead_view, principal
from api_routes.idempotency import idempotent
from api_routes.views import LeadView
from leadrelay import wiring
from leadrelay.auth import Role
from leadrelay.clock import get_clock
from leadrelay.errors import Refused

router = Router()

LeadId = Annotated[str, Path(min_length=1, max_length=64, description="The lead's id")]
# Generic-source fields a person may type; anything else goes in `custom`.
_TYPED_FIELDS = (
    "name", "phone", "email", "city", "state", "pincode", "language", "product", "budget", "message",
    "consent",
)  # fmt: skip
_RESERVED = frozenset(_TYPED_FIELDS) | {
    "tags",
    "external_id",
    "key",
    "note",
    "channel",
    "referred_by",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "gclid",
    "fbclid",
}
CustomValue = str | int | Decimal | bool | None


class Channel(StrEnum):
    WALK_IN = "walk_in"
    PHONE = "phone"
    REFERRAL = "referral"
    OTHER = "other"


class ManualLead(BaseModel):
    """A lead typed in by a person. A phone or an email is required, as for every source."""

    model_config = ConfigDict(extra="forbid", defer_build=True, json_schema_extra={"examples": [{
        "channel": "walk_in", "name": "Asha Verma", "phone": "98765 43210", "city": "Noida",
        "product": "2BHK", "budget": "75 lakh", "note": "came with her father; wants a site visit on Sunday",
        "assign_to_me": True,
    }]})  # fmt: skip

    channel: Channel = Field(default=Channel.OTHER, description="how the person reached you (a tag on the lead)")
    name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40, description="any Indian spelling: 98765 43210, +91-…")
    email: str | None = Field(default=None, max_length=254)
    city: str | None = Field(default=None, max_length=100)
    state: str | None = Field(default=None, max_length=100)
    pincode: str | None = Field(default=None, max_length=12)
    language: str | None = Field(default=None, max_length=40)
    product: str | None = Field(default=None, max_length=200)
    budget: str | int | Decimal | None = Field(default=None, description="rupees: 7500000, '75 lakh', '1.2 crore'")
    message: str | None = Field(default=None, max_length=2000, description="what the person asked for")
    referred_by: str | None = Field(default=None, max_length=200, description="who referred them (referrals)")
    consent: bool | None = Field(default=None, description="the person agreed to be contacted (DPDP)")
    tags: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default_factory=list, max_length=50)
    custom: dict[Annotated[str, Field(min_length=1, max_length=64)], CustomValue] = Field(
        default_factory=dict, max_length=50, description="the organisation's own fields, kept on the lead"
    )
    note: str | None = Field(default=None, max_length=2000, description="a first note, on the timeline")
    assign_to_me: bool = Field(default=False, description="an agent keeps the lead they enter (when eligible)")

    @model_validator(mode="after")
    def _reachable(self) -> ManualLead:
        if not (self.phone and self.phone.strip()) and not (self.email and self.email.strip()):
            raise ValueError("give a phone or an email")
        clash = sorted(set(self.custom) & _RESERVED)
        if clash:
            raise ValueError(f"custom fields may not be named {', '.join(clash)} (they are lead fields)")
        return self

    def payload(self) -> dict[str, Any]:
        """The fields as a generic source would post them (capture normalises them the same way)."""
        fields: dict[str, Any] = {
            name: getattr(self, name) for name in _TYPED_FIELDS if getattr(self, name) not in (None, "")
        }
        if isinstance(fields.get("budget"), Decimal):
            fields["budget"] = str(fields["budget"])
        fields["tags"] = list(dict.fromkeys([self.channel.value.replace("_", "-"), *self.tags]))
        fields["channel"] = self.channel.value
        if self.referred_by:
            fields["referred_by"] = self.referred_by
        fields.update({k: (str(v) if isinstance(v, Decimal) else v) for k, v in self.custom.items()})
        return fields


class ManualLeadAnswer(BaseModel):
    model_config = ConfigDict(defer_build=True)

    lead_id: str
    outcome: str = Field(description="created, or merged/duplicate when the person already was a lead")
    lead: LeadView | None = Field(description="the lead; null when it is someone else's you cannot see")


@router.post(
    "/leads",
    summary="Enter a lead by hand: walk-in, phone enquiry, referral (agent, manager, admin)",
    description="Runs through the same normalisation, dedupe and routing as a webhook, with source `manual` and "
    "the person who entered it on the timeline. `201` when a new lead was made; `202` when the person already "
    "was a lead (the entry is a touchpoint on it). Honours `Idempotency-Key`.",
    tags=["leads"],
    responses={201: {"description": "A new lead"}, 202: {"description": "The person already was a lead"}},
    middlewares=[idempotent],
)
def create_lead(body: ManualLead) -> Response[ManualLeadAnswer]:
    who = principal(router)
    who.require(Role.ADMIN, Role.MANAGER, Role.AGENT)
    if body.assign_to_me and not who.agent_id:
        raise Unprocessable("invalid_request", "assign_to_me is for agents: your login is not an agent")
    result = wiring.capture_service().capture_manual(
        body.payload(), entered_by=who.username, keep_for_agent_id=who.agent_id if body.assign_to_me else None,
        request_id=router.current_event.request_context.request_id or "",
    )  # fmt: skip
    answer = result.body if isinstance(result.body, dict) else {}
    if result.status >= 400:
        raise CaptureRefused(result.status, str(answer.get("error", "invalid_request")),
                             str(answer.get("message", "the lead could not be stored")))  # fmt: skip
    repo = wiring.lead_repository()
    lead = repo.get(str(answer["lead_id"]), consistent=True)
    if lead is not None and body.note:
        from leadrelay.models.lead_edit import LeadEdit

        lead, _ = wiring.edit_lead(lead, LeadEdit(by=who.username, note=body.note), get_clock().now())
    status = 201 if answer.get("outcome") == "created" else 202
    # The person who typed a new lead sees it; an existing lead only if they could see it anyway.
    shown = lead is not None and (status == 201 or who.can_see_lead(lead))
    view = lead_view(lead) if shown and lead is not None else None
    body_out = {"lead_id": answer["lead_id"], "outcome": answer.get("outcome", "created"), "lead": view}
    return Response(status_code=status, content_type="application/json", body=ManualLeadAnswer(**body_out))


class LeadPatch(BaseModel):
    """Corrections and additions. Fields left out stay as they are; `null` clears a field."""

    model_config = ConfigDict(extra="forbid", defer_build=True, json_schema_extra={"examples": [{
        "name": "Asha Verma", "city": "Greater Noida", "add_tags": ["site-visit"], "custom": {"bhk": 3},
        "note": "called back, wants Sunday 11am", "version": 3,
    }]})  # fmt: skip

    name: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=100)
    state: str | None = Field(default=None, max_length=100)
    pincode: str | None = Field(default=None, max_length=12)
    language: str | None = Field(default=None, max_length=40)
    product: str | None = Field(default=None, max_length=200)
    budget: str | int | Decimal | None = Field(default=None, description="rupees: 7500000, '75 lakh', '1.2 crore'")
    message: str | None = Field(default=None, max_length=2000)
    tags: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, max_length=50, description="the whole new tag list"
    )
    add_tags: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default_factory=list, max_length=50)
    remove_tags: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default_factory=list, max_length=50)
    custom: dict[Annotated[str, Field(min_length=1, max_length=64)], CustomValue] = Field(
        default_factory=dict, max_length=50, description="set custom fields; null removes one"
    )
    note: str | None = Field(default=None, min_length=1, max_length=2000, description="a note on the timeline")
    status: str | None = Field(
        default=None,
        min_length=1,
        max_length=48,
        pattern=r"^[a-z0-9][a-z0-9_-]{0,47}$",
        description="move the lead to this pipeline stage, as PUT /leads/{id}/status does",
    )
    value: Decimal | None = Field(
        default=None,
        ge=0,
        le=10**12,
        decimal_places=2,
        description="with `status`: the deal value in rupees (won stages)",
    )
    reason: str | None = Field(default=None, max_length=500, description="with `status`: why (lost stages)")
    version: int | None = Field(default=None, ge=1, description="the lead's `version` as you read it; 409 if it moved")

    @model_validator(mode="after")
    def _consistent(self) -> LeadPatch:
        if self.tags is not None and (self.add_tags or self.remove_tags):
            raise ValueError("give either tags (the whole list) or add_tags/remove_tags")
        if self.status is None and (self.value is not None or self.reason is not None):
            raise ValueError("value and reason go with status")
        clash = sorted(set(self.custom) & _RESERVED)
        if clash:
            raise ValueError(f"custom fields may not be named {', '.join(clash)} (they are lead fields)")
        return self


class LeadPatchAnswer(BaseModel):
    model_config = ConfigDict(defer_build=True)

    lead: LeadView
    changed: list[str] = Field(description="what changed; empty when nothing did")


def _normalised_fields(patch: LeadPatch) -> dict[str, Any]:
    from leadrelay.models.contact import (
        ContactError,
        normalize_language,
        normalize_pincode,
        normalize_state,
        normalize_text,
        parse_budget,
    )

    given = patch.model_fields_set & {"name", "city", "state", "pincode", "language", "product", "budget", "message"}
    fields: dict[str, Any] = {}
    try:
        for name in sorted(given):
            value = getattr(patch, name)
            if value in (None, ""):
                fields[name] = None
                if name == "state":
                    fields["state_code"] = None
            elif name == "pincode":
                fields[name] = normalize_pincode(value)
            elif name == "language":
                fields[name] = normalize_language(value)
            elif name == "budget":
                fields[name] = parse_budget(value)
            elif name == "state":
                known = normalize_state(value)
                fields["state"], fields["state_code"] = known if known else (normalize_text(value, 100), None)
            else:
                fields[name] = normalize_text(value, 2000 if name == "message" else 200)
    except ContactError as exc:
        raise Unprocessable("invalid_request", f"{exc.field}: {exc}") from exc
    return fields


@router.patch(
    "/leads/<lead_id>",
    summary="Edit a lead's fields, tags and custom fields, or add a note (with history on the timeline)",
    description="Agents on their own leads, managers on their team's, admins on all. Phone and email identify "
    "the person and are not edited here. Send `version` (from the lead you read) to refuse an edit over "
    "someone else's (409 `version_conflict`).",
    tags=["leads"],
)
def patch_lead(lead_id: LeadId, patch: LeadPatch) -> LeadPatchAnswer:
    from leadrelay.models.lead_edit import LeadEdit, changes_of

    who = principal(router)
    repo = wiring.lead_repository()
    lead = repo.get(lead_id, consistent=True)
    if lead is None or not who.can_see_lead(lead):
        raise NotFound(f"there is no lead {lead_id!r} you can see")
    if patch.version is not None and patch.version != lead.version:
        raise api_error(
            Refused("version_conflict", f"the lead is at version {lead.version}, you edited {patch.version}")
        )
    tags = patch.tags
    if patch.add_tags or patch.remove_tags:
        tags = [t for t in dict.fromkeys([*lead.tags, *patch.add_tags]) if t not in set(patch.remove_tags)]
    edit = LeadEdit(by=who.username, fields=_normalised_fields(patch), tags=tags, custom=dict(patch.custom),
                    note=patch.note)  # fmt: skip
    lifecycle = wiring.lead_lifecycle() if patch.status is not None else None
    try:
        change = None
        if lifecycle is not None and patch.status is not None:
            from api_routes.leads import status_change

            # Checked before anything is written: a refused status leaves the fields unedited too.
            change = status_change(patch.status, who.username, patch.reason, patch.value)
            pipeline = lifecycle.pipeline()
            lifecycle.resolve(change, pipeline)
            if lead.offer_id is not None:
                raise Refused("lead_offered", f"the lead is offered to {lead.offered_agent_id}; accept it first")
        changed = list(changes_of(lead, edit))
        updated, _ = wiring.edit_lead(lead, edit, get_clock().now())
        if lifecycle is not None and change is not None:
            updated, moved = lifecycle.change(updated, change, pipeline=pipeline)
            changed += ["status"] if moved else []
    except Refused as refused:
        raise api_error(refused) from refused
    return LeadPatchAnswer(lead=lead_view(updated), changed=changed + (["note"] if patch.note else []))
