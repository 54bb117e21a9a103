"""The REST API: webhooks for lead sources, Cognito-protected resources for the frontend."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from leadrelay.definitions import BINARY_MEDIA_TYPES
from leadrelay_infra.config import StageConfig
from leadrelay_infra.constants import (
    API_FUNCTION,
    COGNITO_RESOURCES,
    HOOK_METHODS,
    HOOKS_PATH,
    PUBLIC_DOC_RESOURCES,
    SOURCE_ID_PARAM,
    USER_POOL_ADMIN_ACTIONS,
)
from leadrelay_infra.constructs.data import DataTables
from leadrelay_infra.constructs.function import LeadRelayFunction
from leadrelay_infra.nag import acknowledge
from leadrelay_infra.permissions import grant_tables


def _path_parameters(path: str) -> dict[str, bool]:
    """Required path parameters of a resource path, for the request validator."""
    return {
        f"method.request.path.{part.strip('{}')}": True
        for part in path.split("/")
        if part.startswith("{") and not part.endswith("+}")
    }


class Api(Construct):
    """REST API `leadrelay-<stage>`: `/hooks/{source_id}` → ingest, everything else → api λ."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        layer: lambda_.ILayerVersion,
        data: DataTables,
        environment: dict[str, str],
        ingest_function: lambda_.IFunction,
        user_pool: cognito.IUserPool,
    ) -> None:
        super().__init__(scope, construct_id)
        folder, handler = API_FUNCTION
        self.handler = LeadRelayFunction(
            self,
            "Handler",
            config=config,
            folder=folder,
            handler=handler,
            layer=layer,
            environment=environment,
            description="REST API for the frontend: leads, agents, rules, sources, reports",
        )
        self.function = self.handler.function
        grant_tables(data, self.function, "api")  # only the actions it calls (permissions.py)
        # People admin and the TOTP check: the few admin calls it makes, on this pool only.
        user_pool.grant(self.function, *USER_POOL_ADMIN_ACTIONS)
        self.function.add_environment("USER_POOL_ID", user_pool.user_pool_id)
        self.function.add_environment("ACCESS_LOG_RETENTION_DAYS", str(config.access_log_retention_days))

        self.authorizer = apigateway.CognitoUserPoolsAuthorizer(
            self, "Authorizer", cognito_user_pools=[user_pool], results_cache_ttl=cdk.Duration.minutes(5)
        )
        self.access_log = logs.LogGroup(
            self, "AccessLog", retention=config.log_retention, removal_policy=config.removal_policy
        )
        self.rest_api = apigateway.RestApi(
            self,
            "RestApi",
            rest_api_name=f"leadrelay-{config.stage}",
            description="LeadRelay: lead-source webhooks and the frontend's API",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            # Bodies of these types reach Lambda base64-encoded, bytes intact, as on the local gateway.
            binary_media_types=list(BINARY_MEDIA_TYPES),
            # Cognito unless a method says otherwise (only the webhooks and CORS preflight do).
            default_method_options=apigateway.MethodOptions(
                authorizer=self.authorizer, authorization_type=apigateway.AuthorizationType.COGNITO
            ),
            # Access/execution logging needs the account-level CloudWatch role for API Gateway.
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=cdk.RemovalPolicy.RETAIN,
            deploy_options=apigateway.StageOptions(
                stage_name=config.stage,
                tracing_enabled=True,
                access_log_destination=apigateway.LogGroupLogDestination(self.access_log),
                access_log_format=apigateway.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                logging_level=apigateway.MethodLoggingLevel.ERROR,
                # Request/response bodies carry PII: never log them.
                data_trace_enabled=False,
                metrics_enabled=False,
                throttling_rate_limit=config.api_rate_limit,
                throttling_burst_limit=config.api_burst_limit,
                # Webhooks get their own throttle: a flood of bad-key posts to /hooks/* uses up
                # the hooks' allowance, never the app's (the REST routes keep the stage's).
                method_options={
                    f"/{HOOKS_PATH}/{{{SOURCE_ID_PARAM}}}/{http_method}": apigateway.MethodDeploymentOptions(
                        throttling_rate_limit=config.hooks_rate_limit,
                        throttling_burst_limit=config.hooks_burst_limit,
                    )
                    for http_method in HOOK_METHODS
                },
            ),
            default_cors_preflight_options=apigateway.CorsOptions(
                allow_origins=list(config.cors_allow_origins),
                allow_methods=apigateway.Cors.ALL_METHODS,
                allow_headers=[*apigateway.Cors.DEFAULT_HEADERS, "Idempotency-Key"],
                max_age=cdk.Duration.hours(1),
            ),
        )
        # The gateway rejects requests missing a declared path parameter. Methods declare no
        # body models: bodies are validated by the handlers' pydantic models (one schema, also
        # served as OpenAPI), so body validation here only applies if a model is ever added.
        self.validator = apigateway.RequestValidator(
            self,
            "RequestValidator",
            rest_api=self.rest_api,
            validate_request_parameters=True,
            validate_request_body=True,
        )

        self._json_gateway_errors()
        self._add_hooks(ingest_function)
        self._add_cognito_routes()
        self._add_public_docs()
        self._acknowledge_preflight()
        if config.waf_enabled:
            self.web_acl = self._add_web_acl(config)
        else:
            acknowledge(
                self.rest_api,
                "AwsSolutions-APIG3",
                "No WAF web ACL by default: it costs about ₹600 a month, more than the whole stack "
                "at SME volumes; `-c waf=true` adds one (per-IP rate rule, AWS managed common "
                "rules). Without it, stage and per-method throttling cap abuse and webhooks check "
                "the source key.",
            )
        cfn_role = self.rest_api.node.find_child("CloudWatchRole")
        acknowledge(
            cfn_role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "The account-level role API Gateway uses to write access/execution logs; this managed "
            "policy is the one AWS documents for it and grants logging actions only.",
        )

    def _add_web_acl(self, config: StageConfig) -> wafv2.CfnWebACL:
        """Per-IP rate limit (a flooding address is blocked, other providers go on) and the AWS
        managed common rule set, on the API's stage."""

        def visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
            return wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=False
            )

        web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=visibility(f"leadrelay-{config.stage}-waf"),
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="PerIpRate",
                    priority=0,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            aggregate_key_type="IP", limit=config.waf_rate_limit_per_5_min
                        )
                    ),
                    visibility_config=visibility("per-ip-rate"),
                ),
                wafv2.CfnWebACL.RuleProperty(
                    name="AwsCommonRules",
                    priority=1,
                    override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                            vendor_name="AWS",
                            name="AWSManagedRulesCommonRuleSet",
                            # CSV imports and some providers' posts exceed the rule set's 8 KB body
                            # limit: count those instead of blocking them.
                            rule_action_overrides=[
                                wafv2.CfnWebACL.RuleActionOverrideProperty(
                                    name="SizeRestrictions_BODY",
                                    action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={}),
                                )
                            ],
                        )
                    ),
                    visibility_config=visibility("aws-common-rules"),
                ),
            ],
        )
        wafv2.CfnWebACLAssociation(
            self, "WebAclAssociation", resource_arn=self.rest_api.deployment_stage.stage_arn,
            web_acl_arn=web_acl.attr_arn,
        )  # fmt: skip
        return web_acl

    @property
    def url(self) -> str:
        return self.rest_api.url

    def _integration(self, function: lambda_.IFunction) -> apigateway.LambdaIntegration:
        return apigateway.LambdaIntegration(function, proxy=True, allow_test_invoke=False)

    # Errors the gateway answers itself (refused token, throttling, oversized body…) in the same
    # `{"error", "message"}` shape as every handler answer (CONTRACT.md: Errors).
    GATEWAY_ERRORS = {
        apigateway.ResponseType.UNAUTHORIZED: "unauthorized",
        apigateway.ResponseType.ACCESS_DENIED: "forbidden",
        apigateway.ResponseType.MISSING_AUTHENTICATION_TOKEN: "not_found",
        apigateway.ResponseType.THROTTLED: "throttled",
        apigateway.ResponseType.EXPIRED_TOKEN: "unauthorized",
        apigateway.ResponseType.UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
        apigateway.ResponseType.REQUEST_TOO_LARGE: "payload_too_large",
        apigateway.ResponseType.BAD_REQUEST_PARAMETERS: "invalid_request",
        apigateway.ResponseType.BAD_REQUEST_BODY: "invalid_request",
        apigateway.ResponseType.DEFAULT_4_XX: "bad_request",
        apigateway.ResponseType.DEFAULT_5_XX: "internal_error",
    }

    def _json_gateway_errors(self) -> None:
        for index, (response_type, code) in enumerate(self.GATEWAY_ERRORS.items()):
            self.rest_api.add_gateway_response(
                f"GatewayError{index}",
                type=response_type,
                templates={"application/json": f'{{"error": "{code}", "message": $context.error.messageString}}'},
            )

    def _add_hooks(self, ingest_function: lambda_.IFunction) -> None:
        hook = self.rest_api.root.add_resource(HOOKS_PATH).add_resource(f"{{{SOURCE_ID_PARAM}}}")
        integration = self._integration(ingest_function)
        for http_method in HOOK_METHODS:
            method = hook.add_method(
                http_method,
                integration,
                authorization_type=apigateway.AuthorizationType.NONE,
                request_validator=self.validator,
                request_parameters=_path_parameters(hook.path),
            )
            reason = (
                "Lead-source webhooks (Facebook, IndiaMART, JustDial, …) cannot carry Cognito "
                "tokens; each source authenticates with its own source key, which the ingest "
                "handler checks against the stored hash before anything is stored."
            )
            acknowledge(method, "AwsSolutions-APIG4", reason)
            acknowledge(method, "AwsSolutions-COG4", reason)

    def _add_cognito_routes(self) -> None:
        integration = self._integration(self.function)
        cognito_options = apigateway.MethodOptions(
            authorizer=self.authorizer, authorization_type=apigateway.AuthorizationType.COGNITO
        )
        for path in COGNITO_RESOURCES:
            resource = self.rest_api.root.resource_for_path(path)
            resource.add_method(
                "ANY",
                integration,
                authorizer=cognito_options.authorizer,
                authorization_type=cognito_options.authorization_type,
                request_validator=self.validator,
                request_parameters=_path_parameters(resource.path),
            )
        # Everything else the api function serves (rules, sources, teams, reports, docs…), and
        # `/` itself (add_proxy would otherwise give the root a MOCK integration).
        self.rest_api.root.add_method(
            "ANY",
            integration,
            authorizer=cognito_options.authorizer,
            authorization_type=cognito_options.authorization_type,
        )
        self.rest_api.root.add_proxy(
            default_integration=integration, any_method=True, default_method_options=cognito_options
        )

    def _add_public_docs(self) -> None:
        """`GET /openapi.json` and `GET /docs` with no authorizer, so a browser opens Swagger UI and a
        generator fetches the document; every other method on them stays behind Cognito."""
        integration = self._integration(self.function)
        for path in PUBLIC_DOC_RESOURCES:
            resource = self.rest_api.root.add_resource(path)
            method = resource.add_method(
                "GET", integration, authorization_type=apigateway.AuthorizationType.NONE,
                request_validator=self.validator,
            )  # fmt: skip
            reason = (
                "The OpenAPI document and Swagger UI describe the API and hold no data; people and client "
                "generators fetch them before they have a token. Every data route stays behind Cognito."
            )
            acknowledge(method, "AwsSolutions-APIG4", reason)
            acknowledge(method, "AwsSolutions-COG4", reason)
            resource.add_method(
                "ANY", integration, authorizer=self.authorizer,
                authorization_type=apigateway.AuthorizationType.COGNITO,
            )  # fmt: skip

    def _acknowledge_preflight(self) -> None:
        reason = (
            "CORS preflight (OPTIONS) requests never carry credentials by design; the mock "
            "integration only returns CORS headers."
        )
        for method in self.rest_api.methods:
            if method.http_method == "OPTIONS":
                acknowledge(method, "AwsSolutions-APIG4", reason)
                acknowledge(method, "AwsSolutions-COG4", reason)
