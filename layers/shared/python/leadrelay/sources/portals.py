"""What the property portals (99acres, MagicBricks, Housing.com) have in common.

Their leads are flat records with loosely named fields (`mobile`, `Mobile`, `clientName`,
`client_name`…), a 10-digit phone without the country code (the ISD code, when sent, is a field of
its own), and a project / locality / city. Each portal's adapter picks its fields with `pick` and
builds the lead with `portal_lead`, so the portals behave alike whether a lead was pushed to us or
pulled by `leadrelay.pull`.

Dedupe: the portal's own lead / query id is the `external_id` when the record has one. Without one
we deliberately invent no id: the record's bytes are the synthetic request's body (the pollers
write them canonically: same record, same bytes), so capture's body key makes the same record from
an overlapping window a `duplicate`, and the phone / email identities make it a touchpoint on the
same lead after that, never a second lead. An invented id (phone + time) would be wrong both ways:
the same person asking about two projects on one day is two enquiries, and a portal that rewrites
its time format would turn one enquiry into two.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from leadrelay.models import LeadInput, Source
from leadrelay.sources import ParsedItem, PayloadError
from leadrelay.sources.fields import IST, build_lead, external_id, multiline, text, time_or_warning

_KEY_NOISE = re.compile(r"[\s_\-.]")
# Field names that hold a list of leads inside a portal's envelope.
LIST_KEYS = ("RESPONSE", "leads", "data", "results", "result", "items", "records", "response", "enquiries")


def flat(record: dict[str, Any]) -> dict[str, Any]:
    """The record with its field names folded: lower case, no spaces/underscores/dashes/dots, so
    `clientName`, `client_name` and `Client Name` are one field."""
    return {_KEY_NOISE.sub("", str(key)).lower(): value for key, value in record.items()}


def pick(fields: dict[str, Any], *names: str) -> Any:
    """The first non-empty value among `names` (already folded, see `flat`)."""
    for name in names:
        value = fields.get(name)
        if value not in (None, "", [], {}):
            return value
    return None


def phone_with_isd(mobile: Any, isd: Any) -> str | None:
    """A portal phone as one string: `9000000005` with ISD `91` → `+919000000005`. Without an ISD
    the number is read as Indian (the portals are Indian; normalisation adds +91)."""
    number = text(mobile, 60)
    if not number:
        return None
    code = re.sub(r"\D", "", text(isd, 10) or "")
    if code and not number.startswith(("+", "00")):
        digits = re.sub(r"\D", "", number)
        if code == "91" and len(digits) == 12 and digits.startswith("91"):
            return f"+{digits}"  # the ISD was written into the number too
        return f"+{code}{digits}"
    return number


def leads_in(payload: dict[str, Any], *, nested: tuple[str, ...] = ()) -> list[Any]:
    """The records of a portal envelope: a list under one of `nested` (a path such as
    MagicBricks' `leadPojo`) or `LIST_KEYS`, else the payload itself as one flat record."""
    body: Any = payload
    for key in nested:
        if isinstance(body, dict) and isinstance(body.get(key), dict | list):
            body = body[key]
    for _ in range(2):  # `{"data": {"leads": [...]}}` is as deep as portals are seen to go
        if isinstance(body, list):
            return body
        if not isinstance(body, dict):
            break
        inner = next((body[k] for k in LIST_KEYS if isinstance(body.get(k), list | dict)), None)
        if inner is None:
            return [body]
        body = inner
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        return [body]
    raise PayloadError("invalid_body", "expected a lead object or a list of leads")


def each_lead(items: list[Any], build: Any) -> list[ParsedItem]:
    """`build(record)` for every record; a record that cannot be a lead is refused on its own
    (quarantined with the reason) while the others are stored."""
    if not items:
        raise PayloadError("no_leads", "the envelope holds no leads")
    parsed: list[ParsedItem] = []
    for position, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise PayloadError("invalid_body", f"a lead must be an object, got {type(item).__name__}")
            parsed.append(build(item))
        except PayloadError as exc:
            where = f"lead {position + 1} of {len(items)}: " if len(items) > 1 else ""
            parsed.append(PayloadError(exc.code, f"{where}{exc}", exc.status))
    return parsed


def portal_lead(
    source: Source,
    record: dict[str, Any],
    *,
    portal: str,
    mapped: Iterable[str],
    name: Any,
    phones: Iterable[Any],
    emails: Iterable[Any],
    project: Any = None,
    locality: Any = None,
    city: Any = None,
    message: Any = None,
    provider_id: Any = None,
    tags: Iterable[str] = (),
    when: Any = None,
) -> LeadInput:
    """A portal record as a lead: project → product and `extra.project`, locality → `extra`,
    everything else the record carried (budget, configuration, property id…) → `extra`."""
    used = set(mapped)
    extra: dict[str, Any] = {}
    for key, value in record.items():
        if _KEY_NOISE.sub("", str(key)).lower() in used or value in (None, "", [], {}):
            continue
        plain = isinstance(value, str | int | float | bool)
        extra[str(key).lower()[:100]] = value if plain else json.dumps(value, ensure_ascii=False, default=str)
    extra["portal"] = portal
    if text(project):
        extra["project"] = text(project)
    if text(locality):
        extra["locality"] = text(locality)
    warnings: list[str] = []
    # When the person enquired: the portals are Indian and write IST without an offset.
    source_time = time_or_warning(when, "the enquiry time", warnings, zone=IST)
    lead = build_lead(
        source,
        name=name,
        phones=phones,
        emails=emails,
        city=city,
        product=project,
        message=multiline(message),
        external=external_id(provider_id),
        extra=extra,
        tags=tags,
        source_time=source_time,
    )
    lead.warnings.extend(warnings)
    return lead


def canonical_json(record: Any) -> bytes:
    """One record as the bytes a poller hands to capture: sorted keys, no spaces, UTF-8, so the same
    record from two overlapping windows is the same body (and so a `duplicate`)."""
    return json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8")
