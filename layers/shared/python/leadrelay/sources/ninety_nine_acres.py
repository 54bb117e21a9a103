"""99acres: responses (enquiries) pulled from its XML API, or pushed to the webhook.

The pull answer (third-party code; there is no public spec) is
`<Xml ActionStatus="true"><Resp><QryDtl ResType="…"><ProdId/><CmpctLabl/><QryInfo/><RcvdOn/>
</QryDtl><CntctDtl><Name/><Email/><Phone/></CntctDtl></Resp>…</Xml>`, or `ActionStatus="false"`
with `ErrorDetail/Code/Message`. The poller (`leadrelay.pull.ninety_nine_acres`) hands each `<Resp>`
to capture on its own, as XML; this adapter's `decode` reads it. A push may send the same XML
(one `<Resp>` or a whole `<Xml>`), the XML in a form field `xml`, or JSON with the same field names.

XML from outside is parsed with defusedxml and no DTD allowed: a document type (and with it entity
expansion and external entities) has no place in a lead, so such a body is refused and kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import Element, ParseError

from leadrelay.models import LeadInput, Source
from leadrelay.sources import BaseAdapter, ParsedItem, PayloadError, Receipt, provider_answer
from leadrelay.sources.portals import each_lead, flat, leads_in, pick, portal_lead

if TYPE_CHECKING:
    from leadrelay.capture import CaptureResult, WebhookRequest

# Where a provider id may sit (attribute of QryDtl/Resp or an element); none is documented.
ID_FIELDS = ("queryid", "qryid", "responseid", "resid", "id")
_MAPPED = {"name", "email", "phone", "mobile", "qryinfo", "query", "message", "cmpctlabl", "label", "city",
           "locality", *ID_FIELDS}  # fmt: skip


class ProviderXmlError(PayloadError):
    """99acres answered `ActionStatus="false"`: its own code and message."""

    def __init__(self, provider_code: str, message: str) -> None:
        super().__init__("provider_error", f"99acres error {provider_code}: {message}".strip(), 422)
        self.provider_code = provider_code
        self.provider_message = message


def parse_xml(data: bytes | str) -> Element:
    """A document's root element, read safely (no DTD, no entities); `PayloadError` if unreadable."""
    # Imported here: only 99acres bodies need it, and every other webhook's cold start is spared.
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        root: Element = fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise PayloadError("forbidden_xml", f"XML with a DTD or entities is not accepted ({type(exc).__name__})",
                           400) from exc  # fmt: skip
    except (ParseError, ValueError) as exc:
        raise PayloadError("malformed_xml", f"the body is not well-formed XML: {exc}", 400) from exc
    return root


def _text(element: Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    return element.text.strip() or None


def responses(root: Element) -> list[Element]:
    """The `<Resp>` elements of an answer; raises `ProviderXmlError` for `ActionStatus="false"`."""
    if root.tag == "Resp":
        return [root]
    status = (root.get("ActionStatus") or "").strip().lower()
    if status == "false":
        detail = root.find(".//ErrorDetail")
        code = _text(detail.find("Code")) if detail is not None else None
        message = _text(detail.find("Message")) if detail is not None else None
        raise ProviderXmlError(code or "unknown", message or "no message")
    return root.findall("Resp")


def record_of(resp: Element) -> dict[str, Any]:
    """One `<Resp>` as a flat record: every leaf element's text by its tag, attributes of
    `QryDtl` (`ResType`) and `ProdId` (`Status`, `Type`) with their element's prefix."""
    record: dict[str, Any] = {}
    for element in resp.iter():
        if element is resp:
            continue
        if len(element) == 0 and _text(element) is not None:
            record.setdefault(element.tag, _text(element))
        for name, value in element.attrib.items():
            if value.strip():
                record.setdefault(f"{element.tag}{name}" if element.tag != "QryDtl" else name, value.strip())
    for name, value in resp.attrib.items():
        record.setdefault(name, value)
    return record


def ninety_nine_acres_lead(record: dict[str, Any], source: Source) -> LeadInput:
    """One 99acres response record as a lead."""
    fields = flat(record)
    res_type = pick(fields, "restype")
    return portal_lead(
        source,
        record,
        portal="99acres",
        mapped=_MAPPED,
        name=pick(fields, "name"),
        phones=(fields.get("phone"), fields.get("mobile")),
        emails=(fields.get("email"),),
        project=pick(fields, "cmpctlabl", "label"),
        locality=pick(fields, "locality"),
        city=pick(fields, "city"),
        message=pick(fields, "qryinfo", "query", "message"),
        provider_id=pick(fields, *ID_FIELDS),
        when=pick(fields, "rcvdon", "receivedon", "date"),
        tags=(f"99acres:{str(res_type).lower()}",) if isinstance(res_type, str) and len(res_type) <= 40 else (),
    )


def _looks_like_xml(request: WebhookRequest) -> bool:
    kind = request.content_type
    return (
        kind.endswith("/xml")
        or kind.endswith("+xml")
        or (kind in ("", "text/plain") and request.body.lstrip()[:1] == b"<")
    )


class NinetyNineAcresAdapter(BaseAdapter):
    """99acres response(s) → one lead each; XML or JSON; the answer is the provider answer."""

    accepts_list = True

    def decode(self, request: WebhookRequest) -> dict[str, Any] | None:
        if request.method == "GET" or not _looks_like_xml(request):
            return None
        return {"RESPONSE": [record_of(resp) for resp in responses(parse_xml(request.body))]}

    def parse(self, payload: dict[str, Any], source: Source) -> list[ParsedItem]:
        posted = payload.get("xml")
        if isinstance(posted, str) and posted.lstrip().startswith("<"):  # the XML in a form field
            payload = {"RESPONSE": [record_of(resp) for resp in responses(parse_xml(posted.encode("utf-8")))]}
        return each_lead(leads_in(payload), lambda record: ninety_nine_acres_lead(record, source))

    def respond(self, receipt: Receipt, source: Source) -> CaptureResult:
        return receipt.rejection if receipt.rejection is not None else provider_answer(receipt)
