"""MagicBricks: leads pulled from `download.json` (`leadPojo.leads[]`) or pushed to the webhook.

A lead has `name, email, mobile, isd, msg, project, locality, city` (third-party code; no public
spec). The pull poller (`leadrelay.pull.magicbricks`) hands each lead of a download to capture on
its own; a push may send one lead flat, the whole `{"leadPojo": {"leads": [...]}}` envelope, or a
bare JSON array. Dedupe: the lead's id when MagicBricks sends one (see `sources.portals`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from leadrelay.models import LeadInput, Source
from leadrelay.sources import BaseAdapter, ParsedItem, Receipt, provider_answer
from leadrelay.sources.portals import each_lead, flat, leads_in, phone_with_isd, pick, portal_lead

if TYPE_CHECKING:
    from leadrelay.capture import CaptureResult

ID_FIELDS = ("leadid", "id", "queryid", "enquiryid", "responseid")
PHONE_FIELDS = ("mobile", "phone", "mobileno", "contactno", "phoneno")
_MAPPED = {"name", "email", "isd", "msg", "message", "project", "locality", "city", *ID_FIELDS, *PHONE_FIELDS}


def magicbricks_lead(record: dict[str, Any], source: Source) -> LeadInput:
    """One MagicBricks lead record as a lead."""
    fields = flat(record)
    isd = pick(fields, "isd", "isdcode", "countrycode")
    return portal_lead(
        source,
        record,
        portal="magicbricks",
        mapped=_MAPPED,
        name=pick(fields, "name", "customername"),
        phones=(phone_with_isd(fields.get(name), isd) for name in PHONE_FIELDS),
        emails=(pick(fields, "email", "emailid"),),
        project=pick(fields, "project", "projectname"),
        locality=pick(fields, "locality"),
        city=pick(fields, "city"),
        message=pick(fields, "msg", "message"),
        provider_id=pick(fields, *ID_FIELDS),
        when=pick(fields, "date", "leaddate", "createddate", "receivedon"),
    )


class MagicBricksAdapter(BaseAdapter):
    """MagicBricks lead(s) → one lead each; the answer is the provider answer (200 JSON)."""

    accepts_list = True

    def parse(self, payload: dict[str, Any], source: Source) -> list[ParsedItem]:
        return each_lead(leads_in(payload, nested=("leadPojo",)), lambda record: magicbricks_lead(record, source))

    def respond(self, receipt: Receipt, source: Source) -> CaptureResult:
        return receipt.rejection if receipt.rejection is not None else provider_answer(receipt)
