"""Cognito: people who use the frontend (admins, managers, agents)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from leadrelay_infra.config import StageConfig
from leadrelay_infra.constants import USER_GROUPS
from leadrelay_infra.nag import acknowledge


class Auth(Construct):
    """User pool (admin-created users, email or phone sign-in, TOTP), role groups and the
    frontend's client (SRP only, standard profile attributes writable, nothing else).

    Who a person is to the organisation (role, agent, team) is not in the pool: LeadRelay's
    user records hold it, keyed by the `sub` (docs/api.md, Security). The API requires TOTP of
    admins and managers; agents on shared phones sign in with a password (docs/deploy.md, MFA).
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            user_pool_name=f"leadrelay-{config.stage}",
            self_sign_up_enabled=False,
            # People are invited by email or by phone (agents often have no work email).
            sign_in_aliases=cognito.SignInAliases(email=True, phone=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True, phone=True),
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
            account_recovery=cognito.AccountRecovery.EMAIL_AND_PHONE_WITHOUT_MFA,
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
            # SRP only: the password never leaves the phone (no USER_PASSWORD_AUTH, no admin flow).
            auth_flows=cognito.AuthFlow(user_srp=True),
            disable_o_auth=True,
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            access_token_validity=cdk.Duration.hours(1),
            id_token_validity=cdk.Duration.hours(1),
            refresh_token_validity=cdk.Duration.days(config.refresh_token_days),
            # A signed-in person may edit their own name and locale, nothing else.
            read_attributes=cognito.ClientAttributes().with_standard_attributes(
                fullname=True,
                email=True,
                email_verified=True,
                phone_number=True,
                phone_number_verified=True,
                locale=True,
            ),
            write_attributes=cognito.ClientAttributes().with_standard_attributes(fullname=True, locale=True),
        )
        sms_role = self.user_pool.node.try_find_child("smsRole")
        if sms_role is not None:
            acknowledge(
                sms_role,
                "AwsSolutions-IAM5[Resource::*]",
                "The role Cognito assumes to send invitations and codes by SMS to phone numbers: "
                "sns:Publish to a phone number has no resource ARN to name (CDK's own role, with "
                "an external id condition).",
            )
        acknowledge(
            self.user_pool,
            "AwsSolutions-COG2",
            "MFA is optional in the pool because agents share old Android phones on patchy "
            "networks; the API refuses admins and managers without TOTP (403 mfa_required, "
            "docs/deploy.md).",
        )
        acknowledge(
            self.user_pool,
            "AwsSolutions-COG8",
            "The Plus feature plan (threat protection) is billed per MAU and would dominate the "
            "bill of a 10-agent org; users are admin-created only (no self sign-up), passwords "
            "are strong and TOTP MFA is available.",
        )
