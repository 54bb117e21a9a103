"""Hostile inputs at the capture boundary and the REST API: never a 5xx, never a lost request.

Each class the issue names, one test each: nesting deeper than the parser or DynamoDB can take,
sizes counted in bytes (Devanagari is 3 bytes a letter, emoji 4), numbers that are not finite,
text that is not UTF-8. Then generated hostile bodies at every adapter and every REST route."""

from __future__ import annotations

import base64
import json
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadrelay import limits, wiring
from leadrelay.local.demo import seed
from leadrelay.sources import SUPPORTED_KINDS, razorpay
from leadrelay.sources.meta import signature_of
from leadrelay.store.quarantine import QuarantineStore
from tests.helpers import LambdaContext, api_event, claims
from tests.integration.flow import Flow
from tests.integration.hooks import send


@pytest.fixture
def sources(aws: dict[str, str]) -> dict[str, dict[str, Any]]:
    entries = {s["kind"]: s for s in seed(demo=True).sources}
    org = wiring.org_repository()
    meta = org.get_source(entries["meta_lead_ads"]["id"])
    assert meta is not None
    # Graph on a closed loopback port: every fetch fails at once, so leads are parked.
    settings_ = {**meta.settings, "graph_url": "http://127.0.0.1:9/v25.0", "graph_attempts": 1, "graph_timeout_s": 1}
    org.put_source(meta.model_copy(update={"settings": settings_}))
    return entries


def post_json(source: dict[str, Any], text: str) -> tuple[int, dict[str, Any]]:
    status, _, answer = send(source["id"], text, key=source["key"], headers={"Content-Type": "application/json"})
    return status, answer


def quarantined(aws: dict[str, str], request_id: str) -> dict[str, Any]:
    item = QuarantineStore(aws["LEADS_TABLE"]).get(request_id)
    assert item is not None, "the refused request was not kept"
    return item


def raw_items(aws: dict[str, str], pk: str) -> list[dict[str, Any]]:
    found = boto3.client("dynamodb").query(
        TableName=aws["LEADS_TABLE"], KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": pk}}
    )
    return list(found["Items"])


def nesting(value: Any) -> int:
    """Levels of maps and lists in a DynamoDB attribute value (as DynamoDB counts them)."""
    if isinstance(value, dict):
        if "M" in value:
            return 1 + max((nesting(v) for v in value["M"].values()), default=0)
        if "L" in value:
            return 1 + max((nesting(v) for v in value["L"]), default=0)
    return 0


def test_a_body_nested_thousands_deep_is_refused_422_and_kept(aws: dict[str, str], sources: dict[str, Any]) -> None:
    # Given a body of 5,000 nested arrays (Python's JSON decoder would recurse until it crashes)
    body = "[" * 5000 + "]" * 5000
    # When it is posted
    status, answer = post_json(sources["generic"], body)
    # Then the sender hears why, and the request is kept as sent
    assert status == 422 and answer["error"] == "too_deeply_nested"
    assert quarantined(aws, answer["request_id"])["body"] == body


def test_a_field_nested_past_dynamodbs_32_levels_is_kept_as_text(aws: dict[str, str], sources: dict[str, Any]) -> None:
    # Given a lead whose unknown field nests 40 levels (legal JSON; DynamoDB stops at 32)
    deep = json.loads('{"a":' * 40 + '"bottom"' + "}" * 40)
    status, answer = post_json(sources["generic"], json.dumps({"phone": "9811100001", "survey": deep}))
    # Then the lead is stored, and the deep part of the field is kept as its JSON text
    assert status == 202, answer
    lead = wiring.lead_repository().get(answer["lead_id"])
    assert lead is not None and "bottom" in json.dumps(lead.extra["survey"])
    # And no stored item nests more than DynamoDB allows
    for item in raw_items(aws, f"LEAD#{answer['lead_id']}"):
        assert max(nesting(v) for v in item.values()) <= 32


@pytest.mark.parametrize("letter", ["क", "😀"], ids=["devanagari", "emoji"])
def test_an_oversized_body_in_multibyte_text_is_refused_413_and_its_copy_fits_an_item(
    aws: dict[str, str], sources: dict[str, Any], letter: str
) -> None:
    # Given a body of 600,000 bytes in 3- or 4-byte letters (fewer characters than bytes)
    body = json.dumps({"phone": "9811100002", "message": letter * (600_000 // len(letter.encode()))},
                      ensure_ascii=False)  # fmt: skip
    # When it is posted
    status, answer = post_json(sources["generic"], body)
    # Then it is refused for its size in bytes, and kept: cut by bytes, flagged, under 400 KB
    assert status == 413 and answer["error"] == "payload_too_large"
    kept = quarantined(aws, answer["request_id"])
    assert kept["body_truncated"] is True
    assert limits.utf8_len(kept["body"]) <= limits.MAX_RAW_BODY_BYTES
    assert body.startswith(kept["body"])
    assert limits.item_size(kept) < limits.MAX_ITEM_BYTES


def test_a_body_just_under_the_limit_in_emoji_is_a_lead_whose_items_fit(
    aws: dict[str, str], sources: dict[str, Any]
) -> None:
    # Given 250 KB of emoji in a lead's message
    body = json.dumps({"phone": "9811100003", "message": "🙏" * 62_000}, ensure_ascii=False)
    assert len(body.encode()) < wiring.capture_service().settings.max_body_bytes
    status, answer = post_json(sources["generic"], body)
    # Then the lead is stored and every item of it stays under DynamoDB's 400 KB
    assert status == 202, answer
    for item in raw_items(aws, f"LEAD#{answer['lead_id']}"):
        assert len(json.dumps(item, ensure_ascii=False).encode()) < limits.MAX_ITEM_BYTES


def test_nan_and_infinity_are_no_value_and_a_huge_number_is_kept_as_text(
    aws: dict[str, str], sources: dict[str, Any]
) -> None:
    # Given JSON with the non-standard NaN/Infinity tokens and a number no float can hold
    body = '{"phone": "9811100004", "budget": NaN, "score": Infinity, "weight": -Infinity, "big": 1e400}'
    status, answer = post_json(sources["generic"], body)
    # Then the lead is stored, the non-finite values count as absent, and 1e400 stays as written
    assert status == 202, answer
    lead = wiring.lead_repository().get(answer["lead_id"])
    assert lead is not None and lead.budget is None
    assert lead.extra.get("score") is None and lead.extra.get("weight") is None
    assert lead.extra["big"] == "1e400"


def test_a_lone_surrogate_escape_is_stored_as_a_replacement_character(
    aws: dict[str, str], sources: dict[str, Any]
) -> None:
    # Given a name with "\ud800" (valid JSON, not valid UTF-8 once decoded)
    status, answer = post_json(sources["generic"], '{"phone": "9811100005", "name": "Ra\\ud800vi"}')
    assert status == 202, answer
    lead = wiring.lead_repository().get(answer["lead_id"])
    assert lead is not None and lead.name is not None and "\ufffd" in lead.name


def test_a_lead_valued_nan_or_infinity_is_routed_as_having_no_value(aws: dict[str, str]) -> None:
    # Given a rule on a numeric field of the lead, and leads whose value is "nan" / "Infinity"
    flow = Flow(aws["LEADS_TABLE"])
    flow.sources = {s["id"]: s for s in seed(demo=True).sources}  # type: ignore[attr-defined]
    chain = flow.get("/routing/rules")[1]
    chain["rules"].insert(0, {"rule_id": "scored", "pool_id": "ncr", "when": {"field": "extra.score", "op": "gte",
                                                                               "value": 50}})  # fmt: skip
    body = {k: chain[k] for k in ("rules", "default_pool_id") if k in chain}
    status, answer = flow.call("PUT", "/routing/rules", body=body)
    assert status in (200, 201), answer
    ids = [flow.post("website", {"phone": f"98111000{n}", "score": value, "budget": value},
                     flow.sources["website"]["key"])[1]["lead_id"]  # type: ignore[attr-defined]
           for n, value in (("10", "nan"), ("11", "Infinity"), ("12", "-inf"))]  # fmt: skip
    # When the router sees them
    responses = flow.run_router()
    # Then none fails (nothing retried to the DLQ), and each is decided without the rule matching
    assert responses and all(r == {"batchItemFailures": []} for r in responses)
    for lead_id in ids:
        routing = flow.get(f"/leads/{lead_id}/routing")[1]["items"]
        assert len(routing) == 1 and routing[0]["rule_id"] != "scored"


@pytest.mark.parametrize(
    "condition",
    [
        {"field": "budget", "op": "gt", "value": "NaN"},
        {"field": "budget", "op": "lte", "value": "Infinity"},
        {"field": "extra.score", "op": "between", "value": [0, "inf"]},
        {"field": "extra.score", "op": "between", "value": ["-Infinity", 5]},
    ],
)
def test_a_rule_chain_bounded_by_nan_or_infinity_is_refused_422(aws: dict[str, str], condition: dict) -> None:
    flow = Flow(aws["LEADS_TABLE"])
    seed(demo=True)
    chain = flow.get("/routing/rules")[1]
    version = chain.get("version")
    chain["rules"].insert(0, {"rule_id": "bad", "pool_id": "ncr", "when": condition})
    status, answer = flow.call("PUT", "/routing/rules", body={k: chain[k] for k in ("rules", "default_pool_id")})
    assert status == 422 and answer["error"] and "number" in answer["message"]
    assert flow.get("/routing/rules")[1].get("version") == version  # nothing published


def test_a_rule_chain_with_a_nan_literal_is_refused_422(aws: dict[str, str]) -> None:
    import api_handler

    seed(demo=True)
    event = api_event("PUT", "/routing/rules", claims=claims("admin"))
    event["body"] = ('{"rules": [{"rule_id": "x", "pool_id": "ncr", "when": {"field": "budget", "op": "gt", '
                     '"value": NaN}}], "default_pool_id": "everyone"}')  # fmt: skip
    response = api_handler.handler(event, LambdaContext())
    assert response["statusCode"] == 422, response["body"]


# -- generated hostile bodies -----------------------------------------------------------------

FIELDS = ["phone", "email", "name", "budget", "message", "extra", "entry", "changes", "value", "RESPONSE",
          "SENDER_MOBILE", "payload", "messages", "from", "user_column_data", "string_value", "lead_id"]  # fmt: skip
hostile_scalars = st.one_of(
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e999", "nan", "inf", '"\\ud800"', '"\\udfff\\ud800"',
                     '"9811122233"', '"a@b.co"', "null", "true", "0", '"क्ष"', '"😀"']),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.text(max_size=12).map(json.dumps),
)  # fmt: skip


@st.composite
def hostile_json(draw: st.DrawFn) -> str:
    """JSON-ish text: objects of provider field names, non-finite tokens, lone surrogates, and a
    nesting depth anywhere from 0 to far past every limit."""

    def value(depth: int) -> str:
        if depth <= 0:
            return draw(hostile_scalars)
        kind = draw(st.sampled_from(["obj", "list", "scalar"]))
        if kind == "scalar":
            return draw(hostile_scalars)
        if kind == "list":
            return "[" + ",".join(value(depth - 1) for _ in range(draw(st.integers(0, 2)))) + "]"
        keys = draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True))
        return "{" + ",".join(f"{json.dumps(k)}:{value(depth - 1)}" for k in keys) + "}"

    body = value(draw(st.integers(0, 5)))
    deep = draw(st.sampled_from([0, 0, 20, 33, 63, 65, 200, 3000]))
    if deep:
        wrapper = draw(st.sampled_from(["list", "obj"]))
        opener, closer = ("[", "]") if wrapper == "list" else ('{"extra":', "}")
        body = '{"phone":"9811122233","x":' + opener * deep + body + closer * deep + "}"
    return body


big_multibyte = st.builds(
    lambda letter, n: json.dumps({"phone": "9811122234", "message": letter * n}, ensure_ascii=False),
    st.sampled_from(["क", "😀", "a", "ß"]),
    st.sampled_from([10, 70_000, 90_000, 140_000, 300_000]),
)


def _stored(aws: dict[str, str], headers: dict[str, str], answer: Any) -> bool:
    if headers.get("x-lead-id"):
        return all(wiring.lead_repository().get(i) for i in headers["x-lead-id"].split(","))
    if isinstance(answer, dict) and (answer.get("pending_fetch") or answer.get("noted_on")):
        return True
    if isinstance(answer, dict) and answer.get("request_id"):
        request_id = answer["request_id"]
        return (QuarantineStore(aws["LEADS_TABLE"]).get(request_id) is not None
                or wiring.lead_repository().ignored(request_id) is not None)  # fmt: skip
    return False


@pytest.mark.parametrize("kind", [kind.value for kind in SUPPORTED_KINDS])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(hostile_json(), big_multibyte))
def test_every_adapter_answers_2xx_or_4xx_and_keeps_the_request_whatever_the_hostile_body(
    sources: dict[str, dict[str, Any]], aws: dict[str, str], kind: str, text: str
) -> None:
    source = sources[kind]
    headers = {"Content-Type": "application/json"}
    signed = text.encode("utf-8", errors="surrogatepass")
    if kind in ("meta_lead_ads", "whatsapp"):
        headers["X-Hub-Signature-256"] = signature_of(signed, source["app_secret"])
    if kind == "razorpay":
        headers["X-Razorpay-Signature"] = razorpay.signature_of(signed, source["webhook_secret"])
    status, answer_headers, answer = send(source["id"], text, key=source["key"], headers=headers)
    assert 200 <= status < 500, (status, answer)
    assert _stored(aws, answer_headers, answer), (status, answer)


def _api_routes() -> list[tuple[str, str]]:
    import api_handler

    api_handler.routers.load_all()
    schema = api_handler.app.get_openapi_schema().model_dump(by_alias=True, exclude_none=True)
    routes = []
    for path, operations in schema["paths"].items():
        for method in ("post", "put", "patch"):
            if method in operations:
                concrete = path.replace("{", "").replace("}", "")  # /leads/{lead_id} → /leads/lead_id
                routes.append((method.upper(), concrete))
    return sorted(routes)


@pytest.mark.parametrize(("method", "path"), _api_routes())
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=hostile_json(), encoded=st.booleans())
def test_every_rest_route_answers_a_hostile_body_with_a_4xx_json_error_never_a_5xx(
    aws: dict[str, str], method: str, path: str, text: str, encoded: bool
) -> None:
    import api_handler

    event = api_event(method, path, claims=claims("admin"))
    raw = text.encode("utf-8", errors="surrogatepass")
    event["body"], event["isBase64Encoded"] = (base64.b64encode(raw).decode(), True) if encoded else (text, False)
    response = api_handler.handler(event, LambdaContext())
    assert response["statusCode"] < 500, (response["statusCode"], response["body"][:300])
    if response["statusCode"] >= 400:
        answer = json.loads(response["body"])
        assert answer["error"] and answer["message"]
