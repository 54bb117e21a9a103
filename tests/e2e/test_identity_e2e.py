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
