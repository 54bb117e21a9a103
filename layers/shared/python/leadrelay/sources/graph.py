"""A small client for Meta's Graph API: fetch one lead by its `leadgen_id` with the page token.

Standard library only (urllib), with a timeout per call and a bounded number of attempts with
exponential backoff. Network failures, timeouts, 429 and 5xx are retried; other 4xx are not (a
wrong token or a deleted lead will not heal by asking again soon).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from leadrelay.sources.base import FetchNotReady

DEFAULT_GRAPH_URL = "https://graph.facebook.com/v25.0"
# Every documented field of a lead (Graph API reference: User Lead Gen Info) that carries its data,
# time or attribution: without naming them, Graph returns only id, created_time and field_data.
LEAD_FIELDS = (
    "created_time,id,ad_id,ad_name,adset_id,adset_name,campaign_id,campaign_name,form_id,is_organic,platform,"
    "partner_name,retailer_item_id,field_data,custom_disclaimer_responses"
)


class GraphError(FetchNotReady):
    """The lead could not be fetched; `retryable` says whether asking again later may help."""

    def __init__(self, message: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


def fetch_lead(
    leadgen_id: str,
    token: str,
    *,
    graph_url: str = DEFAULT_GRAPH_URL,
    timeout_s: float = 3.0,
    attempts: int = 3,
    backoff_s: float = 0.2,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """`GET {graph_url}/{leadgen_id}?access_token=…&fields=…` as a dict, or `GraphError`."""
    if not graph_url.lower().startswith(("https://", "http://")):  # never file:// or another scheme urllib knows
        raise GraphError("the Graph URL must be an https URL", retryable=False)
    url = f"{graph_url.rstrip('/')}/{quote(leadgen_id, safe='')}?" + urlencode(
        {"access_token": token, "fields": LEAD_FIELDS}
    )
    last = "no attempt made"
    for attempt in range(max(attempts, 1)):
        if attempt:
            sleep(backoff_s * (2 ** (attempt - 1)))
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as response:  # the URL comes from configuration
                data = json.loads(response.read().decode("utf-8"))
            if not isinstance(data, dict):
                raise GraphError("the Graph API answered with something other than a JSON object", retryable=False)
            return data
        except urllib.error.HTTPError as exc:
            last = f"the Graph API answered {exc.code}"
            if exc.code != 429 and exc.code < 500:
                raise GraphError(last, retryable=False) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            last = f"the Graph API did not answer ({type(exc).__name__})"
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            last = "the Graph API answered with something that is not JSON"
            raise GraphError(last, retryable=False) from exc
    raise GraphError(f"{last} after {max(attempts, 1)} attempts")
