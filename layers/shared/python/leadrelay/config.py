"""Settings read from the environment once per process (Lambda env vars, or the local stack)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel, Field


class Settings(BaseModel):
    """What every function needs to know about where it runs."""

    leads_table: str = Field(default="leadrelay-leads", alias="LEADS_TABLE")
    org_table: str = Field(default="leadrelay-org", alias="ORG_TABLE")
    event_bus_name: str = Field(default="leadrelay", alias="EVENT_BUS_NAME")
    stage: str = Field(default="dev", alias="STAGE")
    # The organisation's time zone: days (caps) and shifts are counted in it.
    org_timezone: str = Field(default="Asia/Kolkata", alias="ORG_TIMEZONE")
    # The same phone or email within this many days is a touchpoint on the existing lead.
    dedupe_window_days: int = Field(default=30, alias="DEDUPE_WINDOW_DAYS", ge=0)
    # A provider retry with an identical body (and no external id) within this window is a duplicate.
    retry_window_hours: int = Field(default=48, alias="RETRY_WINDOW_HOURS", ge=1)
    # API Gateway caps payloads at 10 MB; webhooks are small, so refuse anything absurd early.
    max_body_bytes: int = Field(default=256 * 1024, alias="MAX_BODY_BYTES", ge=1024)
    # How often a router retries an assignment that lost a race before giving up on the record.
    max_assign_attempts: int = Field(default=8, alias="MAX_ASSIGN_ATTEMPTS", ge=1)
    # Identity (docs/api.md, Security): the Cognito pool people sign in to, how long a user
    # record is trusted from the per-process cache, and how often an admin's or manager's TOTP
    # enrolment is confirmed again with Cognito.
    user_pool_id: str = Field(default="", alias="USER_POOL_ID")
    user_cache_seconds: float = Field(default=5.0, alias="USER_CACHE_SECONDS", ge=0)
    mfa_recheck_minutes: int = Field(default=15, alias="MFA_RECHECK_MINUTES", ge=1)
    # The access log (who read which lead, in the org table): how long entries are kept.
    access_log_retention_days: int = Field(default=365, alias="ACCESS_LOG_RETENTION_DAYS", ge=1)
    # Provider URL settings (graph_url, pull_url) may also name loopback: only the local stack and
    # the tests set it, for their fake providers on 127.0.0.1 (sources/urls.py).
    provider_urls_allow_loopback: bool = Field(default=False, alias="PROVIDER_URLS_ALLOW_LOOPBACK")

    # DPDP retention (days; the table's `expires_at` TTL deletes the item after): raw copies of
    # requests and quarantined/ignored requests; closed (won/lost) leads, 0 keeping them.
    raw_retention_days: int = Field(default=90, alias="RAW_RETENTION_DAYS", ge=1)
    closed_lead_retention_days: int = Field(default=0, alias="CLOSED_LEAD_RETENTION_DAYS", ge=0)

    # Large exports (definitions.EXPORTS): the bucket, and the function that writes its files.
    exports_bucket: str = Field(default="", alias="EXPORTS_BUCKET")
    export_function_name: str = Field(default="", alias="EXPORT_FUNCTION_NAME")

    model_config = {"populate_by_name": True}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment, parsed once."""
    import os

    return Settings.model_validate(dict(os.environ))


def reset_settings() -> None:
    """Forget the cached settings (tests and the local stack change the environment)."""
    get_settings.cache_clear()
