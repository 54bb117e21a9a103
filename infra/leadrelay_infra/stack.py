"""The LeadRelay stack for one stage: wiring of the per-concern constructs."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from leadrelay.definitions import EVENT_BUS_ENV
from leadrelay_infra import constants as c
from leadrelay_infra.config import StageConfig
from leadrelay_infra.constructs.api import Api
from leadrelay_infra.constructs.auth import Auth
from leadrelay_infra.constructs.bus import EventBus
from leadrelay_infra.constructs.data import DataKey, DataTables
from leadrelay_infra.constructs.domain_events import DomainEvents
from leadrelay_infra.constructs.exports import Exports
from leadrelay_infra.constructs.followup import Followup
from leadrelay_infra.constructs.ingest import Ingest
from leadrelay_infra.constructs.layer import SharedLayer
from leadrelay_infra.constructs.observability import Observability
from leadrelay_infra.constructs.offer_timers import OfferTimers
from leadrelay_infra.constructs.routing import Routing
from leadrelay_infra.constructs.rule_targets import RuleTargetDlq
from leadrelay_infra.permissions import grant_tables


class LeadRelayStack(cdk.Stack):
    """Capture → route → follow up → serve, for one stage."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        cdk.Tags.of(self).add("app", "leadrelay")
        cdk.Tags.of(self).add("stage", config.stage)

        # The customer-managed key is a production option (StageConfig.customer_managed_key).
        self.key = DataKey(self, c.KEY_ID, config=config).key if config.customer_managed_key else None
        self.data = DataTables(self, c.DATA_ID, config=config, key=self.key)
        self.bus = EventBus(self, c.BUS_ID, config=config)
        self.auth = Auth(self, c.AUTH_ID, config=config)
        layer = SharedLayer(self, c.LAYER_ID, stage=config.stage).layer

        environment = {
            **self.data.environment(),
            EVENT_BUS_ENV: self.bus.bus.event_bus_name,
            "ORG_TIMEZONE": c.ORG_TIMEZONE,
        }
        self.ingest = Ingest(self, c.INGEST_ID, config=config, layer=layer, data=self.data, environment=environment)
        self.routing = Routing(self, c.ROUTING_ID, config=config, layer=layer, data=self.data, environment=environment)
        self.followup = Followup(
            self, c.FOLLOWUP_ID, config=config, layer=layer, data=self.data, environment=environment
        )
        self.api = Api(
            self,
            c.API_ID,
            config=config,
            layer=layer,
            data=self.data,
            environment=environment,
            ingest_function=self.ingest.function,
            user_pool=self.auth.user_pool,
        )
        # `leadrelay login` reads how to sign in from the public OpenAPI document (public values).
        self.api.function.add_environment("USER_POOL_ID", self.auth.user_pool.user_pool_id)
        self.api.function.add_environment("USER_POOL_CLIENT_ID", self.auth.client.user_pool_client_id)
        # Domain events leave through the stream: only the events function may put them on the bus.
        self.domain_events = DomainEvents(
            self, c.DOMAIN_EVENTS_ID, config=config, layer=layer, data=self.data, bus=self.bus.bus,
            environment=environment, dlq=self.routing.dlq,
        )  # fmt: skip
        # Large CSV exports: the bucket and the export function the api invokes asynchronously.
        self.exports = Exports(self, c.EXPORTS_ID, config=config, layer=layer, data=self.data, environment=environment)
        self.exports.connect_api(self.api.function, self.api.handler.role)
        # Every EventBridge rule target in the stack (schedules, audit, later ones) dead-letters here.
        self.rule_target_dlq = RuleTargetDlq(self, c.RULE_TARGET_DLQ_ID, config=config)
        # Offers finer than the minute tick: one-time schedules the events function sets (their
        # undeliverable invocations dead-letter in the same queue, which the DLQ alarm watches).
        self.offer_timers = OfferTimers(
            self, c.OFFER_TIMERS_ID, target=self.followup.function, dlq=self.rule_target_dlq.queue
        )
        self.offer_timers.allow(self.domain_events.function)

        for construct in (self.ingest, self.routing, self.followup, self.api):
            self.data.acknowledge_grants(construct.handler.role)
        # The dashboard's counters and activity feed ride on the events function's stream mapping
        # (a third reader per shard would be throttled): it reads a lead's owner, writes the org table.
        grant_tables(self.data, self.domain_events.function, "events")  # permissions.py
        self.data.acknowledge_grants(self.domain_events.handler.role)

        self.functions: dict[str, lambda_.IFunction] = {
            "ingest": self.ingest.function,
            "route": self.routing.function,
            "followup": self.followup.function,
            "api": self.api.function,
            "events": self.domain_events.function,
            "export": self.exports.function,
        }
        self.observability = Observability(
            self,
            c.OBSERVABILITY_ID,
            config=config,
            key=self.key,
            functions=self.functions,
            route_function=self.routing.function,
            ingest_function=self.ingest.function,
            dlq=self.routing.dlq,
            rest_api=self.api.rest_api,
            dlqs={"StreamDlq": self.routing.dlq, "RuleTargetDlq": self.rule_target_dlq.queue},
            leads_table=self.data.leads,
        )

        outputs = {
            c.OUTPUT_API_URL: (self.api.url, "Base URL of the REST API (webhooks: <url>hooks/<source_id>)"),
            c.OUTPUT_USER_POOL_ID: (self.auth.user_pool.user_pool_id, "Cognito user pool"),
            c.OUTPUT_USER_POOL_CLIENT_ID: (self.auth.client.user_pool_client_id, "Frontend app client"),
            c.OUTPUT_LEADS_TABLE: (self.data.leads.table_name, "Leads table"),
            c.OUTPUT_ORG_TABLE: (self.data.org.table_name, "Org table"),
            c.OUTPUT_EVENT_BUS: (self.bus.bus.event_bus_name, "Domain event bus"),
        }
        for output_id, (value, description) in outputs.items():
            cdk.CfnOutput(self, output_id, value=value, description=description)
