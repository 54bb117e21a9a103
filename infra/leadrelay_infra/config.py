"""Per-stage settings: what differs between dev and prod, read from CDK context."""

from __future__ import annotations

import re
from dataclasses import dataclass

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

    @property
    def allows_all_origins(self) -> bool:
        return self.cors_allow_origins == ("*",)

    @classmethod
    def from_context(cls, node: Node) -> StageConfig:
        """Read `-c stage=…` (default dev), `-c alarm_email=…`, `-c allowed_origins=a,b`."""
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
        if stage in PROD_STAGES:
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
                **options,
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
