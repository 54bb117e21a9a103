"""Which puller serves which source kind, and the provider URL a source may be pulled from."""

from __future__ import annotations

from leadrelay.models import Source, SourceKind
from leadrelay.pull.puller import Puller, PullFailure


def puller_for(kind: SourceKind) -> Puller | None:
    """The pull client for a source kind, or None when the provider has no pull API here."""
    from leadrelay.pull.housing import HousingPuller
    from leadrelay.pull.indiamart import IndiaMartPuller
    from leadrelay.pull.magicbricks import MagicBricksPuller
    from leadrelay.pull.ninety_nine_acres import NinetyNineAcresPuller

    pullers: dict[SourceKind, Puller] = {
        SourceKind.INDIAMART: IndiaMartPuller(),
        SourceKind.NINETY_NINE_ACRES: NinetyNineAcresPuller(),
        SourceKind.MAGICBRICKS: MagicBricksPuller(),
        SourceKind.HOUSING: HousingPuller(),
    }
    return pullers.get(kind)


def pull_url(source: Source, default: str) -> str:
    """The provider URL to poll: the source's `pull_url` when set (https on the provider's own hosts
    only, `sources/urls.py`), else the documented one. A URL not allowed fails the poll, uncalled."""
    from leadrelay.sources.urls import UrlNotAllowed, provider_url

    try:
        return provider_url(source, "pull_url", default)
    except UrlNotAllowed as exc:
        raise PullFailure("config", UrlNotAllowed.code, str(exc)) from exc
