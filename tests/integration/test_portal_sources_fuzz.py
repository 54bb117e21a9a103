"""Fuzz the property-portal adapters (99acres, MagicBricks, Housing) as test_sources_fuzz does the
others: arbitrary bytes, JSON and XML through the ingest handler. Never a 5xx, and every
authenticated request is stored — as a lead or in quarantine."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadrelay.local.demo import seed
from tests.integration.hooks import send
from tests.integration.test_sources_fuzz import bodies, content_types, stored

TAGS = ["Xml", "Resp", "QryDtl", "CntctDtl", "Name", "Phone", "Email", "QryInfo", "ErrorDetail", "leadPojo"]
xml_bodies = st.recursive(
    st.one_of(st.text(max_size=20), st.sampled_from(["9000000008", "a@b.co", "&amp;", "&bogus;", "]]>"])),
    lambda inner: st.builds(lambda tag, body, attr: f"<{tag}{attr}>{body}</{tag}>", st.sampled_from(TAGS),
                            st.lists(inner, max_size=3).map("".join),
                            st.sampled_from(["", ' ActionStatus="false"', ' ActionStatus="true"', ' ResType="S2M"'])),
    max_leaves=12,
).map(lambda xml: xml.encode("utf-8"))  # fmt: skip


@pytest.fixture
def sources(aws: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {s["kind"]: s for s in seed(demo=True).sources}


@pytest.mark.parametrize("kind", ["99acres", "magicbricks", "housing"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(bodies, xml_bodies),
    content_type=st.one_of(content_types, st.just("application/xml")),
    method=st.sampled_from(["POST", "POST", "GET"]),
)
def test_no_5xx_and_nothing_unstored_whatever_the_portal_body(
    sources: dict[str, dict[str, Any]], aws: dict[str, str], kind: str, body: bytes, content_type: str, method: str
) -> None:
    source = sources[kind]
    headers = {"Content-Type": content_type} if content_type else {}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("latin-1")
    query = {"mobile": "9811122233", "name": text[:20]} if method == "GET" else None
    status, answer_headers, answer = send(source["id"], text if method == "POST" else None, key=source["key"],
                                          method=method, headers=headers, query=query)  # fmt: skip
    assert status < 500
    assert stored(aws, status, answer_headers, answer), (status, answer)
