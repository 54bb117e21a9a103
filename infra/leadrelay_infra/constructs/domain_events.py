"""Domain events: the leads stream's new timeline entries → the events function → the bus.

A second event source mapping on the leads stream (the router's is the first; DynamoDB serves two
readers per shard without throttling) with its own filter (`definitions.EVENTS_STREAM`).

Why a function and not an EventBridge Pipe: a Pipe's input template cannot unmarshal a timeline
entry's nested DynamoDB JSON into plain JSON nor drop the person's fields from it, the L2 Pipe
construct is still alpha, and the local stack would have to re-implement the Pipe's transformation;
the function is the same code on AWS and on the laptop, with the router's failure contract
(per-record failures, bisect, on-failure queue).
"""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from leadrelay.definitions import EVENTS_DLQ_ENV, EVENTS_STREAM
from leadrelay_infra.config import StageConfig
from leadrelay_infra.constants import EVENTS_FUNCTION
from leadrelay_infra.constructs.data import DataTables
from leadrelay_infra.constructs.function import LeadRelayFunction
from leadrelay_infra.constructs.routing import stream_event_source


class DomainEvents(Construct):
    """The events function on the leads stream, allowed to put events on the bus and nothing else."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        layer: lambda_.ILayerVersion,
        data: DataTables,
        bus: events.IEventBus,
        environment: dict[str, str],
        dlq: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        # The router's on-failure queue: its messages name the function whose records gave up.
        self.dlq = dlq
        folder, handler = EVENTS_FUNCTION
        self.handler = LeadRelayFunction(
            self,
            "Handler",
            config=config,
            folder=folder,
            handler=handler,
            layer=layer,
            environment={**environment, EVENTS_DLQ_ENV: self.dlq.queue_url},
            description="Domain events: new timeline entries on the leads stream → the EventBridge bus",
        )
        self.function = self.handler.function
        bus.grant_put_events_to(self.function)
        self.event_source = stream_event_source(data, self.dlq, EVENTS_STREAM)
        self.function.add_event_source(self.event_source)
