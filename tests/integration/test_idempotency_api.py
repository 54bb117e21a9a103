"""`Idempotency-Key` on creating POSTs, on moto with the real api handler (Powertools idempotency
utility, records in the org table): a retry answers the first answer and creates nothing twice."""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3

from leadrelay.definitions import API_IDEMPOTENCY
from tests.helpers import LambdaContext, api_event, claims
from tests.integration.flow import Flow


def _post(flow: Flow, path: str, body: dict[str, Any], key: str | None, role: str = "admin",
          username: str = "asha", **who: Any) -> tuple[int, dict[str, Any]]:  # fmt: skip
    headers = {"Idempotency-Key": key} if key is not None else None
    event = api_event("POST", path, body=body, headers=headers, claims=claims(role, username=username, **who))
    response = flow.api(event, LambdaContext())
    return response["statusCode"], json.loads(response["body"])


def _leads(flow: Flow) -> list[str]:
    return [item["lead_id"] for item in flow.get("/leads", query={"limit": "200"})[1]["items"]]


def test_a_retried_manual_lead_answers_the_first_answer_and_creates_one_lead(flow: Flow) -> None:
    # Given a phone that sends a walk-in and, on a flaky network, sends it again with the same key
    body = {"name": "Asha", "phone": "9876511111", "channel": "walk_in"}
    first = _post(flow, "/leads", body, "k-1")
    # When the same request comes again, twice
    again = [_post(flow, "/leads", body, "k-1") for _ in range(2)]
    # Then every answer is the first one, and there is one lead
    assert first[0] == 201 and all(answer == first for answer in again)
    assert _leads(flow) == [first[1]["lead_id"]]
    # And the record lives in the org table under the idempotency partition, with a TTL
    items = boto3.client("dynamodb").query(
        TableName="test-org", KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": API_IDEMPOTENCY.partition_value}},
    )["Items"]  # fmt: skip
    assert len(items) == 1 and int(items[0]["expires_at"]["N"]) > 0


def test_the_same_key_with_another_body_is_refused_and_another_key_is_a_new_request(flow: Flow) -> None:
    _post(flow, "/leads", {"phone": "9876522222"}, "k-2")
    status, answer = _post(flow, "/leads", {"phone": "9876533333"}, "k-2")
    assert status == 422 and answer["error"] == "idempotency_key_reused"
    status, answer = _post(flow, "/leads", {"phone": "9876533333"}, "k-3")
    assert status == 201 and len(_leads(flow)) == 2


def test_keys_belong_to_their_caller(flow: Flow) -> None:
    # Two people whose phones happen to make the same key each get their own lead
    one = _post(flow, "/leads", {"phone": "9876544444"}, "same", username="asha")
    two = _post(flow, "/leads", {"phone": "9876555555"}, "same", username="ravi")
    assert one[0] == two[0] == 201 and one[1]["lead_id"] != two[1]["lead_id"]


def test_an_error_answer_is_not_kept_so_the_fixed_retry_runs(flow: Flow) -> None:
    # Given a creating POST refused for a reason the caller then fixes (the team does not exist yet)
    agent = {"agent_id": "neha", "name": "Neha", "team_id": "east"}
    assert _post(flow, "/agents", agent, "add-neha")[0] == 422
    assert flow.call("PUT", "/teams/east", body={"name": "East"})[0] in (200, 201)
    # When the same request is retried with the same key
    status, _ = _post(flow, "/agents", agent, "add-neha")
    # Then it runs again and succeeds; a third try answers that success without a second agent
    assert status == 201
    assert _post(flow, "/agents", agent, "add-neha")[0] == 201
    assert [a["agent_id"] for a in flow.get("/agents")[1]["items"]].count("neha") == 1


def test_a_blank_or_huge_key_is_a_400(flow: Flow) -> None:
    assert _post(flow, "/leads", {"phone": "9876566666"}, " ")[1]["error"] == "invalid_idempotency_key"
    assert _post(flow, "/leads", {"phone": "9876566666"}, "x" * 256)[0] == 400


def test_concurrent_retries_create_one_lead(flow: Flow) -> None:
    # Given eight copies of one request racing (a phone retrying while the first is in flight)
    body = {"phone": "9876577777", "name": "Race"}
    answers: list[tuple[int, dict[str, Any]]] = []
    lock = threading.Lock()

    def send() -> None:
        answer = _post(flow, "/leads", body, "race-1")
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then one lead exists; every answer is that lead's 201, or a 409 "still running"
    leads = _leads(flow)
    assert len(leads) == 1
    for status, answer in answers:
        assert (status == 201 and answer["lead_id"] == leads[0]) or (
            status == 409 and answer["error"] == "idempotency_in_progress"
        ), answer


def test_the_openapi_document_declares_the_header_on_creating_posts(flow: Flow) -> None:
    status, document = flow.call("GET", "/openapi.json", role="admin")
    assert status == 200

    def names(path: str, method: str) -> list[str]:
        return [p["name"] for p in document["paths"][path][method].get("parameters", [])]

    assert "Idempotency-Key" in names("/leads", "post") and "Idempotency-Key" in names("/agents", "post")
    assert "Idempotency-Key" not in names("/routing/simulate", "post")
