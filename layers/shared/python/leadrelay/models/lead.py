"""A lead: one person who asked about something, from one or more sources."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, field_validator


class LeadStatus(StrEnum):
    """The built-in words. A lead's `status` is a stage id of its organisation's pipeline
    (models/pipeline.py; the default pipeline is new, contacted, qualified, won, lost), or one of
    routing's words (new, offered, assigned, unassigned: who holds a lead nobody worked yet)."""

    NEW = "new"
    ASSIGNED = "assigned"
    # Offered to an agent who has not accepted yet (a pool with `offer_timeout_s`).
    OFFERED = "offered"
    UNASSIGNED = "unassigned"
    CONTACTED = "contacted"
    QUALIFIED = "qualified"
    WON = "won"
    LOST = "lost"


class RoutingState(StrEnum):
    """Whether the router still owes this lead a decision (the stream filter keys on it)."""

    PENDING = "pending"
    DONE = "done"
    # Waiting for the offered agent to accept; a pass sets it back to pending.
    OFFERED = "offered"


class Attribution(BaseModel):
    """Where the lead came from, kept verbatim as the source sent it."""

    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    gclid: str | None = None
    fbclid: str | None = None
    # Click-to-WhatsApp ad click id (a WhatsApp first message's `referral.ctwa_clid`).
    ctwa_clid: str | None = None
    # The ad platform's own ids and names, as the provider sent them (docs/sources.md: per provider).
    # Campaign, then ad group (Google) or ad set (Meta), then the ad / creative; `asset_group_id` is
    # Google Performance Max; `form_id` the lead form; `platform` where the person saw it
    # (`facebook`, `instagram`, …); `is_organic` true for a lead from an organic (unpaid) post.
    campaign_id: str | None = None
    campaign_name: str | None = None
    adgroup_id: str | None = None
    adgroup_name: str | None = None
    ad_id: str | None = None
    ad_name: str | None = None
    creative_id: str | None = None
    asset_group_id: str | None = None
    form_id: str | None = None
    platform: str | None = None
    is_organic: bool | None = None

    def is_empty(self) -> bool:
        return not any(self.model_dump().values())


CLOSED_STATUSES = frozenset({LeadStatus.WON, LeadStatus.LOST})


class Consent(BaseModel):
    """What the person agreed to, as the provider reported it (DPDP Act 2023: consent is given for
    a stated purpose, and its proof is kept). `given` False is a recorded refusal or withdrawal."""

    given: bool
    # When the person gave it: the provider's own time when it sends one, else when we received it.
    at: datetime | None = None
    # What it was given for (the form's consent question or checkbox, e.g. "marketing_calls").
    purpose: str | None = None
    # Where it was captured: the source and the field or checkbox that carried it.
    source: str | None = None
    # The wording the person saw, when the provider sends it.
    text: str | None = None


class Touch(BaseModel):
    """One arrival of the person: which source, when, and the campaign tags it carried."""

    source_id: str
    source_kind: str
    at: datetime
    request_id: str | None = None
    attribution: Attribution = Field(default_factory=Attribution)


class LeadInput(BaseModel):
    """What a source adapter hands to capture: normalised fields, not yet a stored lead."""

    name: str | None = None
    phone: str | None = None
    phone_type: str | None = None
    email: str | None = None
    city: str | None = None
    state: str | None = None
    # ISO 3166-2:IN code of `state` (e.g. "KA"), when the state was recognised.
    state_code: str | None = None
    pincode: str | None = None
    language: str | None = None
    product: str | None = None
    budget: Decimal | None = None
    message: str | None = None
    external_id: str | None = None
    consent: bool | None = None
    # The consent's details when the provider sent any (purpose, time, wording); `consent` mirrors
    # `consent_detail.given`.
    consent_detail: Consent | None = None
    # The person is on the Do-Not-Call/Disturb list (JustDial's dncmobile/dncphone): no cold calls.
    do_not_call: bool = False
    # A provider's test lead (Google Ads "Send test data"): stored, tagged, never routed.
    test: bool = False
    tags: list[str] = Field(default_factory=list)
    attribution: Attribution = Field(default_factory=Attribution)
    extra: dict[str, Any] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    # When the person enquired, by the provider's own clock (Google's lead_submit_time, Meta's
    # created_time, IndiaMART's QUERY_TIME, …); None when the provider says nothing.
    source_time: datetime | None = None
    # A second usable number the provider sent beside `phone` (JustDial's landline, IndiaMART's
    # SENDER_MOBILE_ALT, a Razorpay payer whose contact differs from the link's customer), E.164.
    alt_phone: str | None = None
    # WhatsApp's business-scoped user id (BSUID, e.g. `IN.1410018717833190`) and username: a user
    # who adopted a username may come without a phone; the user id is then their identity.
    whatsapp_user_id: str | None = None
    whatsapp_username: str | None = None


class Lead(LeadInput):
    """A stored lead."""

    lead_id: str
    source_id: str
    source_kind: str
    # A stage id of the organisation's pipeline, or routing's word while nobody worked the lead.
    status: str = LeadStatus.NEW.value
    routing_state: RoutingState = RoutingState.PENDING
    received_at: datetime
    assigned_agent_id: str | None = None
    assigned_team_id: str | None = None
    assigned_pool_id: str | None = None
    assigned_at: datetime | None = None
    first_contacted_at: datetime | None = None
    last_touch_at: datetime | None = None
    touch_count: int = 1
    routing_attempts: int = 0
    version: int = 1
    # Client-side timestamp (ms) when the request reached ingest; the benchmark joins on it.
    received_ms: int | None = None
    # The latest arrival of the same person (a touchpoint), for last-touch attribution; the first
    # touch is the lead itself (`first_touch()`).
    last_touch: Touch | None = None
    # Closing (won/lost) and coming back: a returning closed lead is reopened per the organisation's
    # policy and offered to `return_to_agent_id` (its previous owner) first.
    closed_at: datetime | None = None
    close_reason: str | None = None
    # Won: the deal's value in rupees, as `PUT /leads/{id}/status` was told.
    value: Decimal | None = None
    reopened_at: datetime | None = None
    last_closed_status: str | None = None
    last_closed_at: datetime | None = None
    reopen_count: int = 0
    return_to_agent_id: str | None = None
    # The organisation's pipeline stage (leadrelay.pipeline: a stable stage id), when it uses one.
    stage: str | None = None
    # Follow-ups (followup/): the first call that reached the person, the latest activity, the
    # one open (or missed) follow-up, and when a breached SLA was escalated to the manager.
    first_connected_at: datetime | None = None
    last_activity_at: datetime | None = None
    open_followup_id: str | None = None
    sla_escalated_at: datetime | None = None
    # Accept-or-pass offers (routing/offers.py): the open offer, and every agent who let it pass.
    offer_id: str | None = None
    offered_agent_id: str | None = None
    offer_expires_at: datetime | None = None
    offer_passed_by: list[str] = Field(default_factory=list)

    # The category (open, won, lost) of the stage `status` names, as it was when set; None on
    # leads routing still holds and on leads stored before statuses were data.
    category: str | None = None

    @field_validator("status", mode="after")
    @classmethod
    def _built_in_word(cls, value: str) -> str:
        """A built-in word stays a `LeadStatus` (so `is LeadStatus.WON` and `.value` keep working);
        any other stage id is a plain string: compare statuses with `==`, print them with `str()`."""
        try:
            return LeadStatus(value)
        except ValueError:
            return value

    @property
    def closed_as(self) -> str | None:
        """won or lost (the category of a closed lead's stage); None while the lead is open."""
        category = self.category if self.category is not None else self.status
        return category if category in CLOSED_STATUSES else None

    @property
    def is_closed(self) -> bool:
        if self.category is not None:
            return self.category in CLOSED_STATUSES
        return self.status in CLOSED_STATUSES

    def first_touch(self) -> Touch:
        return Touch(source_id=self.source_id, source_kind=self.source_kind, at=self.received_at,
                     attribution=self.attribution)  # fmt: skip

    def latest_touch(self) -> Touch:
        return self.last_touch or self.first_touch()
