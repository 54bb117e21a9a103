"""Organisation settings: the few choices a business makes once and edits rarely."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from leadrelay.models.lead import LeadStatus


class ReturningPolicy(BaseModel):
    """What happens when a person whose lead is closed (won or lost) enquires again within the
    dedupe window: reopen the lead and route it again, or only add the touchpoint to its timeline."""

    model_config = ConfigDict(extra="forbid")

    # A lost lead that comes back is a second chance: reopened by default.
    reopen_lost: bool = True
    # A won customer who comes back is usually service or a repeat order for the same owner: by
    # default the touchpoint lands on the lead (its owner sees it) without reopening the sale.
    reopen_won: bool = False
    # A reopened lead goes back to the agent who had it when they are eligible right now (active,
    # on shift, under their cap); otherwise the rule chain routes it as it would a new lead.
    to_previous_agent: bool = True

    def reopens(self, closed_as: str | None) -> bool:
        """`closed_as`: won or lost, the category of the closed lead's stage (Lead.closed_as)."""
        return (closed_as == LeadStatus.LOST and self.reopen_lost) or (closed_as == LeadStatus.WON and self.reopen_won)


class OrgSettings(BaseModel):
    """`CONFIG` / `ORG` in the org table."""

    name: str | None = None
    timezone: str = "Asia/Kolkata"
    first_contact_sla_minutes: int | None = Field(default=None, ge=1)
    returning: ReturningPolicy = Field(default_factory=ReturningPolicy)
