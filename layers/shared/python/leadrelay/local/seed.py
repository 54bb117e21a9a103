"""What seeding an organisation hands back to the local stack: sources to print, users to create."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SeedUser:
    """A person to create in the (local) Cognito user pool."""

    username: str
    role: str  # "admin" | "manager" | "agent"
    team_id: str | None = None
    agent_id: str | None = None


@dataclass
class Seed:
    """The result of seeding: `sources` go into local.json as they are (id, key, kind, secrets)."""

    sources: list[dict[str, Any]] = field(default_factory=list)
    users: list[SeedUser] = field(default_factory=list)
