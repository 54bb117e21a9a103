"""Housing.com: builder leads pulled from `get-builder-leads` or pushed to the webhook.

No public spec exists and integrators show several shapes, so we are liberal: a JSON list of
leads, or an object holding the list (`data`, `leads`, `results`…, one level of nesting), or one
flat lead. Fields are matched by folded name (`clientName` = `client_name`): name, phone / mobile,
email, project, locality, city, message / remarks. Dedupe: the lead's id when there is one (see
`sources.portals`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from leadrelay.models import LeadInput, Source
from leadrelay.sources import BaseAdapter, ParsedItem, Receipt, provider_answer
from leadrelay.sources.portals import each_lead, flat, leads_in, phone_with_isd, pick, portal_lead

if TYPE_CHECKING:
    from leadrelay.capture import CaptureResult

ID_FIELDS = ("leadid", "id", "enquiryid", "queryid", "uuid")
NAME_FIELDS = ("name", "clientname", "leadname", "customername", "username", "fullname")
PHONE_FIELDS = ("phone", "mobile", "phonenumber", "mobilenumber", "contactnumber", "leadphone", "clientmobile",
                "number")  # fmt: skip
EMAIL_FIELDS = ("email", "emailid", "leademail", "clientemail")
PROJECT_FIELDS = ("project", "projectname", "enquiryfor")
LOCALITY_FIELDS = ("locality", "localityname", "area", "location")
CITY_FIELDS = ("city", "cityname")
MESSAGE_FIELDS = ("message", "msg", "remarks", "comment", "comments", "query")
TIME_FIELDS = ("createddate", "createdat", "leaddate", "date", "enquirydate")
_MAPPED = {*ID_FIELDS, *NAME_FIELDS, *PHONE_FIELDS, *EMAIL_FIELDS, *PROJECT_FIELDS, *LOCALITY_FIELDS, *CITY_FIELDS,
           *MESSAGE_FIELDS, "isd", "countrycode"}  # fmt: skip


def housing_lead(record: dict[str, Any], source: Source) -> LeadInput:
    """One Housing.com lead record as a lead."""
    fields = flat(record)
    isd = pick(fields, "isd", "countrycode")
    return portal_lead(
        source,
        record,
        portal="housing",
        mapped=_MAPPED,
        name=pick(fields, *NAME_FIELDS),
        phones=(phone_with_isd(fields.get(name), isd) for name in PHONE_FIELDS),
        emails=(fields.get(name) for name in EMAIL_FIELDS),
        project=pick(fields, *PROJECT_FIELDS),
        locality=pick(fields, *LOCALITY_FIELDS),
        city=pick(fields, *CITY_FIELDS),
        message=pick(fields, *MESSAGE_FIELDS),
        provider_id=pick(fields, *ID_FIELDS),
        when=pick(fields, *TIME_FIELDS),
    )


class HousingAdapter(BaseAdapter):
    """Housing.com lead(s) → one lead each; the answer is the provider answer (200 JSON)."""

    accepts_list = True

    def parse(self, payload: dict[str, Any], source: Source) -> list[ParsedItem]:
        return each_lead(leads_in(payload), lambda record: housing_lead(record, source))

    def respond(self, receipt: Receipt, source: Source) -> CaptureResult:
        return receipt.rejection if receipt.rejection is not None else provider_answer(receipt)
