"""Fixtures for handler tests on moto: the demo organisation and the pipeline driven in-process."""

from __future__ import annotations

from typing import Any

import pytest

from leadrelay.local.demo import seed
from tests.integration.flow import Flow


@pytest.fixture
def demo(aws: dict[str, str]) -> dict[str, Any]:
    """The demo organisation; its sources by id (each with its key and secrets)."""
    result = seed(demo=True)
    return {s["id"]: s for s in result.sources}


@pytest.fixture
def flow(aws: dict[str, str], demo: dict[str, Any]) -> Flow:
    return Flow(aws["LEADS_TABLE"])
