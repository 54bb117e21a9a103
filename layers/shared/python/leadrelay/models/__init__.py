"""The domain's nouns: leads, agents, teams, pools, sources, routing decisions, timeline events."""

from leadrelay.models.agent import Agent, AgentStatus, Pool, Shift, Strategy, Team
from leadrelay.models.lead import Attribution, Lead, LeadInput, LeadStatus, RoutingState
from leadrelay.models.routing import RoutingDecision, RuleTrace, SkipReason
from leadrelay.models.source import Source, SourceKind
from leadrelay.models.timeline import TimelineEvent, TimelineKind

__all__ = [
    "Agent", "AgentStatus", "Attribution", "Lead", "LeadInput", "LeadStatus", "Pool",
    "RoutingDecision", "RoutingState", "RuleTrace", "Shift", "SkipReason", "Source", "SourceKind",
    "Strategy", "Team", "TimelineEvent", "TimelineKind",
]  # fmt: skip
