"""Fixtures shared by the connector tests: a fake clock, in-memory stores, the platform notes folder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from .memory import FakeClock, InMemoryCursorStore, InMemoryTokenStore

PLATFORMS = Path(__file__).parents[2] / ".." / "shared" / "platforms"
SAMPLES = PLATFORMS / "samples"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def token_store() -> InMemoryTokenStore:
    return InMemoryTokenStore()


@pytest.fixture
def cursor_store() -> InMemoryCursorStore:
    return InMemoryCursorStore()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client
