"""A LeadRelay Lambda function: arm64, Python 3.13, shared layer, own role and log group."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from leadrelay.definitions import FUNCTION_TIMEOUT_S
from leadrelay_infra.config import StageConfig
from leadrelay_infra.constants import FUNCTION_MEMORY_MB, FUNCTION_MEMORY_MB_BY_FOLDER, FUNCTIONS_DIR, METRICS_NAMESPACE
from leadrelay_infra.nag import acknowledge

RUNTIME = lambda_.Runtime.PYTHON_3_13


class LeadRelayFunction(Construct):
    """One function with its own least-privilege role; callers add grants to `role`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        folder: str,
        handler: str,
        layer: lambda_.ILayerVersion,
        environment: dict[str, str],
        description: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self, "Logs", retention=config.log_retention, removal_policy=config.removal_policy
        )
        # An explicit role instead of AWSLambdaBasicExecutionRole: logs go to this log group only.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"LeadRelay {config.stage} {folder} function",
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=handler,
            code=lambda_.Code.from_asset(str(FUNCTIONS_DIR / folder), exclude=["**/__pycache__", "**/*.pyc", "tests"]),
            layers=[layer],
            role=self.role,
            memory_size=FUNCTION_MEMORY_MB_BY_FOLDER.get(folder, FUNCTION_MEMORY_MB),
            # The same timeout the local stack gives the handler (`definitions.FUNCTION_TIMEOUT_S`).
            timeout=cdk.Duration.seconds(FUNCTION_TIMEOUT_S[folder]),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            environment={
                "STAGE": config.stage,
                "POWERTOOLS_SERVICE_NAME": folder,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "LOG_LEVEL": config.log_level,
                # Lead data is PII: keep events and responses out of logs and X-Ray metadata.
                "POWERTOOLS_LOGGER_LOG_EVENT": "false",
                "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
                # The X-Ray SDK only with `-c xray_sdk=true` (leadrelay/tracing.py: cold-start cost).
                "POWERTOOLS_TRACE_DISABLED": "false" if config.xray_sdk else "true",
                **environment,
            },
        )
        acknowledge(
            self.function,
            "AwsSolutions-L1",
            "Python 3.13 on purpose: the layer's binary wheels (pydantic-core) are fetched for "
            "cp313 and the test suite runs the handlers against that version; moving to 3.14 is "
            "a tested change to RUNTIME and infra/build_layer.py together.",
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray (xray:PutTraceSegments/PutTelemetryRecords) and dynamodb:ListStreams support no "
            "resource-level permissions; AWS documents Resource '*' for them.",
        )
