"""Cognito: people who use the frontend (admins, managers, agents)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from leadrelay_infra.config import StageConfig
from leadrelay_infra.constants import CUSTOM_ATTRIBUTES, USER_GROUPS
from leadrelay_infra.nag import acknowledge


class Auth(Construct):
    """User pool (admin-created users, email sign-in), role groups and the frontend's client."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            user_pool_name=f"leadrelay-{config.stage}",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=cdk.Duration.days(3),
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            custom_attributes={
                name: cognito.StringAttribute(mutable=True, min_len=1, max_len=64) for name in CUSTOM_ATTRIBUTES
            },
            removal_policy=config.removal_policy,
            deletion_protection=config.is_prod,
        )
        self.groups = {
            name: cognito.UserPoolGroup(
                self,
                f"Group{name.capitalize()}",
                user_pool=self.user_pool,
                group_name=name,
                description=description,
                precedence=precedence,
            )
            for precedence, (name, description) in enumerate(USER_GROUPS)
        }
        self.client = self.user_pool.add_client(
            "WebClient",
            user_pool_client_name=f"leadrelay-{config.stage}-web",
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_password=True, user_srp=True),
            disable_o_auth=True,
            prevent_user_existence_errors=True,
            access_token_validity=cdk.Duration.hours(1),
            id_token_validity=cdk.Duration.hours(1),
            refresh_token_validity=cdk.Duration.days(30),
        )
        acknowledge(
            self.user_pool,
            "AwsSolutions-COG2",
            "MFA is optional, not required: agents share old Android phones on patchy networks; "
            "admins and managers are asked to enrol TOTP (docs/deploy.md).",
        )
        acknowledge(
            self.user_pool,
            "AwsSolutions-COG8",
            "The Plus feature plan (threat protection) is billed per MAU and would dominate the "
            "bill of a 10-agent org; users are admin-created only (no self sign-up), passwords "
            "are strong and TOTP MFA is available.",
        )
