"""Per-stage settings: what differs between dev and prod, read from CDK context."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_logs as logs
from constructs import Node

from leadrelay_infra.constants import DEFAULT_STAGE

_STAGE_NAME = re.compile(r"^[a-z][a-z0-9-]{1,15}$")
PROD_STAGES = frozenset({"prod"})


@dataclass(frozen=True)
class StageConfig:
    """Settings for one stage. `prod` keeps data; every other stage is disposable."""

    stage: str
    is_prod: bool
    log_retention: logs.RetentionDays
    audit_log_retention: logs.RetentionDays
    removal_policy: cdk.RemovalPolicy
    log_level: str
    api_rate_limit: int
    api_burst_limit: int
    cors_allow_origins: tuple[str, ...]
    alarm_email: str | None = None
    # Production options, priced by `make cost` (docs/deploy.md): a CloudWatch dashboard ($3 a
    # month past the account's 3 free ones) and a customer-managed KMS key for the tables and the
    # alarm topic ($1 a month plus requests). Off by default except in prod; without the key the
    # tables are encrypted with DynamoDB's AWS-managed key. `-c dashboard=true|false -c cmk=true|false`.
    dashboard: bool = False
    customer_managed_key: bool = False
    # Sign-in: how long a refresh token lives (`-c refresh_token_days=N`, default 7).
    refresh_token_days: int = 7
    # Webhooks (`/hooks/*`) have their own method-level throttle, apart from the REST routes.
    hooks_rate_limit: int = 20
    hooks_burst_limit: int = 40
    # AWS WAF web ACL on the API stage (per-IP rate rule + AWS managed common rules):
    # `-c waf=true`; off by default (about ₹600 a month, more than the rest of a small stack).
    waf_enabled: bool = False
    waf_rate_limit_per_5_min: int = 1000
    # How long access-log entries (who read which lead) are kept, in days.
    access_log_retention_days: int = 365
    # The X-Ray SDK in the functions (a subsegment per DynamoDB call): `-c xray_sdk=true`. Off by
    # default: it costs ~30-40 ms of every cold start's CPU and ~0.5-1.6 ms per lead
    # (leadrelay/tracing.py); Lambda's active tracing (each invocation's segment) stays on.
    xray_sdk: bool = False

    @property
    def allows_all_origins(self) -> bool:
        return self.cors_allow_origins == ("*",)

    @classmethod
    def from_context(cls, node: Node) -> StageConfig:
        """Read `-c stage=…` (default dev), `-c alarm_email=…`, `-c allowed_origins=a,b`,
        `-c refresh_token_days=N`, `-c waf=true`, `-c access_log_retention_days=N`."""
        stage = str(node.try_get_context("stage") or DEFAULT_STAGE)
        if not _STAGE_NAME.match(stage):
            raise ValueError(f"stage {stage!r}: use 2-16 lowercase letters, digits or '-'")
        alarm_email = node.try_get_context("alarm_email") or None
        options = {
            "dashboard": _switch(node.try_get_context("dashboard"), default=stage in PROD_STAGES),
            "customer_managed_key": _switch(node.try_get_context("cmk"), default=stage in PROD_STAGES),
        }
        origins_raw = node.try_get_context("allowed_origins")
        origins = tuple(o.strip() for o in str(origins_raw).split(",") if o.strip()) if origins_raw else ()
        refresh_days = int(node.try_get_context("refresh_token_days") or 7)
        if not 1 <= refresh_days <= 3650:
            raise ValueError("refresh_token_days: 1 to 3650")
        waf = _switch(node.try_get_context("waf"), default=False)
        retention_raw = node.try_get_context("access_log_retention_days")
        extra: dict[str, Any] = {"refresh_token_days": refresh_days, "waf_enabled": waf}
        extra["xray_sdk"] = _switch(node.try_get_context("xray_sdk"), default=False)
        if retention_raw:
            extra["access_log_retention_days"] = int(retention_raw)
        if stage in PROD_STAGES:
            if not alarm_email:
                raise ValueError("prod needs someone to tell when a lead may be lost: -c alarm_email=ops@example.in")
            if not origins:
                raise ValueError(
                    "prod needs the frontend's origin(s) for CORS: -c allowed_origins=https://app.example.in"
                )
            return cls(
                stage=stage,
                is_prod=True,
                log_retention=logs.RetentionDays.THREE_MONTHS,
                audit_log_retention=logs.RetentionDays.THIRTEEN_MONTHS,
                removal_policy=cdk.RemovalPolicy.RETAIN,
                log_level="INFO",
                api_rate_limit=100,
                api_burst_limit=200,
                cors_allow_origins=origins,
                alarm_email=alarm_email,
                hooks_rate_limit=50,
                hooks_burst_limit=100,
                **options,
                **extra,
            )
        return cls(
            stage=stage,
            is_prod=False,
            log_retention=logs.RetentionDays.TWO_WEEKS,
            audit_log_retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=cdk.RemovalPolicy.DESTROY,
            log_level="DEBUG",
            api_rate_limit=20,
            api_burst_limit=40,
            cors_allow_origins=origins or ("*",),
            alarm_email=alarm_email,
            **options,
            **extra,
        )


def _switch(value: object, *, default: bool) -> bool:
    """A context switch: true/false (any case), 1/0, yes/no; absent means `default`."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"expected true or false, not {value!r}")
