"""Fixtures shared by the connector tests: a fake clock, in-memory stores, the platform notes folder, and the
story of the test module's ``channel`` through the product."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from scrm.settings import Settings
from tests.platform_fakes import TestChannel as StoredChannel
from tests.platform_fakes import api_headers
from tests.story_fixtures import ChannelStory

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


@pytest.fixture
async def story(
    client: httpx.AsyncClient, settings: Settings, channel: StoredChannel, http: httpx.AsyncClient
) -> ChannelStory:
    """The module's ``channel`` through the product, with an admin's API token."""
    return ChannelStory(client, settings, channel, await api_headers(channel.workspace_id), http)
