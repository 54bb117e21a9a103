"""Google Ads lead form webhooks: the whole lead in one JSON push.

Google signs nothing; the advertiser sets a key on the form and Google sends it in the body as
`google_key`, compared here (constant time) with the source's `google_key` setting. Fields come
in `user_column_data[]` by `column_id` (`column_name` is not always there). `lead_id` is unique
across forms and is the dedupe key. Test leads (`is_test: true`, "Send test data") are stored
and tagged `test` but never routed. Google wants a 200, quickly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from leadrelay.models import Source
from leadrelay.sources import BaseAdapter, ParsedItem, PayloadError, Receipt, provider_answer, same_secret, secret
from leadrelay.sources.fields import (
    PROVIDER_TARGETS,
    build_lead,
    external_id,
    field_mapping,
    form_answers,
    scalars,
    text,
    time_or_warning,
)
from leadrelay.sources.secrets import digest_matches, is_masked

if TYPE_CHECKING:
    from leadrelay.capture import CaptureResult, WebhookRequest

# column_id → lead field. WORK_* are fallbacks for the personal ones.
_COLUMNS = {
    "FULL_NAME": "name", "FIRST_NAME": "first_name", "LAST_NAME": "last_name",
    "EMAIL": "email", "WORK_EMAIL": "work_email", "PHONE_NUMBER": "phone", "WORK_PHONE": "work_phone",
    "CITY": "city", "REGION": "state", "POSTAL_CODE": "pincode", "COMPANY_NAME": "company",
}  # fmt: skip
# Top-level ids that say which campaign, ad group, ad and form brought the lead: `attribution`, as
# strings (they are int64; Google says clients must use 8-byte integers).
_IDS = ("form_id", "campaign_id", "adgroup_id", "creative_id", "asset_group_id")
_KEPT = ("api_version", "lead_stage", "lead_submit_time")
# Fields read above; any other top-level scalar Google adds later is kept in `extra` as sent.
_READ = frozenset({*_IDS, "lead_id", "user_column_data", "gcl_id", "is_test", "google_key"})


def _key_in(payload: dict[str, Any]) -> str | None:
    """`google_key`, in whatever case the sender wrote it (Google's own samples say `Google_key`)."""
    for name, value in payload.items():
        if name.lower() == "google_key":
            return value if isinstance(value, str) else str(value)
    return None


def _is_test(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


class GoogleAdsAdapter(BaseAdapter):
    """Google Ads lead form extension webhook → one lead."""

    body_secrets = frozenset({"google_key"})

    def parse(self, payload: dict[str, Any], source: Source) -> list[ParsedItem]:
        return self.parse_keyed(payload, source, None)

    def parse_request(self, request: WebhookRequest, payload: dict[str, Any], source: Source) -> list[ParsedItem]:
        return self.parse_keyed(payload, source, request.request_id)

    def parse_keyed(self, payload: dict[str, Any], source: Source, request_id: str | None) -> list[ParsedItem]:
        expected = secret(source, "google_key")
        presented = _key_in(payload)
        if presented is None:
            raise PayloadError("missing_google_key", "the body has no google_key; set the key on the lead form", 401)
        # A kept request being replayed holds the key's digest (salted with its request id), never the key.
        if is_masked(presented):
            matches = request_id is not None and digest_matches(presented, expected, request_id)
        else:
            matches = same_secret(presented, expected)
        if not matches:
            raise PayloadError("invalid_google_key", "google_key does not match this source's key", 403)

        columns = payload.get("user_column_data")
        if not isinstance(columns, list):
            raise PayloadError("invalid_body", "user_column_data must be a list of {column_id, string_value}")
        fields: dict[str, str] = {}
        extra: dict[str, Any] = {}
        mapping = field_mapping(source)
        for column in columns:
            if not isinstance(column, dict):
                continue
            column_id = text(column.get("column_id"), 100)
            value = text(column.get("string_value"), 1000)
            if value is None:
                continue
            # A qualifying question mapped on the source (by its column_id or its name), else Google's own.
            column_name = text(column.get("column_name"), 100) or ""
            custom = mapping.get((column_id or "").lower()) or mapping.get(column_name.lower())
            field = custom if custom in PROVIDER_TARGETS else _COLUMNS.get((column_id or "").upper())
            if field and field not in fields:
                fields[field] = value
            else:  # a qualifying question or a field we do not map: kept as sent
                label = column_id or text(column.get("column_name"), 100) or f"column_{len(extra)}"
                extra[label.lower()] = value
        if fields.get("company"):
            extra["company"] = fields["company"]
        # Unknown top-level scalars (and api_version, lead_stage, lead_submit_time as sent) → extra.
        extra.update({k: v for k, v in scalars(payload).items() if k.lower() not in _READ and k not in extra})
        test = _is_test(payload.get("is_test"))
        # gclid is kept verbatim: Google says never to modify it.
        gclid = payload["gcl_id"].strip() if isinstance(payload.get("gcl_id"), str) else None
        # Google writes 0 for an id it does not have (its "Send test data" payload: adgroup_id 0).
        attribution: dict[str, Any] = {
            key: external_id(payload.get(key)) for key in _IDS if payload.get(key) not in (0, "0")
        }
        if gclid:
            attribution["gclid"] = gclid
        warnings: list[str] = []
        lead = build_lead(
            source,
            **form_answers(fields),
            external=payload.get("lead_id"),
            extra=extra,
            attribution=attribution,
            tags=("test",) if test else (),
            test=test,
            source_time=time_or_warning(payload.get("lead_submit_time"), "lead_submit_time", warnings),
        )
        lead.warnings.extend(warnings)
        if lead.external_id is None:
            lead.warnings.append("the lead has no lead_id; retries are caught by the identical body only")
        return [lead]

    def respond(self, receipt: Receipt, source: Source) -> CaptureResult:
        return receipt.rejection or provider_answer(receipt)
