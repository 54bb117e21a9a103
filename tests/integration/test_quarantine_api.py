"""GET /quarantine and POST /quarantine/{id}/replay: kept requests, listed and replayed."""

from __future__ import annotations

from typing import Any

import pytest

from leadrelay import wiring
from leadrelay.local.demo import seed
from leadrelay.models import Source
from tests.integration.flow import Flow
from tests.integration.hooks import fixture, send


@pytest.fixture
def sources(aws: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {s["kind"]: s for s in seed(demo=True).sources}


@pytest.fixture
def flow(aws: dict[str, str], sources: dict[str, Any]) -> Flow:
    return Flow(aws["LEADS_TABLE"])


def test_quarantine_lists_newest_first_in_pages_for_admins_only(
    flow: Flow, sources: dict[str, Any], clock: Any
) -> None:
    key = sources["generic"]["key"]
    for n in range(3):
        send("website", {"name": f"no contact {n}"}, key=key)
        clock.advance(seconds=1)
    status, page = flow.get("/quarantine", query={"limit": "2"})
    assert status == 200 and [i["body"] for i in page["items"]] == ['{"name": "no contact 2"}',
                                                                   '{"name": "no contact 1"}']  # fmt: skip
    assert page["items"][0]["error"] == "missing_contact" and page["items"][0]["headers"]["x-api-key"] == "***"
    status, rest = flow.get("/quarantine", query={"limit": "2", "cursor": page["next"]})
    assert [i["body"] for i in rest["items"]] == ['{"name": "no contact 0"}']
    assert flow.get("/quarantine", role="manager", team_id="ncr")[0] == 403
    assert flow.get("/quarantine", query={"cursor": "garbage"})[0] == 400


def test_a_request_refused_for_a_missing_secret_is_replayed_into_a_lead_once_the_secret_is_set(
    flow: Flow, sources: dict[str, Any]
) -> None:
    # Given a Google Ads lead refused because the form's key was changed and not yet configured
    google = sources["google_ads"]
    body = fixture("google_ads.json")
    status, _, refused = send("google-ads", body, key=google["key"])
    assert (status, refused["error"]) == (403, "invalid_google_key")
    # When the admin sets the new key and replays the request
    org = wiring.org_repository()
    source = org.get_source("google-ads")
    assert isinstance(source, Source)
    org.put_source(source.model_copy(update={"settings": {"google_key": body["google_key"]}}))
    status, answer = flow.call("POST", f"/quarantine/{refused['request_id']}/replay")
    # Then the lead exists and the quarantined copy says which lead it became
    assert status == 200 and answer["replayed"] and len(answer["lead_ids"]) == 1
    lead = wiring.lead_repository().get(answer["lead_ids"][0])
    assert lead is not None and lead.external_id == "TeSter-123-abc"
    assert answer["quarantine"]["replayed_lead_ids"] == answer["lead_ids"]
    # And a second replay is idempotent: the same lead, nothing new
    again = flow.call("POST", f"/quarantine/{refused['request_id']}/replay")[1]
    assert again["lead_ids"] == answer["lead_ids"]
    assert flow.get("/leads", query={"source_id": "google-ads"})[1]["items"].__len__() == 1


def test_a_partner_request_with_unknown_field_names_is_replayed_into_a_lead_after_a_mapping_fix(
    flow: Flow, sources: dict[str, Any]
) -> None:
    # A partner posts its own field names: nothing says which one is the phone
    partner = {"cust_nm": "Test Bose", "mob": "98300 12345", "reqmt": "3 BHK", "ref": "P-77"}
    status, _, refused = send("website", partner, key=sources["generic"]["key"])
    assert (status, refused["error"]) == (422, "missing_contact")
    # The admin maps them on the source (a wrong target is refused, naming it) and replays
    bad = flow.call("PATCH", "/sources/website", body={"settings": {"field_mapping": {"mob": "mobile_no"}}})
    assert bad[0] == 422 and bad[1]["error"] == "invalid_setting" and "mobile_no" in bad[1]["message"]
    mapping = {"cust_nm": "name", "MOB": "phone", "reqmt": "product", "ref": "external_id"}
    status, source = flow.call("PATCH", "/sources/website", body={"settings": {"field_mapping": mapping}})
    assert status == 200 and source["settings"]["field_mapping"] == mapping
    status, answer = flow.call("POST", f"/quarantine/{refused['request_id']}/replay")
    assert status == 200 and answer["replayed"], answer
    lead = wiring.lead_repository().get(answer["lead_ids"][0])
    assert lead is not None and (lead.name, lead.phone, lead.product) == ("Test Bose", "+919830012345", "3 BHK")
    assert lead.external_id == "P-77" and lead.extra == {}
    # Later posts from the partner are mapped as they arrive
    status, _, later = send("website", {**partner, "mob": "9830012346", "ref": "P-78"}, key=sources["generic"]["key"])
    assert status == 202 and later["outcome"] == "created"
    # A kind with fixed field names takes no mapping
    status, body = flow.call("PATCH", "/sources/justdial", body={"settings": {"field_mapping": {"x": "phone"}}})
    assert status == 422 and body["error"] == "invalid_setting"


def test_replaying_a_request_that_still_fails_keeps_it_quarantined(flow: Flow, sources: dict[str, Any]) -> None:
    _, _, refused = send("website", {"name": "still no contact"}, key=sources["generic"]["key"])
    status, answer = flow.call("POST", f"/quarantine/{refused['request_id']}/replay")
    assert status == 422 and not answer["replayed"] and answer["capture"]["body"]["error"] == "missing_contact"
    assert flow.get("/quarantine")[1]["items"][0]["request_id"] == refused["request_id"]
    # The kept copy keeps the time it first arrived, and counts the failed tries
    from leadrelay import wiring
    from leadrelay.clock import get_clock
    from leadrelay.store.quarantine import QuarantineStore

    store = QuarantineStore(wiring.lead_repository().table)
    first = store.get(refused["request_id"])
    assert first is not None
    get_clock().advance(hours=2)  # type: ignore[attr-defined]
    flow.call("POST", f"/quarantine/{refused['request_id']}/replay")
    kept = store.get(refused["request_id"])
    assert kept is not None and kept["received_at"] == first["received_at"]
    assert kept["replay_count"] == 2 and kept["last_replay_error"] == "missing_contact"


def test_replaying_an_unknown_request_is_404_and_agents_may_not_replay(flow: Flow) -> None:
    status, answer = flow.call("POST", "/quarantine/nope/replay")
    assert (status, answer["error"]) == (404, "not_found")
    assert flow.call("POST", "/quarantine/nope/replay", role="agent", agent_id="anjali")[0] == 403
