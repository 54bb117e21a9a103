"""People: inviting, changing, disabling and removing the persons who sign in.

Disabling or removing a person takes effect at once: their Cognito user is disabled and signed
out everywhere, their LeadRelay record stops every further request (401 `user_disabled`; API
Gateway alone would accept their ID token until it expires), they stop taking leads, and their
open leads go back to routing — to the pool the live rule chain picks for each lead, or to the
pool the admin names — each with a `lead.reassigned` timeline entry that says why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from leadrelay.errors import Refused
from leadrelay.models import AgentStatus, Lead, LeadStatus
from leadrelay.models.user import User, UserStatus

# An agent holds every lead of theirs in an open pipeline stage, except one offered or let go.
NOT_HELD = frozenset({LeadStatus.OFFERED, LeadStatus.UNASSIGNED})


class Directory(Protocol):
    def disable(self, username: str) -> None: ...

    def enable(self, username: str) -> None: ...


@dataclass
class Rerouted:
    """What happened to a departing agent's open leads."""

    moved: dict[str, str] = field(default_factory=dict)  # lead id -> new agent
    not_moved: dict[str, str] = field(default_factory=dict)  # lead id -> why

    def view(self) -> dict[str, Any]:
        return {"moved": self.moved, "not_moved": self.not_moved}


class People:
    """The people-admin use cases; stores and Cognito are passed in."""

    def __init__(
        self, *, users: Any, directory: Any, org: Any, leads: Any, reassigner: Any, clock: Any, timezone: str,
        presence: Any,
    ):  # fmt: skip
        self.users = users
        self.presence = presence
        self.directory = directory
        self.org = org
        self.leads = leads
        self.reassigner = reassigner
        self.clock = clock
        self.timezone = timezone

    def disable(
        self, user: User, *, by: str, reason: str, pool_id: str | None = None, status: UserStatus = UserStatus.DISABLED
    ) -> tuple[User, Rerouted]:
        """Refuse `user` from the next request on, sign them out of Cognito, and re-route their
        open leads. Idempotent: disabling a disabled person re-routes whatever is still theirs."""
        now: datetime = self.clock.now()
        updated = self.users.update(
            user.user_id,
            {"status": status.value, "disabled_at": now, "disabled_by": by, "disabled_reason": reason,
             "updated_at": now, "updated_by": by},
        )  # fmt: skip
        if updated is None:
            raise Refused("not_found", f"there is no user {user.user_id!r}", 404)
        self._in_cognito("disable", user.username)
        rerouted = Rerouted()
        if user.agent_id:
            self._stop_taking_leads(user.agent_id, now, by=by, reason=reason)
            rerouted = self.reroute_open_leads(user.agent_id, by=by, why=reason, pool_id=pool_id, who=user)
        return updated, rerouted

    def _stop_taking_leads(self, agent_id: str, now: datetime, *, by: str, reason: str) -> None:
        """Make the agent unavailable with its fairness-ledger entry (the ledger's eligible minutes
        end here), on condition that their status is still the one read: read again if it moved."""
        from leadrelay.clock import local_day

        day = local_day(now, self.timezone)
        for _ in range(5):
            agent = self.org.get_agent(agent_id)
            if agent is None or (agent.status is AgentStatus.UNAVAILABLE and agent.status_until is None):
                return
            if self.presence.set_availability(agent, AgentStatus.UNAVAILABLE, None, now, day,
                                              f"{by}, disabling the person: {reason}") is not None:  # fmt: skip
                return
        raise Refused("availability_changed", "the agent's availability kept changing meanwhile; try again", 409)

    def enable(self, user: User, *, by: str) -> User:
        if user.status is UserStatus.REMOVED:
            raise Refused("user_removed", "a removed person cannot be enabled; invite them again")
        now = self.clock.now()
        self._in_cognito("enable", user.username)
        updated = self.users.update(
            user.user_id,
            {"status": UserStatus.ACTIVE.value, "disabled_at": None, "disabled_by": None, "disabled_reason": None,
             "updated_at": now, "updated_by": by},
        )  # fmt: skip
        if updated is None:
            raise Refused("not_found", f"there is no user {user.user_id!r}", 404)
        return updated

    def _in_cognito(self, action: str, username: str) -> None:
        """Disable (and sign out) or enable the person in Cognito. A stack without a user pool
        (tests, tools) has only the LeadRelay record, which alone refuses the person."""
        try:
            directory = self.directory()
        except Refused as refused:
            if refused.code != "no_user_pool":
                raise
            logging.getLogger(__name__).error("no user pool configured: %s of %s applies to LeadRelay only", action,
                                              username)  # fmt: skip
            return
        getattr(directory, action)(username)

    def open_leads(self, agent_id: str) -> list[Lead]:
        leads: list[Lead] = []
        cursor = None
        while True:
            page, cursor = self.leads.list_leads(agent_id=agent_id, cursor=cursor, limit=200)
            leads.extend(lead for lead in page if not lead.is_closed and lead.status not in NOT_HELD)
            if cursor is None:
                return leads

    def reroute_open_leads(
        self, agent_id: str, *, by: str, why: str, pool_id: str | None = None, who: User | None = None
    ) -> Rerouted:
        """Move each open lead of `agent_id` to `pool_id`, or to the pool the live rule chain
        picks for it (never back to `agent_id`)."""
        from leadrelay.clock import local_day
        from leadrelay.routing.engine import decide
        from leadrelay.routing.reassign import Reassignment, ReassignRefused

        name = who.name or who.username if who else agent_id
        result = Rerouted()
        for lead in self.open_leads(agent_id):
            target = pool_id
            if target is None:
                now = self.clock.now()
                state = self.org.load_routing_state(local_day(now, self.timezone))
                plan = decide(lead, state.chain, state.roster, state.counts_today, now, self.timezone,
                              exclude_agents=frozenset({agent_id}))  # fmt: skip
                target = plan.pool_id
            if target is None:
                result.not_moved[lead.lead_id] = "no rule and no default pool takes this lead"
                continue
            fresh = self.leads.get(lead.lead_id, consistent=True) or lead
            move = Reassignment(lead_id=lead.lead_id, pool_id=target, by=by,
                                reason=f"{name} no longer works here ({why})")  # fmt: skip
            try:
                decision = self.reassigner.reassign(fresh, move)
            except ReassignRefused as refused:
                result.not_moved[lead.lead_id] = str(refused)
                continue
            result.moved[lead.lead_id] = decision.agent_id or ""
        return result
