"""Lead sources (admin): the webhook URLs leads arrive on, their keys and provider settings, and
CSV import for sources that have no API (NoBroker, a portal export, a spreadsheet).

A source's key is shown once, when it is made or rotated; only its hash is stored. Provider
secrets in `settings` never leave the API in clear: every setting not named in
`PUBLIC_SETTINGS` shows as "***", and sending "***" (or the masked form GET showed) back in a
PATCH leaves the stored value alone, so a client can edit what GET gave it and send it all back.
There is no DELETE: a source is switched off with `active: false`, and its leads keep their
`source_id`.
"""

from __future__ import annotations

import base64
import json
import re
import time
import unicodedata
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from api_routes.common import Conflict, NotFound, Unprocessable, logger, principal
from api_routes.idempotency import idempotent
from leadrelay import wiring
from leadrelay.auth import Role
from leadrelay.clock import get_clock, iso
from leadrelay.models import Source, SourceKind
from leadrelay.models.source import hash_key, new_key

router = Router()

# Source ids are the `{source_id}` of `/hooks/{source_id}` and part of DynamoDB keys: a URL-safe slug.
SOURCE_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
SourceId = Annotated[str, Path(min_length=1, max_length=64, description="The source's id (its webhook path)")]
MASK = "***"
# Settings shown as they are; every other setting is a secret or may hold one, and is masked.
PUBLIC_SETTINGS = frozenset(
    {
        "ack_body", "graph_url", "graph_timeout_s", "graph_attempts", "graph_backoff_s", "fetch_budget_s",
        "lead_events", "field_mapping", "mapping", "csv_mapping", "pull_url", "pull_interval_minutes",
        "pull_lookback_hours", "pull_overlap_minutes", "pull_window_hours", "pull_timeout_s", "page_id", "form_id",
        "profile_id", "route_test_leads", "timezone", "default_language", "default_city", "default_product",
    }
)  # fmt: skip
# Query parameters of a public URL setting that carry a credential (MagicBricks' `?key=`).
_SECRET_PARAM = re.compile(r"key|token|secret|pass|pwd|pswd|sig|hash|auth|cred", re.IGNORECASE)
MAX_SETTINGS_BYTES = 32 * 1024


def _mask_url(value: str) -> str:
    """A URL with its password and credential-like query values masked."""
    parts = urlsplit(value)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else netloc
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, MASK if _SECRET_PARAM.search(k) else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def masked_setting(name: str, value: Any) -> Any:
    """How GET shows one setting: public ones as they are (URLs without their credentials)."""
    if name not in PUBLIC_SETTINGS:
        return MASK
    if isinstance(value, str) and value.lower().startswith(("http://", "https://")):
        return _mask_url(value)
    return value


def source_view(source: Source) -> dict[str, Any]:
    """A source as the API shows it: never the key or its hash, secrets masked."""
    return {
        "source_id": source.source_id,
        "kind": source.kind.value,
        "name": source.name,
        "active": source.active,
        "tags": source.tags,
        "created_at": iso(source.created_at) if source.created_at else None,
        "webhook_path": f"/hooks/{source.source_id}",
        "settings": {name: masked_setting(name, value) for name, value in sorted(source.settings.items())},
    }


def _settings_size(settings: dict[str, Any]) -> None:
    if len(json.dumps(settings, default=str)) > MAX_SETTINGS_BYTES:
        raise Unprocessable("settings_too_large", f"settings are limited to {MAX_SETTINGS_BYTES} bytes of JSON")


def _check_urls(kind: str, settings: dict[str, Any]) -> None:
    """Every provider URL being set (`graph_url`, `pull_url`, any `*_url`) must be https on that
    provider's own hosts: 422 `url_not_allowed` otherwise (leadrelay/sources/urls.py)."""
    from leadrelay.config import get_settings
    from leadrelay.sources.urls import UrlNotAllowed, check_provider_url, is_url_setting

    loopback = get_settings().provider_urls_allow_loopback
    for name, value in settings.items():
        if value is None or not is_url_setting(name):
            continue
        try:
            check_provider_url(SourceKind(kind), name, value, allow_loopback=loopback)
        except UrlNotAllowed as exc:
            raise Unprocessable(UrlNotAllowed.code, str(exc)) from exc


def _check_mapping(kind: str, settings: dict[str, Any]) -> None:
    """A `field_mapping` must name lead fields the kind's adapter fills; only adapters whose senders
    choose their own field names (generic and web forms, Google's and Meta's custom questions) take one."""
    from leadrelay.sources.fields import FIELD_MAPPING, PROVIDER_TARGETS, mapping_problems
    from leadrelay.sources.generic import MAPPABLE

    mapping = settings.get(FIELD_MAPPING)
    if mapping is None:
        return
    targets = {"generic": MAPPABLE, "web_form": MAPPABLE, "google_ads": PROVIDER_TARGETS,
               "meta_lead_ads": PROVIDER_TARGETS}.get(kind)  # fmt: skip
    if targets is None:
        raise Unprocessable("invalid_setting", f"a {kind} source has fixed field names; field_mapping does not apply")
    problems = mapping_problems(mapping, targets)
    if problems:
        raise Unprocessable("invalid_setting", "; ".join(problems[:5]))


class SourceFields(BaseModel):
    """What an admin may set on a source (besides its key, which LeadRelay makes)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: str | None = Field(default=None, min_length=1, max_length=120)
    active: bool | None = None
    tags: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(default=None, max_length=20)
    settings: dict[Annotated[str, Field(min_length=1, max_length=64)], Any] | None = Field(
        default=None, description='provider secrets and options; "***" leaves a stored value as it is'
    )


class SourceDocument(SourceFields):
    """A source as GET shows it, to send back edited: read-only fields are accepted (an id or kind
    that differs from the stored one is refused) and masked secrets mean "unchanged"."""

    source_id: str | None = Field(default=None, max_length=64, description="read-only: must match the path")
    kind: str | None = Field(default=None, max_length=32, description="read-only: a source's kind never changes")
    created_at: str | None = Field(default=None, max_length=40, description="read-only")
    webhook_path: str | None = Field(default=None, max_length=200, description="read-only")
    pull: dict[str, Any] | None = Field(default=None, description="read-only: the poller's state")


class NewSource(SourceFields):
    """A new source. Without a `source_id`, one is made from the name ("NoBroker Pune" → `nobroker-pune`)."""

    source_id: str | None = Field(default=None, description="lower-case letters, digits, - and _; at most 64")
    kind: str = Field(description="one of the supported source kinds, e.g. generic")
    name: str = Field(min_length=1, max_length=120)  # type: ignore[assignment]

    @field_validator("source_id")
    @classmethod
    def _slug(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(SOURCE_ID_PATTERN, value):
            raise ValueError(
                "source_id must be a URL-safe slug: lower-case letters, digits, '-' and '_', starting with a "
                "letter or digit, at most 64 characters"
            )
        return value


def _slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:48].strip("-")


def _require_source(source_id: str) -> Source:
    source = wiring.org_repository().get_source(source_id)
    if source is None:
        raise NotFound(f"there is no source {source_id!r}")
    return source


def _keyed(source: Source, key: str, status: int) -> Response[dict[str, Any]]:
    """A source with its new key: the only answer that ever shows a key."""
    body = {**source_view(source), "key": key}
    return Response(status_code=status, content_type="application/json", body=body)


def _with_pull(view: dict[str, Any], source: Source, states: dict[str, Any]) -> dict[str, Any]:
    """A pull kind's source also shows its poller: whether its credentials are set, and the last
    poll's result (the provider's code and message, credentials masked), so a failing key is seen
    here rather than in the logs. Push-only kinds have no `pull`."""
    from leadrelay.pull import puller_for

    puller = puller_for(source.kind)
    if puller is None:
        return view
    state = states.get(source.source_id)
    view["pull"] = {
        "configured": puller.configured(source),
        "last_result": state.last_result if state else None,
        "failures": state.failures if state else 0,
        "window_end": iso(state.window_end) if state and state.window_end else None,
        "next_call_at": iso(state.next_call_at) if state and state.next_call_at else None,
        "last_success_at": iso(state.last_success_at) if state and state.last_success_at else None,
    }
    return view


def _poll_states() -> dict[str, Any]:
    from leadrelay.pull.state import PollStateStore

    return {state.source_id: state for state in PollStateStore(wiring.org_repository().table).list()}


@router.get("/sources", summary="Lead sources, with secrets masked (admin)", tags=["sources"])
def list_sources() -> dict[str, Any]:
    principal(router).require(Role.ADMIN)
    sources = sorted(wiring.org_repository().list_sources(), key=lambda source: source.source_id)
    states = _poll_states()
    return {"items": [_with_pull(source_view(source), source, states) for source in sources], "next": None}


@router.get("/sources/<source_id>", summary="One lead source, with secrets masked (admin)", tags=["sources"])
def get_source(source_id: SourceId) -> dict[str, Any]:
    principal(router).require(Role.ADMIN)
    source = _require_source(source_id)
    return _with_pull(source_view(source), source, _poll_states())


@router.post(
    "/sources",
    summary="Add a lead source; its key is in this answer only (admin)",
    tags=["sources"],
    responses={201: {"description": "the source, with `key` (shown once)"}},
    middlewares=[idempotent],
)
def create_source(body: NewSource) -> Response[dict[str, Any]]:
    principal(router).require(Role.ADMIN)
    from leadrelay.sources import SUPPORTED_KINDS

    if body.kind not in {kind.value for kind in SUPPORTED_KINDS}:
        supported = ", ".join(kind.value for kind in SUPPORTED_KINDS)
        raise Unprocessable("unsupported_source_kind", f"kind {body.kind!r} is not supported; use one of {supported}")
    settings = {name: value for name, value in (body.settings or {}).items() if value is not None}
    masked = sorted(name for name, value in settings.items() if value == MASK)
    if masked:
        raise Unprocessable("masked_setting", f"send the real value of {', '.join(masked)}, not {MASK!r}")
    _settings_size(settings)
    _check_mapping(body.kind, settings)
    _check_urls(body.kind, settings)
    key = new_key()
    source = Source(
        source_id=body.source_id or "", kind=SourceKind(body.kind), name=body.name, key_hash=hash_key(key),
        active=True if body.active is None else body.active, settings=settings, tags=body.tags or [],
        created_at=get_clock().now(),
    )  # fmt: skip
    org = wiring.org_repository()
    if body.source_id is not None:
        if not org.create_source(source):
            raise Conflict("source_exists", f"there is already a source {body.source_id!r}")
        return _keyed(source, key, 201)
    slug = _slugify(body.name) or body.kind.replace("_", "-")
    for candidate in (slug, *(f"{slug}-{n}" for n in range(2, 10))):
        source.source_id = candidate
        if org.create_source(source):
            return _keyed(source, key, 201)
    raise Conflict("source_exists", f"sources {slug!r} to {slug + '-9'!r} exist; give a source_id")


@router.patch(
    "/sources/<source_id>",
    summary="Change a source's name, active, tags or settings (merged; null removes a setting) (admin)",
    tags=["sources"],
)
def update_source(source_id: SourceId, body: SourceDocument) -> dict[str, Any]:
    principal(router).require(Role.ADMIN)
    source = _require_source(source_id)
    if body.source_id not in (None, source_id) or body.kind not in (None, source.kind.value):
        other = f"the body describes another source than {source_id!r} ({source.kind.value})"
        raise Unprocessable("id_mismatch", other)
    changes: dict[str, Any] = {}
    for name in ("name", "active", "tags"):
        if name in body.model_fields_set:
            value = getattr(body, name)
            if value is None:
                raise Unprocessable("invalid_request", f"{name} cannot be null")
            changes[name] = value
    settings: dict[str, Any] = {}
    for name, value in (body.settings or {}).items():
        # The masked form GET showed (or "***") means "unchanged": a round-trip never overwrites a secret.
        if value == MASK or (name in source.settings and value == masked_setting(name, source.settings[name])):
            continue
        if value is None and name not in source.settings:
            continue
        settings[name] = value
    merged = {k: v for k, v in {**source.settings, **settings}.items() if v is not None}
    _settings_size(merged)
    _check_mapping(source.kind.value, merged)
    _check_urls(source.kind.value, settings)
    updated = wiring.org_repository().update_source(source_id, changes, settings)
    if updated is None:
        raise NotFound(f"there is no source {source_id!r}")
    return source_view(updated)


@router.post(
    "/sources/<source_id>/rotate-key",
    summary="Make a new key for a source; the old key stops working at once (admin)",
    tags=["sources"],
    middlewares=[idempotent],
)
def rotate_key(source_id: SourceId) -> Response[dict[str, Any]]:
    principal(router).require(Role.ADMIN)
    key = new_key()
    updated = wiring.org_repository().update_source(source_id, {"key_hash": hash_key(key)})
    if updated is None:
        raise NotFound(f"there is no source {source_id!r}")
    logger.info("source key rotated", extra={"source_id": source_id})
    return _keyed(updated, key, 200)


# -- CSV import -------------------------------------------------------------------------------

# Content types a CSV file is sent with (Windows names .csv files application/vnd.ms-excel).
CSV_TYPES = frozenset({"text/csv", "application/csv", "text/plain", "application/vnd.ms-excel"})
# Time left for the rows after reading the file and before the function's own timeout, and the
# most an import call spends on rows whatever the timeout (API Gateway gives up after 29 s).
IMPORT_MARGIN_S = 3.0
IMPORT_MAX_BUDGET_S = 25.0


class ImportBody(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    csv: str = Field(min_length=1, description="the file's text")
    mapping: dict[str, str | None] | None = Field(
        default=None, description='column → lead field, e.g. {"Customer Name": "name", "Sr No": null}'
    )


def _refusal(status: int, code: str, message: str) -> Response[dict[str, Any]]:
    return Response(status_code=status, content_type="application/json", body={"error": code, "message": message})


def _import_input(raw_mapping: str | None) -> tuple[str, dict[str, str | None] | None]:
    """The CSV text and mapping from the request: a raw CSV body (mapping in `?mapping=`), or JSON."""
    from leadrelay.capture.csv_import import MAX_IMPORT_BYTES, CsvImportError, decode_csv_bytes

    event = router.current_event
    content_type = (event.headers.get("content-type") or event.headers.get("Content-Type") or "").split(";")[0]
    content_type = content_type.strip().lower()
    body = event.body or ""
    data = base64.b64decode(body) if event.is_base64_encoded else body.encode("utf-8")
    if len(data) > MAX_IMPORT_BYTES:
        message = f"the body is {len(data)} bytes; the limit is {MAX_IMPORT_BYTES} bytes per import: split the file"
        raise CsvImportError(413, "payload_too_large", message)
    if not data.strip():
        raise CsvImportError(400, "empty_body", 'send the CSV file as the body (text/csv) or as JSON {"csv": …}')
    mapping: dict[str, str | None] | None = None
    if raw_mapping:
        try:
            mapping = ImportBody(csv="-", mapping=json.loads(raw_mapping)).mapping
        except (json.JSONDecodeError, ValidationError) as exc:
            message = f"mapping must be a JSON object of column → field: {exc}"
            raise CsvImportError(422, "invalid_mapping", message) from exc
    if content_type in ("application/json", "text/json") or (not content_type and data.lstrip()[:1] == b"{"):
        try:
            parsed = ImportBody.model_validate_json(data)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:5])
            raise CsvImportError(422, "invalid_request", problems) from exc
        return parsed.csv, parsed.mapping if parsed.mapping is not None else mapping
    if content_type in CSV_TYPES or not content_type:
        return decode_csv_bytes(data), mapping
    message = f"content type {content_type!r} is not accepted; send text/csv or application/json"
    raise CsvImportError(415, "unsupported_media_type", message)


@router.post(
    "/sources/<source_id>/import",
    summary="Import leads from a CSV file into a generic source (admin)",
    description="Body: the CSV itself (`Content-Type: text/csv`, optional `?mapping=<JSON>`), or JSON "
    '`{"csv": "<text>", "mapping": {"Customer Name": "name"}}`. Header row required. Answers a report '
    "with every row's outcome; when `complete` is false, send the same file again with `?start_row=<next_row>`.",
    tags=["sources"],
    middlewares=[idempotent],
)
def import_csv(
    source_id: SourceId,
    start_row: Annotated[int, Query(ge=2, le=10_000_000, description="go on from this row (header = row 1)")] = 2,
    mapping: Annotated[
        str | None, Query(max_length=8192, description="JSON column → field, for a text/csv body")
    ] = None,
) -> Response[dict[str, Any]]:
    """Admins only. An import makes many leads in one go, routed at once to any team's agents, and
    its refused rows are reviewed in the quarantine, which only admins see; a manager who needs a
    list imported asks an admin (or the admin sets up a generic source the manager's tool posts to)."""
    who = principal(router)
    who.require(Role.ADMIN)
    started = time.monotonic()
    from leadrelay.capture.csv_import import CsvImportError
    from leadrelay.capture.csv_import import import_csv as run_import
    from leadrelay.sources import adapter_for
    from leadrelay.sources.generic import GenericAdapter

    source = _require_source(source_id)
    if not isinstance(adapter_for(source.kind), GenericAdapter):
        return _refusal(422, "import_unsupported_kind",
                        f"source {source_id!r} is a {source.kind.value} source; import into a generic or web_form "
                        "source (create one for the portal, e.g. kind generic, name 'NoBroker')")  # fmt: skip
    if not source.active:
        return _refusal(409, "source_disabled", f"source {source_id!r} is disabled; set active to true first")
    context = getattr(router, "lambda_context", None)
    remaining_s = context.get_remaining_time_in_millis() / 1000 if context is not None else 15.0
    budget_s = min(IMPORT_MAX_BUDGET_S, remaining_s - IMPORT_MARGIN_S) - (time.monotonic() - started)
    try:
        text, column_mapping = _import_input(mapping)
        report = run_import(
            wiring.capture_service(), source, text, column_mapping, imported_by=who.username, start_row=start_row,
            budget_s=max(budget_s, 1.0),
        )  # fmt: skip
    except CsvImportError as exc:
        return _refusal(exc.status, exc.code, str(exc))
    answer = report.as_dict()
    # Counts and ids only, never a row's contents; nested, as "created" is a LogRecord attribute.
    counts = ("rows", "processed", "created", "merged", "duplicate", "quarantined", "next_row")
    logger.info(
        "csv import",
        extra={"source_id": source_id, "import_id": answer["import_id"], "username": who.username,
               "import_counts": {key: answer[key] for key in counts}},
    )  # fmt: skip
    return Response(status_code=200, content_type="application/json", body=answer)
