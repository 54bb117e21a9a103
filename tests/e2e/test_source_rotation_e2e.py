"""Key rotation over HTTP through the local stack, whose ingest keeps its sources warm between
webhooks (capture/source_cache.py): the old key is refused and the new one taken immediately."""

from __future__ import annotations

import uuid
from typing import Any


def _hook(stack: Any, source_id: str, key: str, phone: str) -> Any:
    return stack.post(f"/hooks/{source_id}", json={"name": "Rotation Test", "phone": phone},
                      headers={"X-Api-Key": key})  # fmt: skip


def test_a_rotated_key_is_refused_and_the_new_key_taken_on_the_very_next_webhook(local_stack: Any) -> None:
    # Given a source of its own whose webhooks the warm ingest has already taken (its source cached)
    source_id = f"rotation-{uuid.uuid4().hex[:8]}"
    made = local_stack.post("/sources", as_user="admin",
                            json={"source_id": source_id, "kind": "generic", "name": "Rotation test"})  # fmt: skip
    assert made.status_code == 201, made.text
    old_key = made.json()["key"]
    for n in range(3):
        answer = _hook(local_stack, source_id, old_key, f"90000{n:05d}")
        assert answer.status_code == 202, answer.text
    # When an admin rotates its key over HTTP
    rotated = local_stack.post(f"/sources/{source_id}/rotate-key", as_user="admin",
                               headers={"Idempotency-Key": str(uuid.uuid4())})  # fmt: skip
    assert rotated.status_code == 200, rotated.text
    new_key = rotated.json()["key"]
    # Then the very next webhook with the old key is refused
    refused = _hook(local_stack, source_id, old_key, "9000000100")
    assert refused.status_code == 403 and refused.json()["error"] == "invalid_key", refused.text
    # And the very next one with the new key is taken, and the one after it too
    for phone in ("9000000101", "9000000102"):
        taken = _hook(local_stack, source_id, new_key, phone)
        assert taken.status_code == 202 and taken.json()["outcome"] == "created", taken.text
    # And the old key stays refused
    assert _hook(local_stack, source_id, old_key, "9000000103").status_code == 403


def test_a_disabled_source_refuses_the_very_next_webhook(local_stack: Any) -> None:
    # Given a source of its own, taking webhooks
    source_id = f"disable-{uuid.uuid4().hex[:8]}"
    made = local_stack.post("/sources", as_user="admin",
                            json={"source_id": source_id, "kind": "generic", "name": "Disable test"})  # fmt: skip
    key = made.json()["key"]
    assert _hook(local_stack, source_id, key, "9000000200").status_code == 202
    # When an admin switches it off over HTTP
    patched = local_stack.request("PATCH", f"/sources/{source_id}", as_user="admin", json={"active": False})
    assert patched.status_code == 200, patched.text
    # Then the very next webhook is refused (and kept in quarantine, per the answer's request id)
    refused = _hook(local_stack, source_id, key, "9000000201")
    assert refused.status_code == 403 and refused.json()["error"] == "source_disabled", refused.text
    kept = local_stack.get("/quarantine", as_user="admin")
    assert kept.status_code == 200 and refused.json()["request_id"] in kept.text
