"""Fixtures the Meta stories share: the story's present, the Graph API's side of HTTP, the channel and its API
headers, and the story itself (deliveries in, the API, the outbox out)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from scrm.db import Database
from scrm.settings import Settings
from tests.connectors.meta.graph_server import GraphServer
from tests.connectors.meta.stories import CREDENTIALS, Story, graph_server
from tests.platform_fakes import TestChannel as StoredChannel
from tests.platform_fakes import api_headers, make_channel
from tests.story_fixtures import mounted


@pytest.fixture
def start() -> datetime:
    """The story's present: the API and delivery run on the real clock, so deliveries are dated from it."""
    return datetime.now(UTC)


@pytest.fixture
def graph(start: datetime) -> Iterator[GraphServer]:
    """The Graph API's side of HTTP; any call elsewhere fails the test."""
    with mounted(graph_server(start)) as server:
        yield server


@pytest.fixture
async def channel(database: Database) -> StoredChannel:
    return await make_channel("meta", CREDENTIALS)


@pytest.fixture
async def headers(channel: StoredChannel) -> dict[str, str]:
    return await api_headers(channel.workspace_id)


@pytest.fixture
def story(
    client: httpx.AsyncClient,
    settings: Settings,
    graph: GraphServer,
    channel: StoredChannel,
    headers: dict[str, str],
    http: httpx.AsyncClient,
    start: datetime,
) -> Story:
    return Story(client, settings, graph, channel, headers, http, start)
