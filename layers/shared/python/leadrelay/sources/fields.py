"""Building a `LeadInput` from fields a provider adapter has picked out of its payload.

Every provider adapter funnels through `build_lead`, so phones, emails, pincodes and the
"a lead needs a phone or an email" rule behave the same whichever provider sent the lead.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from leadrelay.models import Attribution, LeadInput, Source
from leadrelay.models.contact import (
    ContactError,
    normalize_email,
    normalize_language,
    normalize_phone,
    normalize_pincode,
    normalize_text,
)
from leadrelay.models.lead import Consent
from leadrelay.sources import PayloadError

MAX_EXTERNAL_ID = 200
# India Standard Time: IndiaMART's QUERY_TIME and JustDial's date + time carry no offset.
IST = timezone(timedelta(hours=5, minutes=30), "IST")
FIELD_MAPPING = "field_mapping"
# What a source's `field_mapping` may name: the lead fields every adapter fills. The generic
# adapter takes its whole field list (see `sources.generic.MAPPABLE`).
PROVIDER_TARGETS = frozenset({"name", "phone", "email", "city", "state", "pincode", "language", "product", "message"})


def field_mapping(source: Source) -> dict[str, str]:
    """The source's `field_mapping` setting — provider field name → lead field — with names
    compared case-insensitively. A sender whose fields LeadRelay does not know (a partner's
    `mob`, a form's custom question "Your mobile") is mapped here, without code; a request
    quarantined for want of a phone can then be replayed."""
    mapping = source.settings.get(FIELD_MAPPING)
    if not isinstance(mapping, dict):
        return {}
    return {str(k).strip().lower(): str(v) for k, v in mapping.items() if isinstance(v, str) and str(k).strip()}


def mapping_problems(mapping: Any, targets: frozenset[str]) -> list[str]:
    """Why a `field_mapping` setting cannot be used (empty when it can)."""
    if not isinstance(mapping, dict):
        return ['field_mapping must be an object: {"provider field": "lead field"}']
    problems = []
    for name, target in mapping.items():
        if not isinstance(target, str) or target not in targets:
            problems.append(f"field_mapping[{name!r}]: {target!r} is not one of {', '.join(sorted(targets))}")
    return problems


def text(value: Any, max_length: int = 200) -> str | None:
    """A provider's scalar as trimmed text; numbers become their digits, objects are not text."""
    if value is None or isinstance(value, dict | list | bool):
        return None
    return normalize_text(value, max_length)


def obj(value: Any) -> dict[str, Any]:
    """A provider's nested object, or an empty one when it sent something else."""
    return value if isinstance(value, dict) else {}


def external_id(value: Any) -> str | None:
    """A provider id as a string, whatever JSON type it came in (int64 ids must not lose digits)."""
    if value is None or isinstance(value, dict | list | bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    ident = str(value).strip()
    if len(ident) > MAX_EXTERNAL_ID:
        raise PayloadError("invalid_field", f"the provider's lead id is longer than {MAX_EXTERNAL_ID} characters")
    return ident or None


def scalars(payload: dict[str, Any]) -> dict[str, Any]:
    """The top-level fields of a provider's payload that are single values (text, numbers, booleans),
    for keeping what an adapter does not read in `extra` — never a nested object or list."""
    return {
        str(k): v for k, v in payload.items()
        if v not in (None, "") and not isinstance(v, dict | list) and len(str(k)) <= 100
    }  # fmt: skip


def form_answers(fields: dict[str, str]) -> dict[str, Any]:
    """`build_lead` arguments from a lead form's answers picked out by field name (Google's
    columns, Meta's field_data): the name or first + last name, the personal phone and email
    before the work ones, and the rest as they are."""
    name = fields.get("name") or " ".join(p for p in (fields.get("first_name"), fields.get("last_name")) if p)
    return {
        "name": name or None,
        "phones": (fields.get("phone"), fields.get("work_phone")),
        "emails": (fields.get("email"), fields.get("work_email")),
        **{key: fields.get(key) for key in ("city", "state", "pincode", "language", "product", "message")},
    }


def build_lead(
    source: Source,
    *,
    name: Any = None,
    phones: Iterable[Any] = (),
    emails: Iterable[Any] = (),
    city: Any = None,
    state: Any = None,
    pincode: Any = None,
    language: Any = None,
    product: Any = None,
    message: str | None = None,
    external: Any = None,
    extra: dict[str, Any] | None = None,
    attribution: dict[str, Any] | None = None,
    tags: Iterable[str] = (),
    do_not_call: bool = False,
    test: bool = False,
    consent_detail: Consent | None = None,
    source_time: datetime | None = None,
    whatsapp_user_id: str | None = None,
    whatsapp_username: str | None = None,
) -> LeadInput:
    """A normalised lead: the first usable phone and email win, and the next usable phone that is a
    different number is kept as `alt_phone`; unusable ones are kept in `extra` with a warning; with
    no phone, no email and no WhatsApp user id the item is refused (`PayloadError`)."""
    extra = dict(extra or {})
    warnings: list[str] = []
    lead: dict[str, Any] = {}

    phone_problems: list[str] = []
    for raw in phones:
        candidate = text(raw, 60)
        if not candidate:
            continue
        try:
            number, kind = normalize_phone(candidate)
        except ContactError as exc:
            if not lead.get("phone"):
                phone_problems.append(str(exc))
                extra.setdefault("phone_raw", candidate)
            else:  # a second number that is not one: kept as sent
                extra.setdefault("alt_phone_raw", candidate)
            continue
        if not lead.get("phone"):
            lead["phone"], lead["phone_type"] = number, kind
        elif number != lead["phone"]:
            lead["alt_phone"] = number
            break
    email_problems: list[str] = []
    for raw in emails:
        candidate = text(raw, 300)
        if not candidate:
            continue
        try:
            lead["email"] = normalize_email(candidate)
            break
        except ContactError as exc:
            email_problems.append(str(exc))
            extra.setdefault("email_raw", candidate)
    problems = phone_problems + email_problems
    lead["whatsapp_user_id"], lead["whatsapp_username"] = whatsapp_user_id, whatsapp_username
    if not lead.get("phone") and not lead.get("email") and not whatsapp_user_id:
        if problems:
            raise PayloadError("invalid_contact", f"{'; '.join(problems)}; a lead needs a valid phone or email")
        raise PayloadError("missing_contact", "a lead needs a phone or an email; neither was sent")
    if not lead.get("phone") and not lead.get("email"):
        warnings.append("no phone or email: the lead is known by its WhatsApp user id only")
    if not lead.get("phone"):
        warnings.extend(phone_problems)
    if not lead.get("email"):
        warnings.extend(email_problems)

    lead["name"] = text(name)
    lead["city"] = text(city)
    lead["state"] = text(state)
    lead["product"] = text(product)
    lead["message"] = message[:5000] if message else None  # already normalised by the adapter
    for field, value, parse in (("pincode", pincode, normalize_pincode), ("language", language, normalize_language)):
        raw = text(value, 60)
        if raw is None:
            continue
        try:
            lead[field] = parse(raw)
        except ContactError as exc:
            warnings.append(str(exc))
            extra[f"{field}_raw"] = raw
    lead["external_id"] = external_id(external)
    lead["tags"] = list(dict.fromkeys([*tags, *source.tags]))
    lead["attribution"] = Attribution(**(attribution or {}))
    lead["extra"] = extra
    lead["warnings"] = warnings
    lead["do_not_call"] = do_not_call
    lead["test"] = test
    lead["source_time"] = source_time
    if consent_detail is not None:
        lead["consent"], lead["consent_detail"] = consent_detail.given, consent_detail
    return LeadInput.model_validate(lead)


def multiline(value: Any, max_length: int = 5000) -> str | None:
    """A message whose line breaks matter (IndiaMART's `<br>`): each line normalised, blank lines
    dropped, lines joined with a newline."""
    if value is None or isinstance(value, dict | list | bool):
        return None
    lines = [normalize_text(line) for line in str(value).splitlines()]
    joined = "\n".join(line for line in lines if line)
    return joined[:max_length] or None


def provider_time(value: Any) -> datetime | None:
    """A time a provider sent: ISO-8601 (a naive time is UTC), Meta's `+0000` offset, or epoch
    seconds / milliseconds. None when it is not a time."""
    if value is None or isinstance(value, bool | dict | list):
        return None
    raw = str(value).strip()
    if not raw:
        return None
    if raw.isdigit():
        number = int(raw)
        seconds = number / 1000 if number > 10**11 else number
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if len(raw) > 5 and raw[-5] in "+-" and raw[-4:].isdigit():  # 2026-01-05T08:49:14+0000
        raw = f"{raw[:-2]}:{raw[-2:]}"
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def local_time(value: Any, zone: timezone = IST) -> datetime | None:
    """A provider's wall-clock time without an offset, in `zone` (IST by default): IndiaMART's
    `2026-01-05 15:44:28`, JustDial's `2026-01-05 13:10:11`. A time that says its own offset keeps
    it; epoch numbers are read as `provider_time` does. None when it is not a time."""
    raw = text(value, 60)
    if raw is None:
        return None
    if raw.isdigit():
        return provider_time(raw)
    if len(raw) > 5 and raw[-5] in "+-" and raw[-4:].isdigit():
        raw = f"{raw[:-2]}:{raw[-2:]}"
    for attempt in (raw.replace("Z", "+00:00"), *(_reformat(raw))):
        try:
            moment = datetime.fromisoformat(attempt)
        except ValueError:
            continue
        return moment if moment.tzinfo else moment.replace(tzinfo=zone)
    return None


_DAY_FIRST = ("%d-%m-%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%d-%b-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%d/%m/%Y %H:%M")


def _reformat(raw: str) -> list[str]:
    """Day-first spellings (`05-01-2026 13:10:11`, `05-Jan-2026 …`) as ISO, for senders that use them."""
    found = []
    for pattern in _DAY_FIRST:
        try:
            found.append(datetime.strptime(raw, pattern).isoformat())
        except ValueError:
            continue
    return found


def time_or_warning(value: Any, what: str, warnings: list[str], *, zone: timezone | None = None) -> datetime | None:
    """A provider's enquiry time (`source_time`), or None with a warning when it cannot be read."""
    moment = local_time(value, zone) if zone is not None else provider_time(value)
    if moment is None and value not in (None, ""):
        warnings.append(f"{what} {str(value)[:40]!r} is not a time; source_time is left empty")
    return moment


def consent(
    given: bool,
    *,
    where: str,
    at: Any = None,
    purpose: Any = None,
    wording: Any = None,
    warnings: list[str] | None = None,
) -> Consent:
    """The consent a provider reported. `where` names the source and field that carried it; a time
    that cannot be read is reported as a warning (capture then stamps the time of receipt)."""
    moment = provider_time(at)
    if at not in (None, "") and moment is None and warnings is not None:
        warnings.append(f"consent time {str(at)[:40]!r} is not a time; the time of receipt is recorded instead")
    return Consent(given=given, at=moment, purpose=text(purpose, 200), source=where, text=text(wording, 2000))
