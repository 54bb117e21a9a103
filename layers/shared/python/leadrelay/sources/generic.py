"""The generic source: a website, a form builder, a partner, or anything that can POST fields.

Accepted fields (all optional except a phone or an email): name, phone, email, city, state,
pincode, language, product, budget, message, external_id, consent (with consent_at, consent_purpose,
consent_text for DPDP), tags, utm_*, gclid, fbclid.
Common aliases (mobile, phone_number, full_name, first_name + last_name, …) are understood;
everything else is kept on the lead as `extra`.
"""

from __future__ import annotations

from typing import Any

from leadrelay.models import Attribution, LeadInput, Source
from leadrelay.models.contact import (
    ContactError,
    normalize_email,
    normalize_language,
    normalize_phone,
    normalize_pincode,
    normalize_text,
    parse_bool,
    parse_budget,
)
from leadrelay.sources import BaseAdapter, ParsedItem, PayloadError
from leadrelay.sources.fields import consent, field_mapping

ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "full_name", "fullname", "customer_name", "contact_name"),
    "phone": ("phone", "mobile", "mobile_number", "phone_number", "mobileno", "contact_number", "contact"),
    "email": ("email", "email_address", "email_id", "mail"),
    "city": ("city",),
    "state": ("state",),
    "pincode": ("pincode", "pin_code", "pin", "postal_code", "zip"),
    "language": ("language", "lang", "preferred_language"),
    "product": ("product", "product_name", "service", "project"),
    "budget": ("budget",),
    "message": ("message", "comments", "comment", "query", "requirement", "enquiry"),
    "external_id": ("external_id", "lead_id", "id", "enquiry_id"),
    "consent": ("consent", "consent_given", "opt_in", "optin"),
    "consent_at": ("consent_at", "consent_time", "consent_timestamp", "consented_at"),
    "consent_purpose": ("consent_purpose",),
    "consent_text": ("consent_text", "consent_wording"),
    "tags": ("tags",),
}
# The click ids and UTM tags a web page forwards (exact names); an ad platform's own campaign ids come
# through the provider adapters.
ATTRIBUTION_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "gclid", "fbclid",
                      "ctwa_clid")  # fmt: skip
# What a generic source's `field_mapping` may map a sender's field to.
MAPPABLE = frozenset({*ALIASES, *ATTRIBUTION_FIELDS, "first_name", "last_name"})


def apply_mapping(payload: dict[str, Any], source: Source) -> dict[str, Any]:
    """The payload with the source's `field_mapping` applied: each mapped field is renamed to its
    lead field (a lead field the sender filled itself wins)."""
    mapping = field_mapping(source)
    if not mapping:
        return payload
    mapped = dict(payload)
    for name in list(payload):
        target = mapping.get(str(name).strip().lower())
        if target is None or target not in MAPPABLE or name == target:
            continue
        value = mapped.pop(name)
        if mapped.get(target) in (None, ""):
            mapped[target] = value
        else:
            mapped[name] = value  # kept, in extra
    return mapped


_NAME_PARTS = ("first_name", "last_name")


def _first(payload: dict[str, Any], names: tuple[str, ...], used: set[str]) -> Any:
    for name in names:
        if name in payload and payload[name] not in (None, ""):
            used.add(name)
            return payload[name]
        if name in payload:
            used.add(name)
    return None


def _scalar(value: Any, field: str) -> Any:
    """Form bodies give lists for repeated fields; a single value is what we want."""
    if isinstance(value, list):
        if len(value) == 1:
            return value[0]
        raise PayloadError("invalid_field", f"{field} was given {len(value)} times; send it once")
    if isinstance(value, dict):
        raise PayloadError("invalid_field", f"{field} must be a single value, not an object")
    return value


class GenericAdapter(BaseAdapter):
    """Maps a flat JSON or form payload onto a lead, keeping unknown fields as `extra`."""

    def parse(self, payload: dict[str, Any], source: Source) -> list[ParsedItem]:
        return [self.parse_one(payload, source)]

    def parse_one(self, payload: dict[str, Any], source: Source) -> LeadInput:
        payload = apply_mapping(payload, source)
        used: set[str] = set()
        values = {field: _first(payload, names, used) for field, names in ALIASES.items()}
        if values["name"] is None and any(payload.get(part) for part in _NAME_PARTS):
            values["name"] = " ".join(str(payload.get(part) or "") for part in _NAME_PARTS)
        used.update(_NAME_PARTS)
        warnings: list[str] = []
        extra: dict[str, Any] = {}
        lead: dict[str, Any] = {}

        for field in ("name", "city", "state", "product"):
            lead[field] = normalize_text(_scalar(values[field], field), 200)
        lead["message"] = normalize_text(_scalar(values["message"], "message"), 5000)

        phone, email = values["phone"], values["email"]
        phone_error = email_error = None
        if phone is not None:
            try:
                lead["phone"], lead["phone_type"] = normalize_phone(_scalar(phone, "phone"))
            except ContactError as exc:
                phone_error = str(exc)
                extra["phone_raw"] = phone
        if email is not None:
            try:
                lead["email"] = normalize_email(_scalar(email, "email"))
            except ContactError as exc:
                email_error = str(exc)
                extra["email_raw"] = email
        if not lead.get("phone") and not lead.get("email"):
            if phone_error or email_error:
                problems = "; ".join(e for e in (phone_error, email_error) if e)
                raise PayloadError("invalid_contact", f"{problems}; a lead needs a valid phone or email")
            raise PayloadError("missing_contact", "a lead needs a phone or an email; neither was sent")
        warnings.extend(e for e in (phone_error, email_error) if e)

        for field, parse in (("pincode", normalize_pincode), ("language", normalize_language),
                             ("budget", parse_budget)):  # fmt: skip
            raw = values[field]
            if raw is None:
                continue
            try:
                lead[field] = parse(_scalar(raw, field))
            except ContactError as exc:
                warnings.append(str(exc))
                extra[f"{field}_raw"] = raw

        if values["external_id"] is not None:
            external_id = str(_scalar(values["external_id"], "external_id")).strip()
            if len(external_id) > 200:
                raise PayloadError("invalid_field", "external_id is longer than 200 characters")
            lead["external_id"] = external_id or None
        if values["consent"] is not None:
            try:
                given = parse_bool(_scalar(values["consent"], "consent"), "consent")
            except ContactError as exc:
                raise PayloadError("invalid_field", str(exc)) from exc
            lead["consent"] = given
            lead["consent_detail"] = consent(
                given, where=f"{source.source_id}: consent field", at=_scalar(values["consent_at"], "consent_at"),
                purpose=_scalar(values["consent_purpose"], "consent_purpose"),
                wording=_scalar(values["consent_text"], "consent_text"), warnings=warnings,
            )  # fmt: skip

        tags = values["tags"]
        if isinstance(tags, str):
            tags = [t for t in (part.strip() for part in tags.split(",")) if t]
        elif tags is not None and not isinstance(tags, list):
            raise PayloadError("invalid_field", "tags must be a list or a comma-separated string")
        lead["tags"] = list(dict.fromkeys([*(str(t) for t in tags or []), *source.tags]))

        attribution = {}
        for field in ATTRIBUTION_FIELDS:
            if payload.get(field) not in (None, ""):
                attribution[field] = str(_scalar(payload[field], field))
            used.add(field)
        lead["attribution"] = Attribution.model_validate(attribution)

        for key, value in payload.items():
            if key not in used and key != "key":
                extra[key] = value
        lead["extra"] = extra
        lead["warnings"] = warnings
        return LeadInput.model_validate(lead)
