"""Construct ids, resource names and fixed settings, in one place.

Table layouts, stream settings and schedules are NOT here: they come from
`leadrelay.definitions`, which the local stack reads too.
"""

from __future__ import annotations

from pathlib import Path

REGION = "ap-south-1"
SERVICE = "LeadRelay"
METRICS_NAMESPACE = "LeadRelay"
ORG_TIMEZONE = "Asia/Kolkata"
DEFAULT_STAGE = "dev"

REPO_ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR = REPO_ROOT / "functions"
LAYER_SOURCE_DIR = REPO_ROOT / "layers" / "shared"
LAYER_REQUIREMENTS = LAYER_SOURCE_DIR / "requirements.txt"
LAYER_PACKAGE_DIR = LAYER_SOURCE_DIR / "python" / "leadrelay"

# Environment flag honoured by infra/app.py: synthesize without building the layer (tests, CI).
SKIP_BUNDLING_ENV = "LEADRELAY_SKIP_BUNDLING"
BUNDLING_STACKS_CONTEXT = "aws:cdk:bundling-stacks"


def stack_name(stage: str) -> str:
    return f"{SERVICE}-{stage}"


def bus_name(stage: str) -> str:
    return f"leadrelay-{stage}"


# Construct ids inside the stack.
DATA_ID = "Data"
KEY_ID = "DataKey"
BUS_ID = "Bus"
AUTH_ID = "Auth"
LAYER_ID = "SharedLayer"
INGEST_ID = "Ingest"
ROUTING_ID = "Routing"
FOLLOWUP_ID = "Followup"
API_ID = "Api"
OBSERVABILITY_ID = "Observability"
DOMAIN_EVENTS_ID = "DomainEvents"
RULE_TARGET_DLQ_ID = "RuleTargetDlq"
OFFER_TIMERS_ID = "OfferTimers"
EXPORTS_ID = "Exports"

# Lambda functions: folder under functions/ and handler.
INGEST_FUNCTION = ("ingest", "ingest_handler.handler")
ROUTE_FUNCTION = ("route", "route_handler.handler")
FOLLOWUP_FUNCTION = ("followup", "followup_handler.handler")
API_FUNCTION = ("api", "api_handler.handler")
EVENTS_FUNCTION = ("events", "events_handler.handler")
EXPORT_FUNCTION = ("export", "export_handler.handler")

FUNCTION_MEMORY_MB = 256
# Memory per function, chosen by the latency and cost model in docs/deploy.md: a function gets
# memory/1,769 of a vCPU. Ingest and route get a whole vCPU (1,769 MB): with both cold, their
# init (~330-430 ms of CPU each, measured in the Lambda layout) at 1,024 MB's 0.58 vCPU alone
# would put webhook -> assigned past 2 s on paper; at 1,769 MB it stays under. Only the AWS waits
# are billed at the larger size (the CPU part of the bill does not change): ~₹1 a month at
# 10 x 3,000 (`make cost`). The schedules and the API stay at 256 MB (nobody waits on a tick, and
# an API read is mostly waiting on DynamoDB); the events forwarder likewise.
FUNCTION_MEMORY_MB_BY_FOLDER: dict[str, int] = {
    "ingest": 1769,
    "route": 1769,
    "followup": 256,
    "api": 256,
    "events": 256,
}
# The export function formats CSV for minutes at a time: 512 MB (0.29 vCPU) halves its run time
# for the same GB-seconds; it runs only for exports over the synchronous limit.
FUNCTION_MEMORY_MB_BY_FOLDER["export"] = 512

# Cognito groups, in precedence order (lower wins when a user is in several).
USER_GROUPS: tuple[tuple[str, str], ...] = (
    ("admin", "Everything: org settings, sources, rules, all leads."),
    ("manager", "Their team's leads and agents; reassignment."),
    ("agent", "Their own leads."),
)
# No custom attributes: who a person is (role, agent, team) lives in LeadRelay's user records.
# What the api function may do in the user pool (people admin and the TOTP check).
USER_POOL_ADMIN_ACTIONS = (
    "cognito-idp:AdminCreateUser",
    "cognito-idp:AdminDisableUser",
    "cognito-idp:AdminEnableUser",
    "cognito-idp:AdminUserGlobalSignOut",
    "cognito-idp:AdminGetUser",
)

# REST API resources served by the api function behind Cognito (a {proxy+} catches the rest).
HOOKS_PATH = "hooks"
SOURCE_ID_PARAM = "source_id"
HOOK_METHODS = ("GET", "POST")
COGNITO_RESOURCES: tuple[str, ...] = (
    "leads",
    "leads/{lead_id}",
    "leads/{lead_id}/routing",
    "leads/{lead_id}/timeline",
    "agents",
    "agents/{agent_id}",
    "agents/{agent_id}/availability",
)

# The OpenAPI document and Swagger UI: GET without a token (the document only, no data).
PUBLIC_DOC_RESOURCES: tuple[str, ...] = ("openapi.json", "docs")

# Stack outputs.
OUTPUT_API_URL = "ApiUrl"
OUTPUT_USER_POOL_ID = "UserPoolId"
OUTPUT_USER_POOL_CLIENT_ID = "UserPoolClientId"
OUTPUT_LEADS_TABLE = "LeadsTableName"
OUTPUT_ORG_TABLE = "OrgTableName"
OUTPUT_EVENT_BUS = "EventBusName"
