"""Pure pieces of closing and coming back: the engine's offer to a previous owner, the
attribution report, provider times and consent from Meta's disclaimer checkboxes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadrelay.models import Agent, AgentStatus, Attribution, Lead, LeadStatus, Pool, Source, SourceKind
from leadrelay.models.lead import Touch
from leadrelay.models.settings import ReturningPolicy
from leadrelay.reports import attribution_report
from leadrelay.routing.engine import RETURNING_RULE_ID, decide
from leadrelay.routing.roster import Roster
from leadrelay.routing.rules import RuleChain
from leadrelay.sources.fields import provider_time
from leadrelay.sources.meta import lead_from_graph

TZ = "Asia/Kolkata"
NOON_IST = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)


def _lead(lead_id: str = "L1", source_id: str = "website", **fields: object) -> Lead:
    return Lead(lead_id=lead_id, source_id=source_id, source_kind="generic", received_at=NOON_IST, **fields)


def _roster() -> Roster:
    agents = [Agent(agent_id=a, name=a.upper(), daily_cap=3) for a in ("a", "b", "c")]
    agents.append(Agent(agent_id="away", name="Away", status=AgentStatus.ON_LEAVE))
    roster = Roster(agents={agent.agent_id: agent for agent in agents})
    roster.pools["all"] = Pool(pool_id="all", name="all", agent_ids=["a", "b"])
    return roster


CHAIN = RuleChain.model_validate({"version": 1, "default_pool_id": "all"})


def test_a_reopened_lead_goes_to_its_previous_owner_even_outside_the_matching_pool() -> None:
    plan = decide(_lead(return_to_agent_id="c"), CHAIN, _roster(), {}, NOON_IST, TZ)
    assert plan.agent_id == "c" and plan.rule_id == RETURNING_RULE_ID and plan.pool_id is None
    assert plan.strategy == "sticky_owner" and plan.daily_cap == 3


@pytest.mark.parametrize(
    ("owner", "counts", "why"),
    [("away", {}, "on_leave"), ("c", {"c": 3}, "cap"), ("gone", {}, "no longer an agent")],
)
def test_a_previous_owner_who_cannot_take_it_is_passed_over_with_the_reason(
    owner: str, counts: dict[str, int], why: str
) -> None:
    plan = decide(_lead(return_to_agent_id=owner), CHAIN, _roster(), counts, NOON_IST, TZ)
    assert plan.agent_id in ("a", "b") and plan.rule_id == "default"
    assert plan.rules[0].rule_id == RETURNING_RULE_ID and not plan.rules[0].matched
    assert why in plan.rules[0].why


def test_the_returning_policy_reopens_lost_leads_and_keeps_won_ones_by_default() -> None:
    policy = ReturningPolicy()
    assert policy.reopens(LeadStatus.LOST) and not policy.reopens(LeadStatus.WON)
    assert ReturningPolicy(reopen_won=True, reopen_lost=False).reopens(LeadStatus.WON)
    assert not ReturningPolicy(reopen_lost=False).reopens(LeadStatus.LOST)


def test_attribution_credits_first_and_last_touch_with_outcomes() -> None:
    later = NOON_IST + timedelta(days=2)
    leads = [
        _lead("L1", "facebook", attribution=Attribution(utm_source="fb", utm_campaign="diwali"),
              status=LeadStatus.WON, touch_count=2,
              last_touch=Touch(source_id="website", source_kind="generic", at=later,
                               attribution=Attribution(utm_source="google", utm_campaign="brand"))),
        _lead("L2", "facebook", status=LeadStatus.LOST),
        _lead("L3", "website", touch_count=3,
              last_touch=Touch(source_id="website", source_kind="generic", at=later)),
    ]  # fmt: skip
    report = attribution_report(leads, {"facebook": "meta_lead_ads", "website": "generic"})
    assert report["leads"] == 3
    first = {row["source_id"]: row for row in report["first_touch"]["by_source"]}
    assert first["facebook"] == {"source_id": "facebook", "source_kind": "meta_lead_ads", "leads": 2, "won": 1,
                                      "lost": 1, "open": 0, "win_rate": 0.5}  # fmt: skip
    last = {row["source_id"]: (row["leads"], row["won"]) for row in report["last_touch"]["by_source"]}
    assert last == {"website": (2, 1), "facebook": (1, 0)}
    assert report["journeys"]["returning"] == 2 and report["journeys"]["cross_source"] == 1
    campaigns = {(r["utm_source"], r["utm_campaign"]): r["leads"] for r in report["last_touch"]["by_campaign"]}
    assert campaigns == {("google", "brand"): 1, ("(none)", "(none)"): 2}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-05T08:49:14+0000", datetime(2026, 1, 5, 8, 49, 14, tzinfo=UTC)),
        ("2026-01-05T14:19:14+05:30", datetime(2026, 1, 5, 8, 49, 14, tzinfo=UTC)),
        ("2026-01-05 08:49:14", datetime(2026, 1, 5, 8, 49, 14, tzinfo=UTC)),
        (1440120384, datetime(2015, 8, 21, 1, 26, 24, tzinfo=UTC)),
        ("1440120384000", datetime(2015, 8, 21, 1, 26, 24, tzinfo=UTC)),
        ("yesterday", None),
        ("", None),
        (True, None),
    ],
)
def test_provider_times_are_read_in_every_form_providers_send(value: object, expected: datetime | None) -> None:
    assert provider_time(value) == expected


def test_meta_disclaimer_checkboxes_become_consent_with_purpose_and_time() -> None:
    source = Source(source_id="fb", kind=SourceKind.META_LEAD_ADS, name="FB", key_hash="x")
    graph = {
        "id": "123", "created_time": "2026-01-05T08:49:14+0000",
        "field_data": [{"name": "phone_number", "values": ["+919000000001"]}],
        "custom_disclaimer_responses": [{"checkbox_key": "marketing_calls", "is_checked": "1"},
                                        {"checkbox_key": "whatsapp_offers", "is_checked": ""}],
    }  # fmt: skip
    lead = lead_from_graph(graph, {}, source)
    assert lead.consent is True and lead.consent_detail is not None
    assert lead.consent_detail.purpose == "marketing_calls"
    assert lead.consent_detail.at == datetime(2026, 1, 5, 8, 49, 14, tzinfo=UTC)
    assert lead.consent_detail.source == "fb: Meta custom_disclaimer_responses"
    graph["custom_disclaimer_responses"] = [{"checkbox_key": "marketing_calls", "is_checked": "0"}]
    refused = lead_from_graph(graph, {}, source)
    assert refused.consent is False and refused.consent_detail and refused.consent_detail.purpose == "marketing_calls"
    del graph["custom_disclaimer_responses"]
    assert lead_from_graph(graph, {}, source).consent_detail is None
