"""A day of activity on a running demo stack, for the dashboard walkthrough and its screenshot:

    python -m leadrelay.local.dashboard_demo --state-dir .leadrelay [--leads 80] [--seed 7]

Leads arrive through five sources (Google Ads brings the most, IndiaMART the biggest deals), the
stack's clock moves on, agents contact, qualify, win and lose them through the API. Everything goes
through the public API and webhooks, as a real day would; the same seed gives the same day.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import uuid
from pathlib import Path
from typing import Any

from leadrelay.local.route_cli import SimulateError, api_call, stack_access

# source id → (share of leads, chance of a win, deal size range in rupees)
MIX: dict[str, tuple[float, float, tuple[int, int]]] = {
    "google-ads": (0.45, 0.10, (8_000, 25_000)),
    "website": (0.20, 0.22, (40_000, 120_000)),
    "indiamart": (0.15, 0.30, (150_000, 450_000)),
    "justdial": (0.12, 0.12, (15_000, 45_000)),
    "landing-page": (0.08, 0.18, (30_000, 80_000)),
}
PLACES = (("Noida", "hi"), ("Gurugram", "hi"), ("Chennai", "ta"), ("Bengaluru", "kn"), ("Delhi", "hi"))
NAMES = ("Aarav", "Diya", "Ishaan", "Kavya", "Rohan", "Ananya", "Vihaan", "Saanvi", "Arjun", "Meher")


def _body(source: dict[str, Any], number: int, city: str, language: str, name: str) -> dict[str, Any]:
    phone = f"98{number:08d}"
    kind = source["kind"]
    if kind == "google_ads":
        return {"lead_id": f"demo-{uuid.uuid4().hex[:10]}", "api_version": "1.0", "form_id": 1, "campaign_id": 2,
                "google_key": source["google_key"], "is_test": False,
                "user_column_data": [{"column_id": "FULL_NAME", "string_value": name},
                                     {"column_id": "PHONE_NUMBER", "string_value": f"+91{phone}"},
                                     {"column_id": "CITY", "string_value": city}]}  # fmt: skip
    if kind == "indiamart":
        return {"CODE": 200, "STATUS": "SUCCESS",
                "RESPONSE": {"UNIQUE_QUERY_ID": str(10**9 + number), "QUERY_TYPE": "W", "SENDER_NAME": name,
                             "SENDER_MOBILE": f"+91-{phone}", "SENDER_CITY": city,
                             "QUERY_PRODUCT_NAME": "Sealant"}}  # fmt: skip
    if kind == "justdial":
        return {"leadid": f"JD{number}", "name": name, "mobile": phone, "city": city, "category": "Dealers"}
    return {"name": name, "phone": phone, "city": city, "language": language}


def _call(api_url: str, token: str, method: str, path: str, body: Any = None) -> dict[str, Any]:
    status, answer = api_call(api_url, token, method, path, body, 120)
    if status >= 300:
        raise SimulateError(f"{method} {path}: {status} {answer}")
    return answer


def _advance(api_url: str, token: str, minutes: int) -> None:
    """Move the stack's clock (every schedule runs on the way) a quarter of an hour at a time."""
    while minutes > 0:
        step = min(15, minutes)
        _call(api_url, token, "POST", "/_local/clock", {"advance_minutes": step})
        minutes -= step


def _post_lead(api_url: str, source: dict[str, Any], body: dict[str, Any]) -> str | None:
    import urllib.request

    headers = {"Content-Type": "application/json", "X-Api-Key": source["key"]}
    request = urllib.request.Request(f"{api_url}/hooks/{source['id']}", data=json.dumps(body).encode(),
                                     method="POST", headers=headers)  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:
        lead_id = response.headers.get("X-Lead-Id")
        payload = response.read()
    if lead_id:
        return str(lead_id)
    try:
        return str(json.loads(payload)["lead_id"])
    except (ValueError, KeyError):
        return None


def play_day(state_dir: str, leads: int = 80, seed: int = 7) -> dict[str, int]:
    """Leads in the morning, calls through the day, deals by the evening."""
    rng = random.Random(seed)
    api_url, token = stack_access(state_dir)
    info = json.loads((Path(state_dir) / "local.json").read_text())
    sources = {source["id"]: source for source in info["sources"]}
    names, weights = list(MIX), [share for share, _, _ in MIX.values()]
    received: list[tuple[str, str]] = []
    for number in range(leads):
        source_id = rng.choices(names, weights)[0]
        city, language = rng.choice(PLACES)
        lead_id = _post_lead(api_url, sources[source_id], _body(sources[source_id], number, city, language,
                                                               rng.choice(NAMES)))  # fmt: skip
        if lead_id:
            received.append((lead_id, source_id))
        if number % 8 == 7:
            _call(api_url, token, "POST", "/_local/clock", {"advance_minutes": 6})
    # Calls: most leads within the hour, some late, some never.
    waiting = list(received)
    rng.shuffle(waiting)
    contacted: list[tuple[str, str]] = []
    for minutes in (5, 10, 15, 20, 30, 45, 60):
        _advance(api_url, token, minutes)
        batch, waiting = waiting[: max(1, len(waiting) // 3)], waiting[max(1, len(waiting) // 3) :]
        for lead_id, source_id in batch:
            if rng.random() < 0.85:
                _call(api_url, token, "PUT", f"/leads/{lead_id}/status", {"status": "contacted"})
                contacted.append((lead_id, source_id))
    # Outcomes.
    _advance(api_url, token, 30)
    tally = {"received": len(received), "contacted": len(contacted), "won": 0, "lost": 0}
    for lead_id, source_id in contacted:
        _, win_rate, (low, high) = MIX[source_id]
        roll = rng.random()
        if roll < win_rate:
            value = rng.randrange(low, high, 500)
            _call(api_url, token, "PUT", f"/leads/{lead_id}/status", {"status": "won", "value": value})
            tally["won"] += 1
        elif roll < win_rate + 0.25:
            reason = rng.choice(("budget", "bought elsewhere", "not reachable"))
            _call(api_url, token, "PUT", f"/leads/{lead_id}/status", {"status": "lost", "reason": reason})
            tally["lost"] += 1
        elif roll < win_rate + 0.55:
            _call(api_url, token, "PUT", f"/leads/{lead_id}/status", {"status": "qualified"})
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--state-dir", default=".leadrelay")
    parser.add_argument("--leads", type=int, default=80)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    try:
        tally = play_day(args.state_dir, args.leads, args.seed)
    except SimulateError as exc:
        print(f"dashboard demo: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(tally))
    return 0


if __name__ == "__main__":
    sys.exit(main())
