"""Facebook / Instagram Lead Ads: the webhook carries lead ids only; the lead is then fetched.

1. Subscription: `GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…` — the token is the
   source's `verify_token`; the challenge is echoed as text/plain.
2. Notification: `POST` signed with `X-Hub-Signature-256: sha256=<HMAC-SHA256(raw body, app_secret)>`,
   checked over the raw bytes (Meta signs its escaped-unicode form), in constant time.
3. Each `entry[].changes[]` with `field: leadgen` names a `leadgen_id` (the dedupe key), fetched
   from the Graph API with the source's `page_access_token`. When Graph is down, slow, or the token
   is missing, the lead is parked as *pending fetch* and fetched again by the followup schedule.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import TYPE_CHECKING, Any

from leadrelay.models import LeadInput, Source
from leadrelay.models.lead import Consent
from leadrelay.sources import (
    BaseAdapter,
    ParsedItem,
    PayloadError,
    PendingFetch,
    Receipt,
    same_secret,
    secret,
    signed_provider_answer,
)
from leadrelay.sources.fields import (
    PROVIDER_TARGETS,
    build_lead,
    consent,
    external_id,
    field_mapping,
    form_answers,
    scalars,
    text,
    time_or_warning,
)
from leadrelay.sources.graph import DEFAULT_GRAPH_URL, GraphError, fetch_lead
from leadrelay.sources.urls import UrlNotAllowed, provider_url

if TYPE_CHECKING:
    from leadrelay.models.webhook import CaptureResult, WebhookRequest

SIGNATURE_HEADER = "x-hub-signature-256"
# field_data names → lead fields; anything else (custom questions) is kept in `extra`.
_FIELDS = {
    "full_name": "name", "name": "name", "first_name": "first_name", "last_name": "last_name",
    "phone_number": "phone", "phone": "phone", "mobile_number": "phone", "email": "email", "work_email": "work_email",
    "work_phone_number": "work_phone", "city": "city", "state": "state", "province": "state",
    "zip_code": "pincode", "post_code": "pincode", "postal_code": "pincode",
}  # fmt: skip
# The page is no campaign: kept in `extra` (form, ad and ad set ids go to `attribution`).
_NOTICE_IDS = ("page_id",)
# Graph's lead fields → `attribution` (the notification's `adgroup_id` is the ad's ad set id).
_ATTRIBUTION = {"campaign_id": "campaign_id", "campaign_name": "campaign_name", "adset_id": "adgroup_id",
                "adset_name": "adgroup_name", "ad_id": "ad_id", "ad_name": "ad_name", "form_id": "form_id"}  # fmt: skip
_NOTICE_READ = frozenset({"leadgen_id", "page_id", "form_id", "adgroup_id", "ad_id", "created_time"})
# Graph's `platform` codes as words a report can show.
PLATFORMS = {"fb": "facebook", "ig": "instagram", "msg": "messenger", "wa": "whatsapp", "an": "audience_network"}
# Read into the lead; any other scalar Graph sends is kept in `extra`.
_READ_GRAPH = frozenset({*_ATTRIBUTION, "id", "created_time", "field_data", "custom_disclaimer_responses",
                         "is_organic", "platform", "adgroup_id", "page_id"})  # fmt: skip


def _setting(source: Source, name: str, default: float) -> float:
    value = source.settings.get(name, default)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def signature_of(body: bytes, app_secret: str) -> str:
    """The `X-Hub-Signature-256` value Meta sends for `body`."""
    return "sha256=" + hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def lead_from_graph(graph: dict[str, Any], notice: dict[str, Any], source: Source) -> LeadInput:
    """A fetched Graph lead (`field_data[{name, values}]`) as a lead input."""
    fields: dict[str, str] = {}
    extra: dict[str, Any] = {}
    mapping = field_mapping(source)
    for answer in graph.get("field_data") or []:
        if not isinstance(answer, dict):
            continue
        name = text(answer.get("name"), 100)
        values = answer.get("values")
        values = values if isinstance(values, list) else [values]
        value = ", ".join(v for v in (text(x, 1000) for x in values) if v)
        if not name or not value:
            continue
        # A custom question mapped on the source ("your_whatsapp_number" → phone), else Meta's own names.
        custom = mapping.get(name.lower())
        field = custom if custom in PROVIDER_TARGETS else _FIELDS.get(name.lower())
        if field and field not in fields:
            fields[field] = value
        else:
            extra[name] = value
    for key in _NOTICE_IDS:
        ident = external_id(graph.get(key, notice.get(key)))
        if ident is not None:
            extra[key] = ident
    disclaimers = graph.get("custom_disclaimer_responses")
    created = graph.get("created_time") or notice.get("created_time")
    if disclaimers:
        extra["custom_disclaimer_responses"] = disclaimers
    extra.update({k: v for k, v in scalars(graph).items() if k not in _READ_GRAPH and k not in extra})
    # and any field of the notification Meta adds later (its documented ids are read above)
    extra.update({k: v for k, v in scalars(notice).items() if k not in _NOTICE_READ and k not in extra})
    warnings: list[str] = []
    lead = build_lead(
        source,
        **form_answers(fields),
        external=graph.get("id") or notice.get("leadgen_id"),
        extra=extra,
        attribution=graph_attribution(graph, notice),
        consent_detail=_disclaimer_consent(disclaimers, created, source),
        source_time=time_or_warning(created, "created_time", warnings),
    )
    lead.warnings.extend(warnings)
    return lead


def graph_attribution(graph: dict[str, Any], notice: dict[str, Any]) -> dict[str, Any]:
    """Campaign, ad set, ad and form ids and names, the platform (`fb` → facebook, `ig` → instagram)
    and `is_organic`, from the fetched lead, else the notification's ids."""
    found: dict[str, Any] = {}
    for name, target in _ATTRIBUTION.items():
        value = graph.get(name)
        if value in (None, "") and target.endswith("_id"):
            value = notice.get(name if name != "adset_id" else "adgroup_id")
        found[target] = (external_id(value) if target.endswith("_id") else text(value)) if value is not None else None
    platform = text(graph.get("platform"), 40)
    if platform:
        found["platform"] = PLATFORMS.get(platform.lower(), platform.lower())
    organic = graph.get("is_organic")
    if organic is not None:
        found["is_organic"] = organic is True or str(organic).strip().lower() in ("1", "true")
    return found


def _disclaimer_consent(responses: Any, created: Any, source: Source) -> Consent | None:
    """Consent from the form's disclaimer checkboxes (`custom_disclaimer_responses`, not part of
    `field_data`): given for the purposes whose box was ticked; refused when none was."""
    if not isinstance(responses, list):
        return None
    ticked: list[str] = []
    unticked: list[str] = []
    for response in responses:
        if not isinstance(response, dict):
            continue
        key = text(response.get("checkbox_key"), 100) or "disclaimer"
        checked = str(response.get("is_checked", "")).strip().lower() in ("1", "true", "yes")
        (ticked if checked else unticked).append(key)
    if not ticked and not unticked:
        return None
    return consent(
        bool(ticked), where=f"{source.source_id}: Meta custom_disclaimer_responses", at=created,
        purpose=", ".join(ticked or unticked),
    )  # fmt: skip


def fetch(leadgen_id: str, notice: dict[str, Any], source: Source, *, attempts: int | None = None) -> LeadInput:
    """Fetch and map one lead; `GraphError` when Graph cannot give it now."""
    token = source.settings.get("page_access_token")
    if not token or not isinstance(token, str):
        raise GraphError(f"source {source.source_id!r} has no page_access_token configured", retryable=False)
    try:
        graph_url = provider_url(source, "graph_url", DEFAULT_GRAPH_URL)
    except UrlNotAllowed as exc:
        raise GraphError(f"{exc}; the lead waits until it is fixed", retryable=False) from exc
    graph = fetch_lead(
        leadgen_id,
        token,
        graph_url=graph_url,
        timeout_s=_setting(source, "graph_timeout_s", 2.0),
        attempts=attempts or int(_setting(source, "graph_attempts", 2)),
        backoff_s=_setting(source, "graph_backoff_s", 0.2),
    )
    return lead_from_graph(graph, notice, source)


def _notices(payload: dict[str, Any]) -> list[dict[str, Any]]:
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise PayloadError("invalid_body", "expected Meta's notification: {object, entry: [{changes: […]}]}")
    notices = []
    for entry in entries:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for change in changes if isinstance(changes, list) else []:
            if not isinstance(change, dict) or change.get("field") != "leadgen":
                continue
            value = change.get("value")
            if isinstance(value, dict):
                notices.append(value)
    return notices


class MetaWebhookAdapter(BaseAdapter):
    """Meta's webhook mechanics, shared by Lead Ads and the WhatsApp Business Cloud API: the `hub.*`
    subscription handshake (`verify_token`), `X-Hub-Signature-256` over the raw body (`app_secret`),
    and a 200 for anything signed correctly."""

    def handshake(self, request: WebhookRequest, source: Source) -> CaptureResult | None:
        if request.method != "GET" or "hub.mode" not in request.query:
            return None
        from leadrelay.models.webhook import CaptureResult

        mode = request.query.get("hub.mode", [""])[0]
        token = request.query.get("hub.verify_token", [None])[0]
        challenge = request.query.get("hub.challenge", [""])[0]
        if mode != "subscribe":
            raise PayloadError("invalid_handshake", f"hub.mode must be subscribe, not {mode!r}", 400)
        if not same_secret(token, secret(source, "verify_token")):
            raise PayloadError("invalid_verify_token", "hub.verify_token does not match this source", 403)
        return CaptureResult(200, challenge, content_type="text/plain")

    def verify(self, request: WebhookRequest, source: Source) -> None:
        if request.method != "POST":
            return
        app_secret = secret(source, "app_secret")
        presented = request.headers.get(SIGNATURE_HEADER)
        if not presented:
            raise PayloadError("missing_signature", "the X-Hub-Signature-256 header is missing", 401)
        if not same_secret(presented.strip().lower(), signature_of(request.body, app_secret)):
            raise PayloadError("invalid_signature", "X-Hub-Signature-256 does not match the body", 403)

    def respond(self, receipt: Receipt, source: Source) -> CaptureResult:
        """200 for whatever was signed correctly (stored, parked or quarantined: a retry would
        bring the same bytes); a bad or missing signature is 401/403."""
        return signed_provider_answer(receipt)


class MetaLeadAdsAdapter(MetaWebhookAdapter):
    """Meta Lead Ads notification → one lead per `leadgen` change, fetched from the Graph API."""

    def parse(self, payload: dict[str, Any], source: Source) -> list[ParsedItem]:
        notices = _notices(payload)
        if not notices:
            raise PayloadError("no_leads", "the notification has no leadgen changes")
        # Meta wants a quick 200 and ingest has a 10 s timeout: past the budget the rest are parked
        # and fetched by the schedule (worst case: budget + attempts x timeout + backoff, about 7 s).
        deadline = time.monotonic() + _setting(source, "fetch_budget_s", 3.0)
        items: list[ParsedItem] = []
        for notice in notices:
            leadgen_id = external_id(notice.get("leadgen_id"))
            if not leadgen_id:
                items.append(PayloadError("invalid_body", "a leadgen change has no leadgen_id"))
                continue
            data = {k: external_id(v) for k, v in notice.items() if not isinstance(v, dict | list)}
            if time.monotonic() > deadline:
                items.append(PendingFetch(leadgen_id, "the fetch budget for this notification ran out", data))
                continue
            try:
                items.append(fetch(leadgen_id, data, source))
            except GraphError as exc:
                items.append(PendingFetch(leadgen_id, str(exc), data))
            except PayloadError as exc:
                items.append(PayloadError(exc.code, f"lead {leadgen_id}: {exc}", exc.status))
        return items

    def fetch_pending(self, external_id: str, notice: dict[str, Any], source: Source) -> LeadInput:
        """A parked lead, fetched from the Graph API: one try per call (the schedule that calls
        again is the retry); `GraphError` (a `FetchNotReady`) while Graph cannot give it."""
        return fetch(external_id, notice, source, attempts=1)
