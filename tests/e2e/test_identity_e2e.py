"""Identity over HTTP on `leadrelay local --demo`: the demo's tokens work (admin and managers are
enrolled in TOTP), and a disabled person's still-valid token is refused from the next request."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import LocalStackClient

pytestmark = pytest.mark.e2e


def test_the_demo_people_are_who_their_records_say(local_stack: LocalStackClient) -> None:
    me = local_stack.get("/me", as_user="admin").json()
    assert me["role"] == "admin" and me["mfa_enrolled"] is True
    manager = next(u for u in local_stack.info["users"] if u["role"] == "manager")
    assert local_stack.get("/leads", as_user=manager["username"]).status_code == 200
    assert local_stack.get("/me", as_user="arjun").json()["agent_id"] == "arjun"


def test_a_disabled_agent_is_refused_at_once_and_back_when_enabled(local_stack: LocalStackClient) -> None:
    # Given Arjun, signed in, and his user id
    user_id = local_stack.get("/me", as_user="arjun").json()["user_id"]
    assert local_stack.get("/leads", as_user="arjun").status_code == 200
    try:
        # When the admin disables him
        response = local_stack.post(f"/users/{user_id}/disable", as_user="admin", json={"reason": "e2e check"})
        assert response.status_code == 200, response.text
        # Then his next request, with the same valid token, is refused
        refused = local_stack.get("/leads", as_user="arjun")
        assert refused.status_code == 401 and refused.json()["error"] == "user_disabled"
    finally:
        # And once enabled (and made available again) he works as before
        assert local_stack.post(f"/users/{user_id}/enable", as_user="admin").status_code == 200
        local_stack.put("/agents/arjun/availability", as_user="admin", json={"status": "available"})
    assert local_stack.get("/leads", as_user="arjun").status_code == 200


def test_requests_racing_a_disable_are_refused_once_it_has_answered(local_stack: LocalStackClient) -> None:
    import threading
    import time

    # Given Karthik sending requests from four threads as fast as he can
    user_id = local_stack.get("/me", as_user="karthik").json()["user_id"]
    seen: list[tuple[float, int]] = []
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            started = time.monotonic()
            seen.append((started, local_stack.get("/leads", as_user="karthik").status_code))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.3)
        # When the admin disables him mid-stream
        assert local_stack.post(f"/users/{user_id}/disable", as_user="admin", json={"reason": "race"}).ok
        disabled_at = time.monotonic()
        time.sleep(0.3)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        local_stack.post(f"/users/{user_id}/enable", as_user="admin")
        local_stack.put("/agents/karthik/availability", as_user="admin", json={"status": "available"})
    # Then requests before it were served, and every request that started after it was refused
    assert any(status == 200 for started, status in seen if started < disabled_at)
    after = [status for started, status in seen if started > disabled_at]
    assert after and set(after) == {401}
