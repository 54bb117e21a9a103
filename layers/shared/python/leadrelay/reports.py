"""Reports over stored leads: where leads come from, first touch and last touch.

A lead is one person; the sources they came through over time are its touches. First-touch
attribution credits the source that brought the person in (the lead's own source); last-touch
credits the source of their latest arrival (the last touchpoint), which is what finally made them
enquire again. Reporting both shows which sources start journeys and which close them.
Pure: the caller loads the leads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from leadrelay.models import Lead, LeadStatus
from leadrelay.models.lead import Touch

# A row of `by_ad_campaign`: the platform (facebook, instagram; else the source kind), the campaign.
AD_CAMPAIGN_FIELDS = ("platform", "campaign_id", "campaign_name")


@dataclass
class _Tally:
    leads: int = 0
    won: int = 0
    lost: int = 0
    open: int = 0
    kinds: set[str] = field(default_factory=set)

    def add(self, lead: Lead) -> None:
        self.leads += 1
        if lead.closed_as == LeadStatus.WON:
            self.won += 1
        elif lead.closed_as == LeadStatus.LOST:
            self.lost += 1
        else:
            self.open += 1


def _campaign(touch: Touch) -> tuple[str, str]:
    tags = touch.attribution
    return (tags.utm_source or "(none)", tags.utm_campaign or "(none)")


def _ad_campaign(touch: Touch) -> tuple[str, str, str] | None:
    """The ad platform's campaign (Google's and Meta's campaign id and name, Meta's platform), for
    leads whose provider sent one; None for leads that carry only UTM tags."""
    tags = touch.attribution
    if not (tags.campaign_id or tags.campaign_name):
        return None
    return (tags.platform or touch.source_kind, tags.campaign_id or "(none)", tags.campaign_name or "(none)")


def _rows(tallies: dict[Any, _Tally], names: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = []
    for key, tally in tallies.items():
        row = dict(zip(names, key if isinstance(key, tuple) else (key,), strict=True))
        row.update(leads=tally.leads, won=tally.won, lost=tally.lost, open=tally.open,
                   win_rate=round(tally.won / tally.leads, 4) if tally.leads else 0.0)  # fmt: skip
        rows.append(row)
    return sorted(rows, key=lambda r: (-r["leads"], *(str(r[n]) for n in names)))


def attribution_report(leads: Iterable[Lead], kinds: dict[str, str] | None = None) -> dict[str, Any]:
    """Leads by first-touch and by last-touch source (and UTM source/campaign), with their
    outcomes; `journeys` counts leads that came back through another source than the first."""
    first: dict[str, _Tally] = {}
    last: dict[str, _Tally] = {}
    first_campaign: dict[tuple[str, str], _Tally] = {}
    last_campaign: dict[tuple[str, str], _Tally] = {}
    first_ad: dict[tuple[str, str, str], _Tally] = {}
    last_ad: dict[tuple[str, str, str], _Tally] = {}
    paths: dict[tuple[str, str], int] = {}
    total = returning = cross_source = 0
    for lead in leads:
        total += 1
        start, end = lead.first_touch(), lead.latest_touch()
        first.setdefault(start.source_id, _Tally()).add(lead)
        last.setdefault(end.source_id, _Tally()).add(lead)
        first_campaign.setdefault(_campaign(start), _Tally()).add(lead)
        last_campaign.setdefault(_campaign(end), _Tally()).add(lead)
        for touch, tallies in ((start, first_ad), (end, last_ad)):
            ad = _ad_campaign(touch)
            if ad is not None:
                tallies.setdefault(ad, _Tally()).add(lead)
        if lead.touch_count > 1:
            returning += 1
        if end.source_id != start.source_id:
            cross_source += 1
            paths[(start.source_id, end.source_id)] = paths.get((start.source_id, end.source_id), 0) + 1
    first_rows, last_rows = _rows(first, ("source_id",)), _rows(last, ("source_id",))
    journeys = [{"first_source_id": a, "last_source_id": b, "leads": n}
                for (a, b), n in sorted(paths.items(), key=lambda p: (-p[1], p[0]))]  # fmt: skip
    for row in (*first_rows, *last_rows):
        row["source_kind"] = (kinds or {}).get(row["source_id"])
    return {
        "leads": total,
        "journeys": {
            "returning": returning,
            "cross_source": cross_source,
            "paths": journeys,
        },
        "first_touch": {
            "by_source": first_rows,
            "by_campaign": _rows(first_campaign, ("utm_source", "utm_campaign")),
            "by_ad_campaign": _rows(first_ad, AD_CAMPAIGN_FIELDS),
        },
        "last_touch": {
            "by_source": last_rows,
            "by_campaign": _rows(last_campaign, ("utm_source", "utm_campaign")),
            "by_ad_campaign": _rows(last_ad, AD_CAMPAIGN_FIELDS),
        },
    }
