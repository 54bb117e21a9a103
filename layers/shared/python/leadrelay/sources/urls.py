"""Provider URLs an admin can set on a source (`graph_url`, `pull_url`, and any later `*_url`).

LeadRelay calls these URLs with the source's credentials (a page token, a CRM key) from inside the
customer's AWS account, so a URL an admin (or a stolen admin token) could point anywhere would leak
those credentials or reach internal targets (the instance metadata service, a VPC endpoint, a
`file://` path). Each such setting therefore accepts only `https://` on the provider's own hosts,
default port, no user info; anything else is refused with `url_not_allowed`, when it is set
(the sources API: 422) and again when it is used (the fetch or poll fails without calling out).

The local stack and the tests run fake providers on loopback: with `PROVIDER_URLS_ALLOW_LOOPBACK`
(set by `leadrelay local`, never in a deployment) `http(s)://127.0.0.1|localhost|[::1]` on any port
is allowed too — loopback only, never another private address.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from leadrelay.models import Source, SourceKind

# (source kind, setting) → the hosts that setting may name. A `*_url` setting not listed here is
# not a URL that kind calls, and is refused.
ALLOWED_HOSTS: dict[tuple[SourceKind, str], frozenset[str]] = {
    (SourceKind.META_LEAD_ADS, "graph_url"): frozenset({"graph.facebook.com"}),
    (SourceKind.WHATSAPP, "graph_url"): frozenset({"graph.facebook.com"}),
    (SourceKind.INDIAMART, "pull_url"): frozenset({"mapi.indiamart.com"}),
    (SourceKind.NINETY_NINE_ACRES, "pull_url"): frozenset({"www.99acres.com", "99acres.com"}),
    (SourceKind.MAGICBRICKS, "pull_url"): frozenset({"rating.magicbricks.com", "www.magicbricks.com"}),
    (SourceKind.HOUSING, "pull_url"): frozenset({"pahal.housing.com", "leads.housing.com"}),
}
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_URL = 2000


class UrlNotAllowed(ValueError):
    """A provider URL setting that LeadRelay will not call; the message says why and what is allowed."""

    code = "url_not_allowed"


def is_url_setting(name: str) -> bool:
    """Settings named `…_url` are URLs LeadRelay calls (today `graph_url` and `pull_url`)."""
    return name.lower().endswith("_url")


def check_provider_url(kind: SourceKind, name: str, value: Any, *, allow_loopback: bool = False) -> str:
    """`value` if LeadRelay may call it for this kind's `name` setting, else `UrlNotAllowed`."""
    hosts = ALLOWED_HOSTS.get((kind, name))
    if hosts is None:
        raise UrlNotAllowed(f"a {kind.value} source calls no {name}; remove the setting")
    allowed = f"https:// on {', '.join(sorted(hosts))}"
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_URL:
        raise UrlNotAllowed(f"{name} must be a URL ({allowed})")
    try:
        parts = urlsplit(value.strip())
        host, port = (parts.hostname or "").lower(), parts.port
    except ValueError as exc:
        raise UrlNotAllowed(f"{name} is not a valid URL: {exc}") from exc
    if allow_loopback and host in _LOOPBACK and parts.scheme in ("http", "https"):
        return value.strip()
    if parts.scheme != "https":
        raise UrlNotAllowed(f"{name} must use https, not {parts.scheme or 'no scheme'!r} ({allowed})")
    if parts.username is not None or parts.password is not None:
        raise UrlNotAllowed(f"{name} must not carry a user name or password ({allowed})")
    if host not in hosts:
        raise UrlNotAllowed(f"{name} may only name {kind.value}'s own hosts ({allowed}), not {host or 'no host'!r}")
    if port not in (None, 443):
        raise UrlNotAllowed(f"{name} must use the https port 443, not {port} ({allowed})")
    return value.strip()


def provider_url(source: Source, name: str, default: str) -> str:
    """The URL to call for a source: its `name` setting when set (checked against the allow-list
    again at the moment of use, so a value stored by any path is never called unchecked), else
    the provider's documented default."""
    from leadrelay.config import get_settings

    value = source.settings.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    return check_provider_url(source.kind, name, value, allow_loopback=get_settings().provider_urls_allow_loopback)
