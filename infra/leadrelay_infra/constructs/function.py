"""A LeadRelay Lambda function: arm64, Python 3.13, shared layer, own role and log group."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from build_layer import build_function
from constructs import Construct

from leadrelay.definitions import FUNCTION_TIMEOUT_S
from leadrelay_infra.config import StageConfig
from leadrelay_infra.constants import FUNCTION_MEMORY_MB, FUNCTION_MEMORY_MB_BY_FOLDER, FUNCTIONS_DIR, METRICS_NAMESPACE
from leadrelay_infra.nag import acknowledge

RUNTIME = lambda_.Runtime.PYTHON_3_13
# Never pulled: the local bundler below always succeeds (as the layer's, constructs/layer.py).
_UNUSED_BUNDLING_IMAGE = "public.ecr.aws/sam/build-python3.13:latest"


@jsii.implements(cdk.ILocalBundling)
class LocalFunctionBundling:
    """The function's folder with Python 3.13 unchecked-hash bytecode (infra/build_layer.py
    `build_function`): /var/task is read-only, so without it every cold start compiles the
    function's own modules (~55 ms of CPU for the api's route modules)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def try_bundle(self, output_dir: str, *, image: cdk.DockerImage, **_: object) -> bool:
        build_function(self.folder, Path(output_dir))
        return True


def function_code(folder: str) -> lambda_.Code:
    """The asset of `functions/<folder>`, shipped with bytecode for the runtime."""
    source = FUNCTIONS_DIR / folder
    return lambda_.Code.from_asset(
        str(source),
        exclude=["**/__pycache__", "**/*.pyc", "tests"],
        bundling=cdk.BundlingOptions(
            image=cdk.DockerImage.from_registry(_UNUSED_BUNDLING_IMAGE), local=LocalFunctionBundling(Path(source))
        ),
    )


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
            code=function_code(folder),
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
