"""Working time: when an agent is on shift, in the organisation's time zone.

A follow-up that falls outside its owner's shift, or while they are on leave, moves to their next
shift start; an SLA counted in shift hours only advances while the owner is on shift. An agent
with no shifts is always on shift (as in routing's eligibility).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from leadrelay.models.agent import Agent, AgentStatus, Shift

# Far enough ahead for any weekly shift pattern; beyond it a moment is left as it is.
_HORIZON_DAYS = 8
_AWAY = frozenset({AgentStatus.ON_LEAVE, AgentStatus.UNAVAILABLE})


def _local(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone)


def shift_intervals(shifts: list[Shift], start: datetime, days: int, timezone: str) -> list[tuple[datetime, datetime]]:
    """The shifts' working intervals (local, closed) that touch the `days` days from `start`'s
    local day, counting from the day before (an overnight shift started then), sorted and merged."""
    zone = ZoneInfo(timezone)
    first = start.astimezone(zone).date() - timedelta(days=1)
    intervals: list[tuple[datetime, datetime]] = []
    for offset in range(days + 1):
        day = first + timedelta(days=offset)
        for shift in shifts:
            if day.weekday() not in shift.days:
                continue
            end_day = day if shift.start <= shift.end else day + timedelta(days=1)
            intervals.append((_local(day, shift.start, zone), _local(end_day, shift.end, zone)))
    intervals.sort()
    merged: list[tuple[datetime, datetime]] = []
    for begin, end in intervals:
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return merged


def back_from_leave(agent: Agent, moment: datetime) -> datetime:
    """`moment`, or when the agent's leave (or unavailability) with a known end is over."""
    if agent.status in _AWAY and agent.status_until is not None and moment < agent.status_until:
        return agent.status_until
    return moment


def next_working_moment(agent: Agent, moment: datetime, timezone: str) -> datetime:
    """`moment` if the agent works then; else the start of their next shift (after any leave
    with a known end). A moment with no shift within a week ahead is left as it is."""
    moment = back_from_leave(agent, moment)
    if not agent.shifts:
        return moment
    for begin, end in shift_intervals(agent.shifts, moment, _HORIZON_DAYS, timezone):
        if begin <= moment <= end:
            return moment
        if begin > moment:
            return begin.astimezone(moment.tzinfo)
    return moment


def add_working_minutes(agent: Agent, start: datetime, minutes: int, timezone: str) -> datetime:
    """The moment by which the agent has been on shift for `minutes` minutes since `start` (their
    shift time only: nights, weekends off and leave do not count). No shifts: wall-clock time."""
    start = back_from_leave(agent, start)
    if not agent.shifts:
        return start + timedelta(minutes=minutes)
    left = timedelta(minutes=minutes)
    cursor = start
    # Weeks at a time, so that a long SLA over a sparse shift pattern still ends.
    for _ in range(60):
        intervals = shift_intervals(agent.shifts, cursor, _HORIZON_DAYS, timezone)
        if not intervals:
            break
        for begin, end in intervals:
            if end <= cursor:
                continue
            begin = max(begin, cursor)
            if begin + left <= end:
                return (begin + left).astimezone(start.tzinfo)
            left -= end - begin
            cursor = end
        cursor = max(cursor, intervals[-1][1])
    return start + timedelta(minutes=minutes)
