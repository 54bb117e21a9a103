"""Pull sources: providers whose leads we fetch on a schedule instead of waiting for a webhook.

IndiaMART (CRM API v2), 99acres, MagicBricks and Housing.com offer a pull API. The `PullSources`
schedule calls `SourcePoller.poll_all()` every minute (`leadrelay.pull.poller`); for each active
source whose credentials are configured it

1. claims the source's poll with a conditional write on its poll state (`leadrelay.pull.state`),
   so two overlapping ticks or two Lambda instances never call a provider inside its rate limit;
2. asks the provider (`Puller.fetch`) for the next time window: from where the last successful
   call ended (less a small overlap) up to now, at most the provider's maximum window;
3. hands every record to capture as one synthetic request of its own (`CaptureService.
   capture_trusted`), so each is deduped on the provider's id, stored raw beside its lead, or
   quarantined with the reason: nothing is lost;
4. records the result: on success the window end moves on; on a failure it stays where it was
   (nothing is skipped) and the next call waits, longer after each consecutive failure.

A `Puller` knows one provider: whether a source is configured for it, its limits (`PullPolicy`)
and how to ask for one window. Provider secrets live in the source's `settings`; they are never
logged, and are masked (`***`) in the URL kept with each record.

The package face only re-exports: `policy.py` (windows, limits, per-source settings), `puller.py`
(the puller interface and its results), `registry.py` (kind → puller); `poller.py` runs them,
`state.py` keeps poll state; one module per provider beside them.
"""

from __future__ import annotations

from leadrelay.pull.policy import (
    IST,
    PORTAL_POLICY,
    PullPolicy,
    Window,
    policy_from_settings,
    setting_number,
    setting_str,
)
from leadrelay.pull.puller import MASK, Pulled, Puller, PullFailure, Tally
from leadrelay.pull.registry import pull_url, puller_for

__all__ = [
    "IST",
    "MASK",
    "PORTAL_POLICY",
    "PullFailure",
    "PullPolicy",
    "Pulled",
    "Puller",
    "Tally",
    "Window",
    "policy_from_settings",
    "pull_url",
    "puller_for",
    "setting_number",
    "setting_str",
]
