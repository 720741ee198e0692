"""`scrm sync <channel_id>` as people run it, against a faked Bot API: progress, waits and a summary."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import respx
from click.testing import CliRunner
from pymongo import MongoClient

from scrm.cli import main
from scrm.db import connect
from tests.conftest import TEST_SECRET_KEY
from tests.platform_fakes import TELEGRAM_CREDENTIALS, make_channel

from .fakes import FakeBotApi


@pytest.fixture
def env(mongo_uri: str, database_name: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The command's environment on a database of its own, dropped afterwards."""
    yield {
        "SCRM_MONGODB_URI": mongo_uri,
        "SCRM_DATABASE": database_name,
        "SCRM_HOME": str(tmp_path / "home"),
        "SCRM_SECRET_KEY": TEST_SECRET_KEY,
    }
    client: MongoClient[dict[str, Any]]
    with MongoClient(mongo_uri) as client:
        client.drop_database(database_name)


def stored_telegram_channel(mongo_uri: str, database_name: str) -> str:
    async def create() -> str:
        database = await connect(mongo_uri, database_name)
        try:
            return str((await make_channel("telegram", TELEGRAM_CREDENTIALS)).id)
        finally:
            await database.close()

    return asyncio.run(create())


def test_scrm_sync_shows_progress_waits_and_a_summary_and_a_rerun_pulls_nothing_new(
    env: dict[str, str], mongo_uri: str, database_name: str
) -> None:
    channel_id = stored_telegram_channel(mongo_uri, database_name)
    bot = FakeBotApi()
    bot.add(30)
    bot.throttle = 1
    with respx.mock(assert_all_called=False) as router:
        bot.mount(router)
        first = CliRunner().invoke(main, ["sync", channel_id], env=env)
        second = CliRunner().invoke(main, ["sync", channel_id], env=env)
    assert first.exit_code == 0, first.output
    assert "Waiting 1 s" in first.output
    assert "30 pulled" in first.output  # the stream's progress line
    assert "updates" in first.output and "Pulled 30 items, 30 of them new." in first.output
    assert second.exit_code == 0, second.output
    assert "Pulled 0 items, 0 of them new." in second.output
    client: MongoClient[dict[str, Any]]
    with MongoClient(mongo_uri) as client:
        assert client[database_name]["messages"].count_documents({}) == 30


def test_scrm_sync_of_an_unknown_channel_says_so(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["sync", "000000000000000000000000"], env=env)
    assert result.exit_code == 1
    assert "No channel 000000000000000000000000" in result.output
