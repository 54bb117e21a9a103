"""Fuzz: arbitrary bytes, JSON and XML at every adapter through the ingest handler. Never a 5xx, and
every authenticated request is stored — as a lead, in quarantine, or as a pending fetch."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadrelay import wiring
from leadrelay.local.demo import seed
from leadrelay.sources import SUPPORTED_KINDS, razorpay
from leadrelay.sources.meta import signature_of
from leadrelay.store.quarantine import QuarantineStore
from tests.integration.hooks import send

FIELD_NAMES = [
    "name", "phone", "email", "mobile", "leadid", "dncmobile", "lead_id", "google_key", "Google_key", "is_test",
    "user_column_data", "column_id", "string_value", "RESPONSE", "UNIQUE_QUERY_ID", "SENDER_MOBILE", "SENDER_NAME",
    "SENDER_EMAIL", "QUERY_MESSAGE", "QUERY_TYPE", "SENDER_STATE", "entry", "changes", "field", "value",
    "leadgen_id", "object", "state", "pincode", "message", "PHONE_NUMBER", "FULL_NAME",
    "messages", "statuses", "contacts", "from", "id", "wa_id", "profile", "text", "body", "type", "referral",
    "recipient_id", "status", "event", "payload", "payment_link", "payment", "customer", "contact", "amount",
    "amount_paid", "currency", "notes",
]  # fmt: skip
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30),
    st.sampled_from(["+91-9000000003", "9811122233", "a@b.co", "leadgen", "1", "<br>", "Orissa", "राहुल",
                     "messages", "919000000007", "wamid.F1", "payment_link.paid", "entry"]),
)  # fmt: skip
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.sampled_from(FIELD_NAMES), children, max_size=6)
    ),
    max_leaves=20,
)
# 99acres sends XML: tags of its answer, nested, with entities and attributes that may be wrong.
TAGS = ["Xml", "Resp", "QryDtl", "CntctDtl", "Name", "Phone", "Email", "QryInfo", "ErrorDetail", "leadPojo"]
xml_bodies = st.recursive(
    st.one_of(st.text(max_size=20), st.sampled_from(["9000000008", "a@b.co", "&amp;", "&bogus;", "]]>"])),
    lambda inner: st.builds(lambda tag, body, attr: f"<{tag}{attr}>{body}</{tag}>", st.sampled_from(TAGS),
                            st.lists(inner, max_size=3).map("".join),
                            st.sampled_from(["", ' ActionStatus="false"', ' ActionStatus="true"', ' ResType="S2M"'])),
    max_leaves=12,
).map(lambda xml: xml.encode("utf-8"))  # fmt: skip
bodies = st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode()), xml_bodies)
content_types = st.sampled_from(
    ["application/json", "application/x-www-form-urlencoded", "", "text/plain", "application/xml"]
)


@pytest.fixture
def sources(aws: dict[str, str]) -> dict[str, dict[str, Any]]:
    entries = {s["kind"]: s for s in seed(demo=True).sources}
    org = wiring.org_repository()
    meta = org.get_source(entries["meta_lead_ads"]["id"])
    assert meta is not None
    # Graph on a closed loopback port: every fetch fails at once, so leads are parked.
    settings = {**meta.settings, "graph_url": "http://127.0.0.1:9/v25.0", "graph_attempts": 1, "graph_timeout_s": 1}
    org.put_source(meta.model_copy(update={"settings": settings}))
    return entries


def stored(aws: dict[str, str], status: int, headers: dict[str, str], answer: Any) -> bool:
    if headers.get("x-lead-id"):
        return all(wiring.lead_repository().get(i) for i in headers["x-lead-id"].split(","))
    if isinstance(answer, dict) and answer.get("pending_fetch"):
        return True
    if isinstance(answer, dict) and answer.get("noted_on"):  # a provider notice on a lead's timeline
        return all(wiring.lead_repository().get(i) for i in answer["noted_on"])
    if isinstance(answer, dict) and answer.get("request_id"):
        request_id = answer["request_id"]
        return (QuarantineStore(aws["LEADS_TABLE"]).get(request_id) is not None
                or wiring.lead_repository().ignored(request_id) is not None)  # fmt: skip
    return False


@pytest.mark.parametrize("kind", [kind.value for kind in SUPPORTED_KINDS])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, content_type=content_types, method=st.sampled_from(["POST", "POST", "GET"]))
def test_no_5xx_and_nothing_unstored_whatever_the_body(
    sources: dict[str, dict[str, Any]], aws: dict[str, str], kind: str, body: bytes, content_type: str, method: str
) -> None:
    source = sources[kind]
    headers = {"Content-Type": content_type} if content_type else {}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("latin-1")  # the gateway would base64 it; the handler must cope either way
    signed = text.encode()
    if kind in ("meta_lead_ads", "whatsapp"):
        headers["X-Hub-Signature-256"] = signature_of(signed, source["app_secret"])
    if kind == "razorpay":
        headers["X-Razorpay-Signature"] = razorpay.signature_of(signed, source["webhook_secret"])
    query = {"phone": "9811122233", "mobile": "9811122233", "name": text[:20]} if method == "GET" else None
    status, answer_headers, answer = send(source["id"], text if method == "POST" else None, key=source["key"],
                                          method=method, headers=headers, query=query)  # fmt: skip
    assert status < 500
    assert stored(aws, status, answer_headers, answer), (status, answer)
