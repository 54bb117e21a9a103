"""A stand-in for Meta's Graph API on the local stack, so a Lead Ads webhook becomes a full lead.

Meta's webhook names a `leadgen_id` only; the lead itself is fetched from
`GET https://graph.facebook.com/<version>/<leadgen_id>?access_token=<page token>&fields=…`
(`sources/graph.py`). The local stack never calls the internet, so it answers that call itself at
`<api_url>/_local/graph/<version>/<leadgen_id>` and points the demo's Meta source there
(its `graph_url` setting). The answer has Graph's shape (`id`, `created_time`, `ad_id`, `form_id`,
`field_data`), with a made-up person derived from the leadgen id: the same id always gives the
same person, so a provider retry is a duplicate, as with the real Graph. A wrong token gets
Graph's own error (400, OAuthException code 190), which parks the lead as a pending fetch.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote

from leadrelay.clock import Clock
from leadrelay.models import Source, SourceKind

GRAPH_PATH = "/_local/graph"
GRAPH_VERSION = "v25.0"

_NAMES = ["Aarav Sharma", "Diya Menon", "Ishaan Gupta", "Kavya Reddy", "Rohan Das", "Sneha Kulkarni",
          "Vikram Chauhan", "Ananya Iyer", "Farhan Qureshi", "Pooja Bhatt"]  # fmt: skip
_CITIES = ["Noida", "Bengaluru", "Pune", "Chennai", "Delhi", "Hyderabad", "Gurugram", "Mumbai"]

Answer = tuple[int, list[tuple[str, str]], bytes]


def _json(status: int, payload: dict[str, Any]) -> Answer:
    return status, [("Content-Type", "application/json")], json.dumps(payload).encode()


def graph_lead(leadgen_id: str, created: datetime) -> dict[str, Any]:
    """The lead Graph would return for `leadgen_id`: a made-up person, the same for the same id."""
    digest = hashlib.sha256(leadgen_id.encode()).digest()
    name = _NAMES[digest[0] % len(_NAMES)]
    phone = "+9198" + str(int.from_bytes(digest[1:6], "big") % 10**8).zfill(8)
    email = name.lower().replace(" ", ".") + "@example.com"
    return {
        "id": leadgen_id,
        "created_time": created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "ad_id": "120000000000001",
        "form_id": "120000000000002",
        "field_data": [
            {"name": "full_name", "values": [name]},
            {"name": "phone_number", "values": [phone]},
            {"name": "email", "values": [email]},
            {"name": "city", "values": [_CITIES[digest[6] % len(_CITIES)]]},
        ],
    }


class GraphStandIn:
    """Answers `GET /_local/graph/<version>/<leadgen_id>` for the page tokens it was given."""

    def __init__(self, clock: Clock, tokens: Iterable[str] = ()) -> None:
        self.clock = clock
        self.tokens = set(tokens)
        self.fetched: list[str] = []  # leadgen ids served, oldest first (tests read it)

    def answer(self, method: str, path: str, query: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
        if method not in ("GET", "HEAD"):
            return _json(400, _oauth_error("Unsupported request: the stand-in Graph API serves GET only", 100))
        parts = [unquote(part) for part in path[len(GRAPH_PATH) :].split("/") if part]
        if len(parts) != 2 or not parts[0].startswith("v"):
            return _json(400, _oauth_error(f"Unknown path components: {path}", 2500))
        token = (parse_qs(query).get("access_token") or [""])[0]
        if token not in self.tokens:
            return _json(400, _oauth_error("Invalid OAuth access token - Cannot parse access token", 190))
        leadgen_id = parts[1]
        self.fetched.append(leadgen_id)
        return _json(200, graph_lead(leadgen_id, self.clock.now()))

    def serve_sources(self, org: Any, graph_url: str) -> list[str]:
        """Point every Meta Lead Ads source that has a page token but no `graph_url` of its own at
        this stand-in, and accept its token. Returns the source ids pointed here."""
        pointed = []
        for source in org.list_sources():
            assert isinstance(source, Source)
            token = source.settings.get("page_access_token")
            if source.kind is not SourceKind.META_LEAD_ADS or not isinstance(token, str) or not token:
                continue
            if source.settings.get("graph_url"):
                continue
            org.update_source(source.source_id, {}, {"graph_url": graph_url})
            self.tokens.add(token)
            pointed.append(source.source_id)
        return pointed


def _oauth_error(message: str, code: int) -> dict[str, Any]:
    return {"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "local"}}
