"""The follow-up domain, pure: outcome rules, working time, SLA deadlines and breaches, cadences."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadrelay.followup.nurture import may_nurture, next_allowed_step, step_allowed, step_due
from leadrelay.followup.rules import is_connection, is_contact, plan_followup, working_time
from leadrelay.followup.settings import (
    ActivityType,
    Cadence,
    CadenceStep,
    FollowupSettings,
    NurtureSettings,
    Outcome,
    OutcomeRule,
    SlaSettings,
)
from leadrelay.followup.shifts import add_working_minutes, next_working_moment, shift_intervals
from leadrelay.followup.sla import History, history, plan_breach, sla_deadline, sla_minutes
from leadrelay.models import Agent, AgentStatus, Lead, RoutingDecision, Shift
from leadrelay.models.lead import Consent

TZ = "Asia/Kolkata"
MONDAY_NOON_IST = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)


def ist(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in November 2026, given in IST, as UTC (23 = Monday)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC) - timedelta(hours=5, minutes=30)


def office_agent(**extra: object) -> Agent:
    shift = Shift(days=[0, 1, 2, 3, 4, 5], start=time(9), end=time(18))
    return Agent(agent_id="anjali", name="Anjali", shifts=[shift], **extra)  # type: ignore[arg-type]


def night_agent() -> Agent:
    return Agent(agent_id="meera", name="Meera", shifts=[Shift(start=time(21), end=time(9))])


def lead(**extra: object) -> Lead:
    return Lead(lead_id="L1", source_id="web", source_kind="generic", received_at=MONDAY_NOON_IST, **extra)  # type: ignore[arg-type]


# -- contact -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "direction", "contact"),
    [
        ("call", "outbound", True), ("call", "inbound", False), ("whatsapp", "outbound", True),
        ("sms", "outbound", True), ("email", "outbound", True), ("meeting", "inbound", True),
        ("meeting", "outbound", True), ("note", "outbound", False), ("whatsapp", "inbound", False),
    ],
)  # fmt: skip
def test_any_outbound_attempt_message_or_meeting_is_contact_and_a_note_is_not(kind, direction, contact) -> None:
    assert is_contact(ActivityType(kind), direction) is contact


@pytest.mark.parametrize("outcome", list(Outcome))
def test_only_a_call_that_reached_the_person_is_a_connection(outcome: Outcome) -> None:
    reached = outcome in {Outcome.CONNECTED, Outcome.INTERESTED, Outcome.NOT_INTERESTED, Outcome.CALLBACK_REQUESTED}
    assert is_connection(ActivityType.CALL, outcome) is reached
    assert is_connection(ActivityType.WHATSAPP, outcome) is False
    assert is_connection(ActivityType.CALL, None) is False


# -- outcome rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "after"),
    [
        (Outcome.NO_ANSWER, timedelta(days=2)), (Outcome.SWITCHED_OFF, timedelta(days=2)),
        (Outcome.BUSY, timedelta(hours=1)), (Outcome.INTERESTED, timedelta(hours=4)),
        (Outcome.CONNECTED, timedelta(days=1)), (Outcome.NOT_INTERESTED, None), (Outcome.WRONG_NUMBER, None),
    ],
)  # fmt: skip
def test_each_default_outcome_rule(outcome: Outcome, after: timedelta | None) -> None:
    plan = plan_followup(FollowupSettings(), outcome, at=MONDAY_NOON_IST, callback_at=None, owner=None, timezone=TZ)
    if after is None:
        assert plan is None
    else:
        assert plan is not None and plan.due_at == MONDAY_NOON_IST + after and not plan.moved
        assert plan.reason == f"outcome:{outcome.value}"


def test_a_callback_is_due_when_asked_and_soon_when_no_time_was_given() -> None:
    asked = MONDAY_NOON_IST + timedelta(hours=3)
    plan = plan_followup(FollowupSettings(), Outcome.CALLBACK_REQUESTED, at=MONDAY_NOON_IST, callback_at=asked,
                         owner=None, timezone=TZ)  # fmt: skip
    assert plan is not None and plan.due_at == asked
    plan = plan_followup(FollowupSettings(), Outcome.CALLBACK_REQUESTED, at=MONDAY_NOON_IST, callback_at=None,
                         owner=None, timezone=TZ)  # fmt: skip
    assert plan is not None and plan.due_at == MONDAY_NOON_IST + timedelta(hours=1)


def test_no_outcome_schedules_nothing_and_rules_are_data() -> None:
    assert (
        plan_followup(FollowupSettings(), None, at=MONDAY_NOON_IST, callback_at=None, owner=None, timezone=TZ) is None
    )
    custom = FollowupSettings(rules={Outcome.BUSY: OutcomeRule(after_minutes=15)})
    plan = plan_followup(custom, Outcome.BUSY, at=MONDAY_NOON_IST, callback_at=None, owner=None, timezone=TZ)
    assert plan is not None and plan.due_at == MONDAY_NOON_IST + timedelta(minutes=15)
    # the outcomes it did not name keep their defaults
    assert custom.rules[Outcome.NO_ANSWER].after_minutes == 2 * 24 * 60


def test_an_outcome_rule_takes_one_way_only() -> None:
    with pytest.raises(ValueError, match="not both"):
        OutcomeRule(after_minutes=5, use_callback_at=True)
    assert OutcomeRule().schedules_nothing and not OutcomeRule(after_minutes=1).schedules_nothing
    assert not OutcomeRule(use_callback_at=True).schedules_nothing


def test_a_follow_up_outside_the_shift_moves_to_the_next_shift_start() -> None:
    # busy at 17:30 IST Monday: +1 h is 18:30, after Anjali's 09–18 shift → 09:00 Tuesday
    plan = plan_followup(FollowupSettings(), Outcome.BUSY, at=ist(23, 17, 30), callback_at=None,
                         owner=office_agent(), timezone=TZ)  # fmt: skip
    assert (
        plan is not None
        and plan.due_at == ist(24, 9)
        and plan.wanted_at == ist(24, 9) - timedelta(hours=14, minutes=30)
    )
    assert plan.moved
    # Saturday evening → Monday 09:00 (Sunday is off)
    assert next_working_moment(office_agent(), ist(28, 19), TZ) == ist(30, 9)
    # not shift-aware: left as it is
    plain = working_time(FollowupSettings(shift_aware=False), "x", ist(23, 20), office_agent(), TZ)
    assert plain.due_at == ist(23, 20) and not plain.moved


def test_a_follow_up_during_leave_moves_to_the_first_shift_after_it() -> None:
    on_leave = office_agent(status=AgentStatus.ON_LEAVE, status_until=ist(25, 13))
    assert next_working_moment(on_leave, ist(24, 10), TZ) == ist(25, 13)
    # leave ending at night: the next shift start after it
    on_leave = office_agent(status=AgentStatus.ON_LEAVE, status_until=ist(25, 20))
    assert next_working_moment(on_leave, ist(24, 10), TZ) == ist(26, 9)
    # a break is not leave
    on_break = office_agent(status=AgentStatus.ON_BREAK, status_until=ist(25, 20))
    assert next_working_moment(on_break, ist(24, 10), TZ) == ist(24, 10)


def test_an_overnight_shift_covers_the_morning_after() -> None:
    assert next_working_moment(night_agent(), ist(24, 3), TZ) == ist(24, 3)
    assert next_working_moment(night_agent(), ist(24, 12), TZ) == ist(24, 21)
    assert next_working_moment(night_agent(), ist(24, 9), TZ) == ist(24, 9)  # the end is inside


def test_an_agent_without_shifts_always_works() -> None:
    anyone = Agent(agent_id="x", name="X")
    assert next_working_moment(anyone, ist(24, 3), TZ) == ist(24, 3)
    assert add_working_minutes(anyone, ist(24, 3), 90, TZ) == ist(24, 4, 30)


def test_shift_intervals_merge_touching_shifts() -> None:
    split = [Shift(start=time(9), end=time(13)), Shift(start=time(13), end=time(18))]
    intervals = shift_intervals(split, ist(24, 10), 1, TZ)
    assert (ist(24, 9), ist(24, 18)) in [(a.astimezone(UTC), b.astimezone(UTC)) for a, b in intervals]


# -- SLA -----------------------------------------------------------------------------------------


def test_the_sla_comes_from_the_rule_then_the_pool_then_the_settings_then_the_org() -> None:
    sla = SlaSettings(by_rule={"ncr": 30}, by_pool={"south": 45})
    assert sla_minutes(sla, 90, "ncr", "south") == 30
    assert sla_minutes(sla, 90, "other", "south") == 45
    assert sla_minutes(sla, 90, "other", "x") == 90
    assert sla_minutes(SlaSettings(first_contact_minutes=60), 90, None, None) == 60
    assert sla_minutes(SlaSettings(), None, None, None) is None


def test_an_sla_in_shift_hours_skips_the_night_and_the_weekend() -> None:
    sla = SlaSettings(shift_hours_only=True)
    assert sla_deadline(sla, 90, ist(23, 17, 30), office_agent(), TZ) == ist(24, 10)
    assert sla_deadline(sla, 90, ist(28, 17, 30), office_agent(), TZ) == ist(30, 10)  # Saturday → Monday
    assert sla_deadline(sla, 90, ist(23, 7), office_agent(), TZ) == ist(23, 10, 30)  # before the shift
    assert sla_deadline(SlaSettings(), 90, ist(23, 17, 30), office_agent(), TZ) == ist(23, 19)
    assert sla_deadline(sla, 90, ist(23, 17, 30), None, TZ) == ist(23, 19)
    # longer than a day of shift: 9 h a day, 20 h of SLA from Monday 09:00 → Wednesday 11:00
    assert sla_deadline(sla, 20 * 60, ist(23, 9), office_agent(), TZ) == ist(25, 11)


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)),
    minutes=st.integers(min_value=1, max_value=5000),
)
def test_shift_minutes_never_end_before_wall_minutes_and_end_on_shift(start: datetime, minutes: int) -> None:
    agent = office_agent()
    deadline = add_working_minutes(agent, start, minutes, TZ)
    assert deadline >= start + timedelta(minutes=minutes)
    # the deadline is a working moment, and the working minutes between start and it are exactly `minutes`
    assert next_working_moment(agent, deadline, TZ) == deadline
    worked = timedelta(0)
    for begin, end in shift_intervals(agent.shifts, start, (deadline - start).days + 2, TZ):
        lo, hi = max(begin, start), min(end, deadline)
        if hi > lo:
            worked += hi - lo
    assert abs(worked - timedelta(minutes=minutes)) < timedelta(seconds=1)


@settings(max_examples=200, deadline=None)
@given(moment=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)))
def test_the_next_working_moment_is_on_shift_and_never_earlier(moment: datetime) -> None:
    for agent in (office_agent(), night_agent()):
        found = next_working_moment(agent, moment, TZ)
        assert found >= moment
        local = found.astimezone(__import__("zoneinfo").ZoneInfo(TZ))
        assert any(s.covers(local) for s in agent.shifts)
        if found > moment:  # nothing on shift in between (checked at the minute before)
            before = (found - timedelta(minutes=1)).astimezone(local.tzinfo)
            assert not any(s.covers(before) for s in agent.shifts) or found - moment < timedelta(minutes=1)


def decision(
    agent: str | None, trigger: str = "auto", rule: str | None = "ncr", pool: str | None = "ncr"
) -> RoutingDecision:
    return RoutingDecision(decision_id=f"d-{agent}-{trigger}", lead_id="L1", at=MONDAY_NOON_IST, rule_chain_version=1,
                           rule_id=rule, pool_id=pool, agent_id=agent, outcome="assigned" if agent else "unassigned",
                           reason="", trigger=trigger)  # fmt: skip


def test_history_knows_who_had_the_lead_and_how_often_the_sla_moved_it() -> None:
    past = history([decision("anjali"), decision("rahul", "sla", rule=None, pool="ncr"), decision(None, "sla")])
    assert past == History(had_it=frozenset({"anjali", "rahul"}), sla_moves=1, rule_id="ncr", pool_id="ncr")
    assert history([]) == History(frozenset(), 0, None, None)


def test_a_breach_tries_the_backup_pool_first_then_the_own_pool_then_the_chain() -> None:
    past = History(had_it=frozenset({"anjali"}), sla_moves=0, rule_id="ncr", pool_id="ncr")
    plan = plan_breach(SlaSettings(backup_pool_by_rule={"ncr": "everyone"}), past, "ncr")
    assert plan.action == "redistribute" and plan.pools == ("everyone", "ncr", None)
    assert plan.exclude == frozenset({"anjali"})
    assert plan_breach(SlaSettings(), past, "south").pools == ("south", "ncr", None)
    assert plan_breach(SlaSettings(), past, None).pools == ("ncr", None)


def test_after_max_redistributions_a_breach_escalates() -> None:
    past = History(had_it=frozenset({"a", "b", "c"}), sla_moves=2, rule_id="ncr", pool_id="ncr")
    assert plan_breach(SlaSettings(), past, "ncr").action == "escalate"
    assert plan_breach(SlaSettings(max_redistributions=3), past, "ncr").action == "redistribute"
    assert (
        plan_breach(SlaSettings(max_redistributions=0), History(frozenset(), 0, None, None), None).action == "escalate"
    )


def test_sla_settings_refuse_a_zero_minute_sla() -> None:
    with pytest.raises(ValueError, match="at least 1 minute"):
        SlaSettings(by_rule={"ncr": 0})


# -- nurture -------------------------------------------------------------------------------------


def test_consent_withdrawn_means_no_cadence_and_do_not_call_skips_calls_only() -> None:
    assert may_nurture(lead()) is None
    assert may_nurture(lead(consent=True)) is None
    assert "consent" in (may_nurture(lead(consent=False)) or "")
    assert "consent" in (may_nurture(lead(consent_detail=Consent(given=False))) or "")
    dnc = lead(do_not_call=True)
    assert step_allowed(dnc, ActivityType.CALL) is not None
    assert step_allowed(dnc, ActivityType.WHATSAPP) is None
    assert step_allowed(lead(), ActivityType.CALL) is None


def test_cadence_steps_count_from_the_start_and_skip_what_the_lead_may_not_get() -> None:
    cadence = Cadence(steps=[CadenceStep(type=ActivityType.CALL, after_days=2),
                             CadenceStep(type=ActivityType.WHATSAPP, after_days=7)])  # fmt: skip
    step = step_due(cadence, MONDAY_NOON_IST, 1)
    assert step is not None and step.due_at == MONDAY_NOON_IST + timedelta(days=7) and step.index == 1
    assert step_due(cadence, MONDAY_NOON_IST, 2) is None and step_due(cadence, MONDAY_NOON_IST, -1) is None
    found, skipped = next_allowed_step(cadence, MONDAY_NOON_IST, 0, lead(do_not_call=True))
    assert found is not None and found.type is ActivityType.WHATSAPP and len(skipped) == 1
    found, skipped = next_allowed_step(cadence, MONDAY_NOON_IST, 0, lead())
    assert found is not None and found.index == 0 and skipped == []


def test_cadences_are_validated() -> None:
    with pytest.raises(ValueError, match="in order"):
        Cadence(steps=[CadenceStep(after_days=7), CadenceStep(after_days=2)])
    with pytest.raises(ValueError, match="unknown cadence"):
        NurtureSettings(by_rule={"ncr": "missing"})
    with pytest.raises(ValueError, match="unknown cadence"):
        NurtureSettings(cadences={}, lost_cadence="long-tail")
    assert NurtureSettings(cadences={}, lost_resurface_days=None).cadences == {}
