"""Which adapter serves which source kind (imported on first use: one adapter loads them all)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from leadrelay.models import SourceKind
from leadrelay.sources.base import SourceAdapter

if TYPE_CHECKING:
    pass


def adapter_for(kind: SourceKind) -> SourceAdapter | None:
    """The adapter registered for a source kind, or None if that kind is not supported yet."""
    return _registry().get(kind)


def _registry() -> dict[SourceKind, SourceAdapter]:
    from leadrelay.sources.generic import GenericAdapter
    from leadrelay.sources.google_ads import GoogleAdsAdapter
    from leadrelay.sources.housing import HousingAdapter
    from leadrelay.sources.indiamart import IndiaMartAdapter
    from leadrelay.sources.justdial import JustDialAdapter
    from leadrelay.sources.magicbricks import MagicBricksAdapter
    from leadrelay.sources.meta import MetaLeadAdsAdapter
    from leadrelay.sources.ninety_nine_acres import NinetyNineAcresAdapter
    from leadrelay.sources.razorpay import RazorpayAdapter
    from leadrelay.sources.whatsapp import WhatsAppAdapter

    return {
        SourceKind.GENERIC: GenericAdapter(),
        SourceKind.WEB_FORM: GenericAdapter(),
        SourceKind.GOOGLE_ADS: GoogleAdsAdapter(),
        SourceKind.INDIAMART: IndiaMartAdapter(),
        SourceKind.JUSTDIAL: JustDialAdapter(),
        SourceKind.META_LEAD_ADS: MetaLeadAdsAdapter(),
        SourceKind.WHATSAPP: WhatsAppAdapter(),
        SourceKind.RAZORPAY: RazorpayAdapter(),
        SourceKind.NINETY_NINE_ACRES: NinetyNineAcresAdapter(),
        SourceKind.MAGICBRICKS: MagicBricksAdapter(),
        SourceKind.HOUSING: HousingAdapter(),
    }


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
