"""Provider URLs an admin can set are https on the provider's own hosts; body secrets are masked."""

from __future__ import annotations

import json

import pytest

from leadrelay.models import SourceKind
from leadrelay.sources.secrets import DIGEST_PREFIX, digest_matches, mask_body
from leadrelay.sources.urls import UrlNotAllowed, check_provider_url

META, INDIAMART = SourceKind.META_LEAD_ADS, SourceKind.INDIAMART


@pytest.mark.parametrize(
    ("kind", "name", "url"),
    [(META, "graph_url", "https://graph.facebook.com/v25.0"), (SourceKind.WHATSAPP, "graph_url", "https://graph.facebook.com"),
     (INDIAMART, "pull_url", "https://mapi.indiamart.com/wservce/crm/crmListing/v2/"),
     (SourceKind.MAGICBRICKS, "pull_url", "https://rating.magicbricks.com/mbRating/download.json"),
     (SourceKind.HOUSING, "pull_url", "https://pahal.housing.com/api/v0/get-builder-leads"),
     (SourceKind.NINETY_NINE_ACRES, "pull_url", "https://www.99acres.com/99api/v1/getmy99Response/x/uid/"),
     (META, "graph_url", "HTTPS://Graph.Facebook.com:443/v25.0")],
)  # fmt: skip
def test_the_providers_own_https_hosts_are_allowed(kind: SourceKind, name: str, url: str) -> None:
    assert check_provider_url(kind, name, url) == url


@pytest.mark.parametrize(
    ("kind", "name", "url", "why"),
    [(META, "graph_url", "file:///etc/passwd", "https"),
     (META, "graph_url", "http://graph.facebook.com/v25.0", "https"),
     (META, "graph_url", "https://evil.example/v25.0", "own hosts"),
     (META, "graph_url", "https://graph.facebook.com.evil.example/v25.0", "own hosts"),
     (META, "graph_url", "https://graph.facebook.com@169.254.169.254/latest/meta-data", "user name"),
     (META, "graph_url", "https://169.254.169.254/latest/meta-data", "own hosts"),
     (META, "graph_url", "https://graph.facebook.com:8443/v25.0", "port"),
     (META, "graph_url", "http://127.0.0.1:9/graph", "https"),
     (INDIAMART, "graph_url", "https://graph.facebook.com/v25.0", "calls no graph_url"),
     (INDIAMART, "pull_url", "https://graph.facebook.com/v25.0", "own hosts"),
     (SourceKind.GENERIC, "pull_url", "https://portal.example/api", "calls no pull_url"),
     (META, "graph_url", 42, "must be a URL"), (META, "graph_url", "", "must be a URL")],
)  # fmt: skip
def test_anything_else_is_not_allowed_and_says_why(kind: SourceKind, name: str, url: object, why: str) -> None:
    with pytest.raises(UrlNotAllowed, match=why):
        check_provider_url(kind, name, url)


def test_loopback_is_allowed_only_when_the_local_stack_says_so_and_only_loopback() -> None:
    assert check_provider_url(META, "graph_url", "http://127.0.0.1:8123/v25.0", allow_loopback=True)
    assert check_provider_url(INDIAMART, "pull_url", "http://localhost:9/v2/", allow_loopback=True)
    for elsewhere in ("http://10.0.0.5/v2/", "http://169.254.169.254/", "file:///tmp/x"):
        with pytest.raises(UrlNotAllowed):
            check_provider_url(INDIAMART, "pull_url", elsewhere, allow_loopback=True)


def test_google_key_in_a_body_is_kept_only_as_a_salted_digest_that_still_verifies() -> None:
    body = json.dumps({"lead_id": "L1", "Google_key": "s3cret-per-form", "user_column_data": []})
    masked = mask_body(body, frozenset({"google_key"}), "req-1")
    kept = json.loads(masked)
    assert "s3cret-per-form" not in masked and kept["Google_key"].startswith(DIGEST_PREFIX)
    assert kept["lead_id"] == "L1" and kept["user_column_data"] == []
    assert digest_matches(kept["Google_key"], "s3cret-per-form", "req-1")
    assert not digest_matches(kept["Google_key"], "s3cret-per-form", "req-2")  # salted per request
    assert not digest_matches(kept["Google_key"], "another-key", "req-1")


@pytest.mark.parametrize("body", ["name=Test&phone=9000000001", "[1, 2]", "{not json", '{"lead_id": "L1"}'])
def test_bodies_without_the_secret_are_kept_exactly_as_received(body: str) -> None:
    assert mask_body(body, frozenset({"google_key"}), "req-1") == body


def test_the_graph_client_itself_never_opens_a_file_url() -> None:
    from leadrelay.sources.graph import GraphError, fetch_lead

    with pytest.raises(GraphError, match="https"):
        fetch_lead("1", "token", graph_url="file:///etc", attempts=1)
