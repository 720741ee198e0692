"""What every `scrm` command shares: settings with a clear usage error, and a database for one run."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from scrm.db import open_database
from scrm.settings import Settings, SettingsError

T = TypeVar("T")


def load_settings() -> Settings:
    """Settings from the environment, or a usage error (exit 2) naming the bad variable."""
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None


def run_with_database(work: Callable[[Settings], Awaitable[T]]) -> T:
    """Run `work` with the database open (SCRM_MONGODB_URI, or the embedded server when it runs)."""
    settings = load_settings()

    async def session() -> T:
        async with open_database(settings):
            return await work(settings)

    return asyncio.run(session())
