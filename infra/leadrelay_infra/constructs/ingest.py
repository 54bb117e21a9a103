"""Capture: webhook request → source adapter → normalise → dedupe → store."""

from __future__ import annotations

from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from leadrelay_infra.config import StageConfig
from leadrelay_infra.constants import INGEST_FUNCTION
from leadrelay_infra.constructs.data import DataTables
from leadrelay_infra.constructs.function import LeadRelayFunction
from leadrelay_infra.permissions import grant_tables


class Ingest(Construct):
    """The ingest function: writes leads; only reads the org table (sources, settings)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        layer: lambda_.ILayerVersion,
        data: DataTables,
        environment: dict[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        folder, handler = INGEST_FUNCTION
        self.handler = LeadRelayFunction(
            self,
            "Handler",
            config=config,
            folder=folder,
            handler=handler,
            layer=layer,
            environment=environment,
            description="Webhook capture: adapt, normalise, dedupe and store a lead",
        )
        self.function = self.handler.function
        grant_tables(data, self.function, "ingest")  # only the actions it calls (permissions.py)
