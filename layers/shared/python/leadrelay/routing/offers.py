"""Accept-or-pass offers (docs/routing.md#offers): a pool with `offer_timeout_s` offers each lead
to the agent its strategy picks; the agent accepts (the lead is theirs), declines, or lets the
offer expire, and the lead goes back to routing, never to an agent who let it pass.

The router makes offers (`offered` turns its decision into one); `OfferDesk` settles them: from
the API (accept, decline), from the every-minute tick (`expire_due`), and by withdrawing an offer
its agent can no longer accept (`withdraw_dead`: on leave, unavailable, banned, removed, out of the
pool) as soon as that is known, instead of leaving the lead waiting for the offer's timeout. Every step is one
transaction (store/offers.py) that writes the routing trail, the timeline entry (the domain
event) and the fairness ledger with it. Accept/decline take only an offer id and an agent, so a
WhatsApp button or a push notification can carry them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadrelay.clock import Clock, iso, local_day
from leadrelay.errors import Refused
from leadrelay.ids import new_id
from leadrelay.models import Lead, RoutingDecision, TimelineEvent, TimelineKind
from leadrelay.models.agent import AgentStatus
from leadrelay.models.offer import ACCEPTED_TRIGGER, Offer, Pass, Settled
from leadrelay.models.roster import Roster
from leadrelay.routing.ports import LeadReader, OfferBook, RosterReader

DECLINED_TRIGGER = "offer_declined"
EXPIRED_TRIGGER = "offer_expired"
WITHDRAWN_TRIGGER = "offer_withdrawn"
# Reads of the agent for one acceptance when the roster keeps changing under it (an admin's edits).
ROSTER_ATTEMPTS = 3
# Statuses under which an agent takes no lead, not even one offered before (a break does not stop it).
CANNOT_TAKE = frozenset({AgentStatus.ON_LEAVE, AgentStatus.UNAVAILABLE, AgentStatus.BANNED})


def _cannot_take(roster: Roster, offer: Offer, now: datetime) -> str | None:
    """Why the offered agent may no longer take the lead on the current roster (None: they may)."""
    agent = roster.agents.get(offer.agent_id)
    if agent is None:
        return "is no longer an agent"
    status = agent.status_at(now)
    if status in CANNOT_TAKE:
        return f"is {status.value} now"
    pool = roster.pools.get(offer.pool_id) if offer.pool_id else None
    if offer.pool_id and (pool is None or offer.agent_id not in pool.agent_ids):
        return f"is no longer in pool {offer.pool_id!r}"
    return None


def offered(decision: RoutingDecision, event: TimelineEvent, offer_id: str, expires_at: datetime, lead: Lead) -> None:
    """Turn the router's assignment decision and its timeline entry into an offer's."""
    decision.outcome = "offered"
    decision.reason += f"; offered until {iso(expires_at)} (offer {offer_id})"
    passed = ", ".join(lead.offer_passed_by)
    if passed:
        decision.reason += f"; passed on before by {passed}"
    event.kind = TimelineKind.OFFERED.value
    event.summary = f"offered to {decision.agent_id} by rule {decision.rule_id} until {iso(expires_at)}"
    event.data.update(offer_id=offer_id, expires_at=iso(expires_at), passed_by=list(lead.offer_passed_by))


@dataclass
class ExpiryReport:
    expired: int = 0
    # The leads passed on (now pending: the stream routes them again).
    lead_ids: list[str] = field(default_factory=list)
    checked_out: list[str] = field(default_factory=list)
    already_settled: int = 0
    # Passed on because the agent can no longer accept them (`withdraw_dead`).
    withdrawn: int = 0


class OfferDesk:
    """Settles offers: accept, decline, expire. Each exactly once, however often it is asked."""

    def __init__(
        self,
        *,
        leads: LeadReader,
        org: RosterReader,
        offers: OfferBook,
        clock: Clock,
        timezone: str,
        sla_queue: str,
        max_attempts: int = 6,
    ) -> None:
        self.leads = leads
        self.org = org
        self.offers = offers
        self.clock = clock
        self.timezone = timezone
        self.sla_queue = sla_queue
        self.max_attempts = max_attempts

    def _open(self, agent_id: str, offer_id: str) -> tuple[Offer, Lead]:
        offer = self.offers.get(agent_id, offer_id)
        if offer is None:
            raise Refused("offer_closed", f"offer {offer_id} is not open for {agent_id}: accepted, passed or expired")
        lead = self.leads.get(offer.lead_id, consistent=True)
        if lead is None or lead.offer_id != offer.offer_id:
            raise Refused("offer_closed", f"offer {offer_id} is no longer open")
        return offer, lead

    def _now(self, offer: Offer) -> datetime:
        return max(self.clock.now(), offer.offered_at)

    def _decision(self, offer: Offer, outcome: str, trigger: str, reason: str, now: datetime) -> RoutingDecision:
        return RoutingDecision(
            decision_id=new_id(now), lead_id=offer.lead_id, at=now,
            rule_chain_version=offer.chain_version,
            rule_id=offer.rule_id, pool_id=offer.pool_id, agent_id=offer.agent_id, outcome=outcome, reason=reason,
            candidates=[offer.agent_id], trigger=trigger,
            by=offer.agent_id if outcome in ("assigned", "declined") else None,  # expired, withdrawn: the system
        )  # fmt: skip

    def accept(self, agent_id: str, offer_id: str) -> Lead:
        """The offered agent takes the lead; it is assigned to them, if they still may take leads.

        The offer was decided on the roster as it was then: an agent banned, put on leave or made
        unavailable, removed, or taken out of the offer's pool since may not accept it (the lead
        goes back to routing when the offer expires). The roster version is read before the
        agent and checked by the acceptance, so a change completing in between is seen: the
        agent is read again (up to `ROSTER_ATTEMPTS` times)."""
        offer, lead = self._open(agent_id, offer_id)
        for _ in range(ROSTER_ATTEMPTS):
            settled = self._accept_once(offer, lead)
            if settled is Settled.DONE:
                fresh = self.leads.get(lead.lead_id, consistent=True)
                assert fresh is not None
                return fresh
            if settled is not Settled.ROSTER_MOVED:
                raise Refused("offer_closed", f"offer {offer_id} was settled meanwhile (expired or passed)")
        raise Refused("state_changed", "agents, pools or rules kept changing while the offer was being accepted; "
                      "try again")  # fmt: skip

    def _accept_once(self, offer: Offer, lead: Lead) -> Settled:
        agent_id, offer_id = offer.agent_id, offer.offer_id
        now = self._now(offer)
        if now >= offer.expires_at:
            raise Refused("offer_expired", f"offer {offer_id} expired at {iso(offer.expires_at)}")
        roster_version = self.org.roster_version()  # before the roster, as routing/snapshot.py reads them
        why = _cannot_take(self.org.load_roster(), offer, now)
        if why is not None:
            raise Refused("agent_not_eligible", f"{agent_id} {why} and cannot accept offer {offer_id}; the lead "
                          f"goes back to routing when the offer expires at {iso(offer.expires_at)}")  # fmt: skip
        decision = self._decision(offer, "assigned", ACCEPTED_TRIGGER, f"{agent_id} accepted offer {offer_id}", now)
        event = TimelineEvent(
            event_id=decision.decision_id, lead_id=lead.lead_id, at=now, kind=TimelineKind.ASSIGNED.value,
            actor=agent_id, summary=f"assigned to {agent_id}: accepted offer {offer_id}",
            data={"agent_id": agent_id, "rule_id": offer.rule_id, "pool_id": offer.pool_id, "team_id": offer.team_id,
                  "source_id": lead.source_id, "received_at": iso(lead.received_at), "offer_id": offer_id},
        )  # fmt: skip
        day = local_day(now, self.timezone)
        return self.offers.accept(offer, lead, decision, event, day, self.sla_queue, roster_version=roster_version)

    def decline(self, agent_id: str, offer_id: str, note: str | None = None) -> Lead:
        """The agent passes; the lead goes back to routing."""
        offer, lead = self._open(agent_id, offer_id)
        reason = f"{agent_id} declined offer {offer_id}" + (f": {note}" if note else "")
        settled = self._pass(offer, lead, "declined", DECLINED_TRIGGER, reason, check_out=None, streak=0)
        if settled is not Settled.DONE:
            raise Refused("offer_closed", f"offer {offer_id} was settled meanwhile (accepted or expired)")
        fresh = self.leads.get(lead.lead_id, consistent=True)
        assert fresh is not None
        return fresh

    def expire_due(self, limit: int = 100) -> ExpiryReport:
        """Expire every offer whose time is up (the every-minute tick). Idempotent: an offer
        accepted, declined or expired by another tick meanwhile is left as it is."""
        now = self.clock.now()
        report = ExpiryReport()
        due = self.offers.open_offers(until=now, limit=limit)
        if not due:
            return report
        pools = self.org.load_roster().pools
        for offer in due:
            self._expire(offer, pools, report)
        return report

    def expire_one(self, agent_id: str, offer_id: str) -> ExpiryReport:
        """The offer's own timer fired (routing/offer_timer.py): expire it if it is still open and
        its time is up. Idempotent: accepted, declined or expired meanwhile (the tick, a timer
        delivered twice) is a no-op, and a timer early by the clocks' skew leaves it to the tick."""
        report = ExpiryReport()
        offer = self.offers.get(agent_id, offer_id)
        if offer is None:
            report.already_settled += 1
            return report
        if self.clock.now() < offer.expires_at:
            return report
        self._expire(offer, self.org.load_roster().pools, report)
        return report

    def withdraw_dead(self, agent_id: str | None = None) -> ExpiryReport:
        """Pass on at once every open offer (of `agent_id`, or of everyone) whose agent can no longer
        accept it on the current roster (`_cannot_take`), rather than at its expiry: after a leave,
        a ban, a removal or a pool change, and on the every-minute tick for whatever changed some
        other way. A withdrawal is not the agent's doing: their expiry streak stays as it was.
        Idempotent: an offer settled meanwhile is left as it is (`already_settled`)."""
        report = ExpiryReport()
        offers = self.offers.for_agent(agent_id) if agent_id is not None else self.offers.open_offers()
        if not offers:
            return report
        roster = self.org.load_roster()
        now = self.clock.now()
        for offer in offers:
            why = _cannot_take(roster, offer, max(now, offer.offered_at))
            if why is None:
                continue
            lead = self.leads.get(offer.lead_id, consistent=True)
            if lead is None or lead.offer_id != offer.offer_id:
                report.already_settled += 1
                continue
            reason = f"offer {offer.offer_id} to {offer.agent_id} withdrawn: {offer.agent_id} {why}"
            settled = self._pass(offer, lead, "withdrawn", WITHDRAWN_TRIGGER, reason, check_out=None, streak=0)
            if settled is Settled.DONE:
                report.withdrawn += 1
                report.lead_ids.append(offer.lead_id)
            else:
                report.already_settled += 1
        return report

    def _expire(self, offer: Offer, pools: dict[str, Any], report: ExpiryReport) -> None:
        lead = self.leads.get(offer.lead_id, consistent=True)
        if lead is None or lead.offer_id != offer.offer_id:
            report.already_settled += 1
            return
        pool = pools.get(offer.pool_id) if offer.pool_id else None
        limit_k = pool.checkout_after_expiries if pool else None
        for _ in range(self.max_attempts):
            streak = self.offers.expiry_streak(offer.agent_id)
            check_out = None
            if limit_k is not None and streak + 1 >= limit_k:
                check_out = (f"checked out automatically: let {streak + 1} offers expire in a row "
                             f"(pool {offer.pool_id} checks out after {limit_k})")  # fmt: skip
            reason = f"offer {offer.offer_id} to {offer.agent_id} expired at {iso(offer.expires_at)} unanswered"
            settled = self._pass(offer, lead, "expired", EXPIRED_TRIGGER, reason, check_out, streak)
            if settled is Settled.DONE:
                report.expired += 1
                report.lead_ids.append(offer.lead_id)
                if check_out is not None:
                    report.checked_out.append(offer.agent_id)
                    self.org.roster_moved()
                return
            if settled is Settled.OFFER_CLOSED:
                report.already_settled += 1
                return

    def _pass(
        self, offer: Offer, lead: Lead, kind: str, trigger: str, reason: str, check_out: str | None, streak: int
    ) -> Settled:
        now = max(self.clock.now(), offer.offered_at)
        decision = self._decision(offer, kind, trigger, reason, now)
        if check_out is not None:
            decision.reason += f"; {check_out}"
        event = TimelineEvent(
            event_id=decision.decision_id, lead_id=lead.lead_id, at=now, kind=TimelineKind.OFFER_PASSED.value,
            actor=offer.agent_id if kind == "declined" else "system", summary=f"{kind}: {reason}",
            data={"agent_id": offer.agent_id, "offer_id": offer.offer_id, "pool_id": offer.pool_id, "how": kind,
                  "checked_out": check_out is not None, "source_id": lead.source_id},
        )  # fmt: skip
        passing = Pass(kind=kind, streak_seen=streak, check_out_reason=check_out)
        return self.offers.pass_on(offer, lead, decision, event, local_day(now, self.timezone), passing)
