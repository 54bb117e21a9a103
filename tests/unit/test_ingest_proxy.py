"""The ingest function reads the REST proxy event and answers it exactly as Powertools'
`APIGatewayRestResolver` did (the resolver's package costs ~50 ms of its cold start).

The reference below is the handler's previous code, on the resolver; both run with the same
capture service, a fake that echoes the request it was given, so any difference in the request
built from the event (method, path, headers, query, body, request id) or in the answer shows.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import ingest_handler
import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from leadrelay import wiring
from leadrelay.capture import CaptureResult, WebhookRequest
from tests.helpers import LambdaContext, api_event, hook_event

reference = APIGatewayRestResolver()


def _reference_request(source_id: str) -> WebhookRequest:  # the previous ingest_handler._request
    event = reference.current_event
    raw_body = event.body or ""
    body = base64.b64decode(raw_body) if event.is_base64_encoded else raw_body.encode("utf-8")
    return WebhookRequest(
        source_id=source_id,
        method=event.http_method.upper(),
        path=event.path,
        headers={k.lower(): v for k, v in (event.headers or {}).items()},
        query={k: list(v) for k, v in (event.multi_value_query_string_parameters or {}).items()}
        or {k: [v] for k, v in (event.query_string_parameters or {}).items()},
        body=body,
        request_id=event.request_context.request_id or reference.lambda_context.aws_request_id,
        body_was_base64=bool(event.is_base64_encoded),
    )


def _reference_answer(result: CaptureResult) -> Response:
    body = result.body if isinstance(result.body, str) else json.dumps(result.body, ensure_ascii=False)
    return Response(status_code=result.status, content_type=result.content_type, body=body, headers=result.headers)


@reference.post("/hooks/<source_id>")
@reference.get("/hooks/<source_id>")
def _reference_receive(source_id: str) -> Response:
    return _reference_answer(wiring.capture_service().capture(_reference_request(source_id)))


@reference.not_found
def _reference_not_found(_: Exception) -> Response:
    return _reference_answer(
        CaptureResult(404, {"error": "not_found", "message": "webhooks are POST /hooks/{source_id}"})
    )


class EchoCapture:
    """Answers with what it was asked (and, by path, as a provider would: text, extra headers)."""

    def capture(self, request: WebhookRequest) -> CaptureResult:
        said = {"source_id": request.source_id, "method": request.method, "path": request.path,
                "headers": request.headers, "query": request.query, "body": request.body.decode("latin-1"),
                "request_id": request.request_id, "base64": request.body_was_base64, "name": "Aarav Śarmā"}  # fmt: skip
        if request.source_id == "text":
            return CaptureResult(200, "RECEIVED", headers={"X-Lead-Id": "L1"}, content_type="text/plain")
        if request.source_id == "busy":
            return CaptureResult(429, said, headers={"Retry-After": "5", "Content-Type": "application/problem+json"})
        return CaptureResult(201, said)


def _events() -> list[dict[str, Any]]:
    form = hook_event("src1", {"name": "A", "phone": "9876543210"}, form=True, key="k")
    encoded = hook_event("src1", None, headers={"Content-Type": "application/octet-stream"})
    encoded.update(body=base64.b64encode(b"\x00\xffbinary").decode(), isBase64Encoded=True)
    no_request_id = hook_event("src1", {"a": 1})
    no_request_id["requestContext"]["requestId"] = ""
    no_headers = hook_event("src1", {"a": 1})
    no_headers["headers"] = None
    single_query_only = hook_event("src1", None, method="GET", query={"hub.mode": "subscribe"})
    single_query_only["multiValueQueryStringParameters"] = None
    return [
        hook_event("src1", {"name": "Aarav", "phone": "9876543210"}, key="secret"),
        hook_event("src1", None, method="GET", query={"hub.mode": "subscribe", "hub.challenge": "42"}),
        hook_event("src1", {"a": 1}, method="get"),
        form, encoded, no_request_id, no_headers, single_query_only,
        hook_event("text", "plain words"),
        hook_event("busy", {"a": 1}),
        api_event("POST", "/hooks/src1/", body={"trailing": "slash"}),
        api_event("POST", "/hooks/a%20b(c)!*'@,;=+&$~.-_", body={"odd": "characters"}),
        api_event("PUT", "/hooks/src1", body={"a": 1}),
        api_event("DELETE", "/hooks/src1"),
        api_event("POST", "/hooks/", body={"a": 1}),
        api_event("POST", "/hooks/a/b", body={"a": 1}),
        api_event("POST", "/leads", body={"a": 1}),
        api_event("OPTIONS", "/hooks/src1"),
    ]  # fmt: skip


@pytest.mark.parametrize("event", _events(), ids=lambda e: f"{e['httpMethod']} {e['path']}")
def test_every_request_is_read_and_answered_as_the_powertools_resolver_did(event, monkeypatch) -> None:
    # Given the same capture service behind both
    monkeypatch.setattr(wiring, "capture_service", lambda: EchoCapture())
    # When the same API Gateway event reaches the handler and the resolver
    ours = ingest_handler.handler(json.loads(json.dumps(event)), LambdaContext())
    theirs = reference.resolve(json.loads(json.dumps(event)), LambdaContext())
    # Then the answers are the same, byte for byte once serialised
    assert json.dumps(ours, sort_keys=True) == json.dumps(theirs, sort_keys=True)
    assert {k: dict(v) if k == "multiValueHeaders" else v for k, v in ours.items()} == {
        k: dict(v) if k == "multiValueHeaders" else v for k, v in theirs.items()
    }
