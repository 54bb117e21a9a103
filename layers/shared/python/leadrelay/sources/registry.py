"""Which adapter serves which source kind. Each provider's module is imported the first time a
request of its kind arrives: a webhook loads only its own provider's adapter (cold start)."""

from __future__ import annotations

from importlib import import_module

from leadrelay.models import SourceKind
from leadrelay.sources.base import SourceAdapter

# kind → (module under leadrelay.sources, adapter class)
_ADAPTERS: dict[SourceKind, tuple[str, str]] = {
    SourceKind.GENERIC: ("generic", "GenericAdapter"),
    SourceKind.WEB_FORM: ("generic", "GenericAdapter"),
    SourceKind.GOOGLE_ADS: ("google_ads", "GoogleAdsAdapter"),
    SourceKind.INDIAMART: ("indiamart", "IndiaMartAdapter"),
    SourceKind.JUSTDIAL: ("justdial", "JustDialAdapter"),
    SourceKind.META_LEAD_ADS: ("meta", "MetaLeadAdsAdapter"),
    SourceKind.WHATSAPP: ("whatsapp", "WhatsAppAdapter"),
    SourceKind.RAZORPAY: ("razorpay", "RazorpayAdapter"),
    SourceKind.NINETY_NINE_ACRES: ("ninety_nine_acres", "NinetyNineAcresAdapter"),
    SourceKind.MAGICBRICKS: ("magicbricks", "MagicBricksAdapter"),
    SourceKind.HOUSING: ("housing", "HousingAdapter"),
}


def adapter_for(kind: SourceKind) -> SourceAdapter | None:
    """The adapter registered for a source kind, or None if that kind is not supported yet."""
    where = _ADAPTERS.get(kind)
    if where is None:
        return None
    module, name = where
    adapter: SourceAdapter = getattr(import_module(f"leadrelay.sources.{module}"), name)()
    return adapter


SUPPORTED_KINDS = (
    SourceKind.GENERIC,
    SourceKind.WEB_FORM,
    SourceKind.GOOGLE_ADS,
    SourceKind.INDIAMART,
    SourceKind.JUSTDIAL,
    SourceKind.META_LEAD_ADS,
    SourceKind.WHATSAPP,
    SourceKind.RAZORPAY,
    SourceKind.NINETY_NINE_ACRES,
    SourceKind.MAGICBRICKS,
    SourceKind.HOUSING,
)
