"""The sources API on moto: admin only, secrets masked, keys shown once, rotation, PATCH round-trips."""

from __future__ import annotations

import json
from typing import Any

import pytest

from leadrelay import wiring
from leadrelay.local.demo import seed
from tests.helpers import LambdaContext, api_event, claims
from tests.integration.flow import Flow
from tests.integration.hooks import send


@pytest.fixture
def flow(aws: dict[str, str]) -> Flow:
    flow = Flow(aws["LEADS_TABLE"])
    flow.sources = {s["id"]: s for s in seed(demo=True).sources}  # type: ignore[attr-defined]
    return flow


def create(flow: Flow, **body: Any) -> tuple[int, dict[str, Any]]:
    return flow.call("POST", "/sources", body=body)


def test_managers_and_agents_get_403_json_on_every_sources_endpoint(flow: Flow) -> None:
    calls = [("GET", "/sources", None), ("GET", "/sources/website", None),
             ("POST", "/sources", {"kind": "generic", "name": "x"}), ("PATCH", "/sources/website", {"name": "x"}),
             ("POST", "/sources/website/rotate-key", None), ("POST", "/sources/website/import", {"csv": "Phone\n1\n"})]  # fmt: skip
    for method, path, body in calls:
        for role, who in (("manager", {"team_id": "ncr"}), ("agent", {"agent_id": "anjali"})):
            status, answer = flow.call(method, path, role=role, body=body, team_id=who.get("team_id"),
                                       agent_id=who.get("agent_id"))  # fmt: skip
            assert (status, answer["error"]) == (403, "forbidden"), (method, path, role, answer)
            assert answer["message"]


def test_sources_are_listed_with_every_secret_masked_and_never_a_key_or_hash(flow: Flow) -> None:
    status, listed = flow.get("/sources")
    assert status == 200 and listed["next"] is None
    items = {item["source_id"]: item for item in listed["items"]}
    assert {"website", "facebook-leads", "razorpay", "google-ads", "whatsapp"} <= set(items)
    meta = items["facebook-leads"]
    assert meta["kind"] == "meta_lead_ads" and meta["webhook_path"] == "/hooks/facebook-leads" and meta["active"]
    assert meta["settings"] == {"app_secret": "***", "page_access_token": "***", "verify_token": "***"}
    assert items["razorpay"]["settings"] == {"webhook_secret": "***"}
    assert items["google-ads"]["settings"] == {"google_key": "***"}
    text = json.dumps(listed)
    assert "key_hash" not in text and '"key"' not in text
    for source in flow.sources.values():  # type: ignore[attr-defined]
        for name, value in source.items():
            if name not in ("id", "kind"):
                assert value not in text, f"{source['id']}'s {name} leaked"
    assert flow.get("/sources/facebook-leads")[1] == meta
    status, missing = flow.get("/sources/nope")
    assert (status, missing["error"]) == (404, "not_found")


def test_only_settings_known_to_be_public_are_shown_and_urls_lose_their_credentials(flow: Flow) -> None:
    status, made = create(
        flow, source_id="magicbricks-pune", kind="magicbricks", name="MagicBricks Pune",
        settings={"ack_body": "OK", "pull_url": "https://rating.magicbricks.com/mbRating/download.json?key=S3CRET&x=1",
                  "glusr_crm_key": "crm-secret", "api_key": "k", "password": "p", "some_new_secret": "s",
                  "csv_mapping": {"Contact": "phone"}, "lead_events": ["payment_link.paid"]},
    )  # fmt: skip
    assert status == 201, made
    assert made["settings"] == {
        "ack_body": "OK", "pull_url": "https://rating.magicbricks.com/mbRating/download.json?key=***&x=1",
        "glusr_crm_key": "***", "api_key": "***", "password": "***", "some_new_secret": "***",
        "csv_mapping": {"Contact": "phone"}, "lead_events": ["payment_link.paid"],
    }  # fmt: skip
    assert "S3CRET" not in json.dumps(flow.get("/sources/magicbricks-pune")[1])


def test_a_new_source_answers_201_with_its_key_once_and_the_key_works_at_its_webhook(flow: Flow) -> None:
    # When an admin adds a source for NoBroker's leads
    status, made = create(flow, kind="generic", name="NoBroker Pune", tags=["nobroker"])
    # Then the id comes from the name, the key is in this answer, and the webhook takes it
    assert status == 201 and made["source_id"] == "nobroker-pune" and made["key"] and made["tags"] == ["nobroker"]
    assert made["created_at"] and made["webhook_path"] == "/hooks/nobroker-pune" and made["active"] is True
    status, _, lead = send("nobroker-pune", {"name": "Asha", "phone": "9876543210"}, key=made["key"])
    assert status == 202 and lead["outcome"] == "created"
    stored = wiring.lead_repository().get(lead["lead_id"])
    assert stored is not None and stored.tags == ["nobroker"] and stored.source_kind == "generic"
    # And the key is never shown again
    assert "key" not in flow.get("/sources/nobroker-pune")[1]
    # And a second source of the same name gets the next free id
    assert create(flow, kind="generic", name="NoBroker Pune")[1]["source_id"] == "nobroker-pune-2"


def test_creating_an_existing_id_is_409_and_leaves_the_source_and_its_key_alone(flow: Flow) -> None:
    status, answer = create(flow, source_id="website", kind="generic", name="Imposter")
    assert (status, answer["error"]) == (409, "source_exists")
    assert flow.get("/sources/website")[1]["name"] == "Website enquiry form"
    key = flow.sources["website"]["key"]  # type: ignore[attr-defined]
    assert send("website", {"phone": "9876543210"}, key=key)[0] == 202


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [({"kind": "nobroker", "name": "x"}, "unsupported_source_kind", "generic"),
     ({"kind": "generic", "name": "x", "source_id": "Bad Id!"}, "invalid_request", "URL-safe slug"),
     ({"kind": "generic", "name": "x", "source_id": "../hooks"}, "invalid_request", "source_id"),
     ({"kind": "generic", "name": "x", "source_id": "a" * 65}, "invalid_request", "source_id"),
     ({"kind": "generic", "name": ""}, "invalid_request", "name"),
     ({"kind": "generic", "name": "x", "colour": "red"}, "invalid_request", "colour"),
     ({"kind": "razorpay", "name": "x", "settings": {"webhook_secret": "***"}}, "masked_setting", "webhook_secret"),
     ({"name": "x"}, "invalid_request", "kind")],
)  # fmt: skip
def test_bad_new_sources_are_422_naming_the_problem(flow: Flow, body: dict[str, Any], code: str, words: str) -> None:
    status, answer = flow.call("POST", "/sources", body=body)
    assert (status, answer["error"]) == (422, code) and words in answer["message"], answer


def test_rotating_the_key_refuses_the_old_key_at_once_and_takes_the_new_one(flow: Flow) -> None:
    old = flow.sources["website"]["key"]  # type: ignore[attr-defined]
    status, rotated = flow.call("POST", "/sources/website/rotate-key")
    assert status == 200 and rotated["key"] and rotated["key"] != old and rotated["source_id"] == "website"
    status, _, refused = send("website", {"phone": "9876543210"}, key=old)
    assert (status, refused["error"]) == (403, "invalid_key")
    status, _, taken = send("website", {"phone": "9876543210"}, key=rotated["key"])
    assert status == 202 and taken["outcome"] == "created"
    assert flow.call("POST", "/sources/nope/rotate-key")[0] == 404


def test_a_patch_round_trip_of_what_get_showed_keeps_every_secret(flow: Flow) -> None:
    # Given the admin's client edits what GET showed (masked secrets and all) and sends it back
    shown = flow.get("/sources/facebook-leads")[1]
    before = wiring.org_repository().get_source("facebook-leads")
    assert before is not None
    settings = {**shown["settings"], "graph_url": "http://127.0.0.1:9/graph", "fetch_budget_s": 2}
    settings["page_access_token"] = None  # removes it
    status, patched = flow.call("PATCH", "/sources/facebook-leads",
                                body={"name": "FB Pune", "tags": ["fb"], "settings": settings})  # fmt: skip
    # Then the secrets are as they were, the new settings are there, and the removed one is gone
    assert status == 200, patched
    after = wiring.org_repository().get_source("facebook-leads")
    assert after is not None
    assert after.settings == {"app_secret": before.settings["app_secret"], "verify_token": before.settings["verify_token"],
                              "graph_url": "http://127.0.0.1:9/graph", "fetch_budget_s": 2}  # fmt: skip
    assert (after.name, after.tags, after.key_hash, after.kind) == ("FB Pune", ["fb"], before.key_hash, before.kind)
    assert patched["settings"] == {"app_secret": "***", "verify_token": "***", "graph_url": "http://127.0.0.1:9/graph",
                                   "fetch_budget_s": 2}  # fmt: skip
    # And a new secret value replaces the old one
    flow.call("PATCH", "/sources/facebook-leads", body={"settings": {"app_secret": "new-secret"}})
    stored = wiring.org_repository().get_source("facebook-leads")
    assert stored is not None and stored.settings["app_secret"] == "new-secret"
    assert stored.settings["verify_token"] == before.settings["verify_token"]


def test_a_masked_url_sent_back_does_not_overwrite_the_real_one(flow: Flow) -> None:
    url = "https://rating.magicbricks.com/mbRating/download.json?key=S3CRET&from=1"
    create(flow, source_id="portal", kind="magicbricks", name="Portal", settings={"pull_url": url})
    shown = flow.get("/sources/portal")[1]["settings"]["pull_url"]
    assert shown == "https://rating.magicbricks.com/mbRating/download.json?key=***&from=1"
    assert flow.call("PATCH", "/sources/portal", body={"settings": {"pull_url": shown}})[0] == 200
    stored = wiring.org_repository().get_source("portal")
    assert stored is not None and stored.settings["pull_url"] == url


def test_switching_a_source_off_refuses_its_webhooks_and_back_on_takes_them(flow: Flow) -> None:
    key = flow.sources["website"]["key"]  # type: ignore[attr-defined]
    assert flow.call("PATCH", "/sources/website", body={"active": False})[1]["active"] is False
    status, _, refused = send("website", {"phone": "9876543210"}, key=key)
    assert (status, refused["error"]) == (403, "source_disabled")
    flow.call("PATCH", "/sources/website", body={"active": True})
    assert send("website", {"phone": "9876543211"}, key=key)[0] == 202


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [({"kind": "justdial"}, 422, "id_mismatch"), ({"name": None}, 422, "invalid_request"),
     ({"active": "maybe"}, 422, "invalid_request"), ({"key_hash": "x"}, 422, "invalid_request")],
)  # fmt: skip
def test_bad_patches_are_4xx_json(flow: Flow, body: dict[str, Any], status: int, code: str) -> None:
    answer = flow.call("PATCH", "/sources/website", body=body)
    assert (answer[0], answer[1]["error"]) == (status, code), answer


def test_patching_an_unknown_source_is_404(flow: Flow) -> None:
    status, answer = flow.call("PATCH", "/sources/nope", body={"name": "x"})
    assert (status, answer["error"]) == (404, "not_found")


def test_the_openapi_document_lists_the_sources_endpoints(flow: Flow) -> None:
    event = api_event("GET", "/docs", query={"format": "json"}, claims=claims("admin"))
    document = json.loads(flow.api(event, LambdaContext())["body"])
    paths = document["paths"]
    assert {"get", "post"} <= set(paths["/sources"]) and "patch" in paths["/sources/{source_id}"]
    assert "post" in paths["/sources/{source_id}/rotate-key"] and "post" in paths["/sources/{source_id}/import"]
