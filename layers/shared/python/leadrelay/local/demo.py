"""Seeding an organisation for the local stack: the demo org with `--demo`, a bare one without.

The demo is a small real-estate and education-loans business with two teams in NCR and the
south. Its default pool's shifts cover all 24 hours and its caps are generous, so a generic lead
posted at any hour is assigned at once; its SLA for first contact is 90 minutes.
"""

from __future__ import annotations

from datetime import time

from leadrelay import wiring
from leadrelay.local.seed import Seed, SeedUser
from leadrelay.models import Agent, Pool, Shift, Source, SourceKind, Team
from leadrelay.models.source import hash_key, new_key
from leadrelay.routing.rules import RuleChain
from leadrelay.sources import SUPPORTED_KINDS
from leadrelay.store.dynamo import client, to_item
from leadrelay.store.org import CONFIG

WEEKDAYS = [0, 1, 2, 3, 4, 5]  # Monday to Saturday
EVERY_DAY = list(range(7))

DEMO_SLA_MINUTES = 90


def _shift(start: str, end: str, days: list[int] = WEEKDAYS) -> Shift:
    return Shift(days=days, start=time.fromisoformat(start), end=time.fromisoformat(end))


DEMO_TEAMS = [
    Team(team_id="ncr", name="NCR (Delhi, Noida, Gurugram)", manager_usernames=["manager-ncr"]),
    Team(team_id="south", name="South (Bengaluru, Chennai, Hyderabad)", manager_usernames=["manager-south"]),
]

DEMO_AGENTS = [
    Agent(agent_id="anjali", name="Anjali Verma", team_id="ncr", languages=["hi", "en"],
          territories=["Noida", "Greater Noida"], shifts=[_shift("09:00", "18:00")], daily_cap=40, soft_cap=30),
    Agent(agent_id="rahul", name="Rahul Singh", team_id="ncr", languages=["hi", "pa", "en"],
          territories=["Delhi", "Gurugram"], shifts=[_shift("12:00", "21:00")], daily_cap=35),
    Agent(agent_id="meera", name="Meera Patel", team_id="ncr", languages=["hi", "gu", "en"],
          territories=["Ghaziabad", "Faridabad"], shifts=[_shift("21:00", "09:00", EVERY_DAY)], daily_cap=50),
    Agent(agent_id="priya", name="Priya Raman", team_id="south", languages=["ta", "en"],
          territories=["Chennai"], shifts=[_shift("09:00", "18:00")], daily_cap=40),
    Agent(agent_id="karthik", name="Karthik Gowda", team_id="south", languages=["kn", "en", "hi"],
          territories=["Bengaluru"], shifts=[_shift("10:00", "19:00")], daily_cap=30, soft_cap=20),
    Agent(agent_id="arjun", name="Arjun Nair", team_id="south", languages=["ml", "te", "en"],
          territories=["Hyderabad", "Kochi"], shifts=[_shift("18:00", "06:00", EVERY_DAY)], daily_cap=50),
    Agent(agent_id="deepa", name="Deepa Iyer", team_id="south", languages=["en", "hi", "ta"],
          territories=[], shifts=[_shift("00:00", "23:59:59", EVERY_DAY)], daily_cap=100),
]  # fmt: skip

DEMO_POOLS = [
    Pool(pool_id="ncr", name="NCR team", team_id="ncr", agent_ids=["anjali", "rahul", "meera"]),
    Pool(pool_id="south", name="South team", team_id="south", agent_ids=["priya", "karthik", "arjun", "deepa"]),
    Pool(pool_id="south-languages", name="Tamil, Kannada, Telugu and Malayalam speakers",
         agent_ids=["priya", "karthik", "arjun", "deepa"]),
    Pool(pool_id="everyone", name="Everyone (default)", agent_ids=[a.agent_id for a in DEMO_AGENTS]),
]  # fmt: skip

DEMO_RULES = RuleChain.model_validate(
    {
        "rules": [
            {
                "rule_id": "south-languages",
                "name": "Tamil, Kannada, Telugu and Malayalam speakers first",
                "when": {"field": "language", "op": "in", "value": ["ta", "kn", "te", "ml"]},
                "pool_id": "south-languages",
                "require_language": True,
                "fall_through": True,
            },
            {
                "rule_id": "ncr",
                "name": "Delhi NCR by city or pincode",
                "when": {
                    "any": [
                        {"field": "city", "op": "in",
                         "value": ["Delhi", "New Delhi", "Noida", "Greater Noida", "Gurugram", "Gurgaon",
                                   "Ghaziabad", "Faridabad"]},
                        {"field": "pincode", "op": "prefix", "value": ["110", "1201", "1220", "2013", "2010"]},
                    ]
                },
                "pool_id": "ncr",
                "fall_through": True,
            },
            {
                "rule_id": "south",
                "name": "South India by city or state",
                "when": {
                    "any": [
                        {"field": "city", "op": "in",
                         "value": ["Bengaluru", "Bangalore", "Chennai", "Hyderabad", "Kochi", "Coimbatore"]},
                        {"field": "state", "op": "in",
                         "value": ["Karnataka", "Tamil Nadu", "Telangana", "Kerala", "Andhra Pradesh"]},
                    ]
                },
                "pool_id": "south",
                "fall_through": True,
            },
        ],
        "default_pool_id": "everyone",
    }
)  # fmt: skip

_SOURCE_NAMES = {
    SourceKind.GENERIC: ("website", "Website enquiry form"),
    SourceKind.WEB_FORM: ("landing-page", "Campaign landing page"),
    SourceKind.GOOGLE_ADS: ("google-ads", "Google Ads lead form"),
    SourceKind.INDIAMART: ("indiamart", "IndiaMART Lead Manager"),
    SourceKind.JUSTDIAL: ("justdial", "JustDial"),
    SourceKind.META_LEAD_ADS: ("facebook-leads", "Facebook / Instagram Lead Ads"),
    SourceKind.WHATSAPP: ("whatsapp", "WhatsApp Business"),
    SourceKind.RAZORPAY: ("razorpay", "Razorpay payment links"),
    # Property portals, with no pull credentials: the local stack never calls the internet, and
    # they still take pushed records (docs/sources.md, Pull sources).
    SourceKind.NINETY_NINE_ACRES: ("99acres", "99acres responses"),
    SourceKind.MAGICBRICKS: ("magicbricks", "MagicBricks leads"),
    SourceKind.HOUSING: ("housing", "Housing.com builder leads"),
}
# Provider secrets each kind needs (CONTRACT.md: Source kinds), made fresh at every start and
# printed in local.json beside the key.
_SECRETS = {
    SourceKind.GOOGLE_ADS: ("google_key",),
    SourceKind.META_LEAD_ADS: ("app_secret", "verify_token"),
    SourceKind.WHATSAPP: ("app_secret", "verify_token"),
    SourceKind.RAZORPAY: ("webhook_secret",),
}


def _put_org_settings(sla_minutes: int) -> None:
    settings = wiring.org_repository()
    client().put_item(
        TableName=settings.table,
        Item=to_item({"pk": CONFIG, "sk": "ORG", "name": "LeadRelay demo", "timezone": "Asia/Kolkata",
                      "first_contact_sla_minutes": sla_minutes}),
    )  # fmt: skip


def _sources(kinds: tuple[SourceKind, ...]) -> list[dict[str, str]]:
    org = wiring.org_repository()
    printed = []
    for kind in kinds:
        source_id, name = _SOURCE_NAMES.get(kind, (kind.value, kind.value))
        key = new_key()
        secrets = {secret: new_key() for secret in _SECRETS.get(kind, ())}
        settings: dict[str, str] = dict(secrets)
        if kind is SourceKind.META_LEAD_ADS:
            # The local stack's stand-in Graph API serves this token (local/graph_standin.py).
            settings["page_access_token"] = "demo-page-token"
        org.put_source(Source(source_id=source_id, kind=kind, name=name, key_hash=hash_key(key), settings=settings))
        printed.append({"id": source_id, "key": key, "kind": kind.value, **secrets})
    return printed


def seed(demo: bool) -> Seed:
    """Write the organisation into the org table and say which sources and users exist."""
    org = wiring.org_repository()
    users = [SeedUser(username="admin", role="admin")]
    if not demo:
        _put_org_settings(DEMO_SLA_MINUTES)
        return Seed(sources=_sources((SourceKind.GENERIC,)), users=users)
    for team in DEMO_TEAMS:
        org.put_team(team)
        users.extend(SeedUser(username=u, role="manager", team_id=team.team_id) for u in team.manager_usernames)
    for agent in DEMO_AGENTS:
        org.put_agent(agent)
        users.append(SeedUser(username=agent.agent_id, role="agent", team_id=agent.team_id, agent_id=agent.agent_id))
    for pool in DEMO_POOLS:
        org.put_pool(pool)
    org.publish_rule_chain(DEMO_RULES)
    _put_org_settings(DEMO_SLA_MINUTES)
    return Seed(sources=_sources(SUPPORTED_KINDS), users=users)
