"""What every `scrm` command shares: settings with a clear usage error, and a database for one run."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from pymongo.errors import ServerSelectionTimeoutError
from rich.console import Console

from scrm.db import open_database
from scrm.embedded import EmbeddedMongo, EmbeddedMongoError
from scrm.models.sealed import SecretKeyError
from scrm.settings import Settings, SettingsError

T = TypeVar("T")


def load_settings() -> Settings:
    """Settings from the environment, or a usage error (exit 2) naming the bad variable."""
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None


def run_with_database(work: Callable[[Settings], Awaitable[T]], settings: Settings | None = None) -> T:
    """Run `work` with the database open (SCRM_MONGODB_URI, or the embedded server when it runs)."""
    settings = settings or load_settings()

    async def session() -> T:
        async with open_database(settings):
            return await work(settings)

    try:
        return asyncio.run(session())
    except SecretKeyError as exc:
        raise click.ClickException(str(exc)) from None
    except ServerSelectionTimeoutError:
        where = settings.mongodb_uri or f"the embedded MongoDB on port {settings.mongod_port}"
        raise click.ClickException(
            f"Cannot reach {where}. Start it with `scrm db start` (or run `scrm up`), or set SCRM_MONGODB_URI."
        ) from None


def with_development_key(settings: Settings) -> Settings:
    """Settings with a secret key: SCRM_SECRET_KEY, else (embedded only) a development key kept under SCRM_HOME.

    Channel credentials are sealed with the key, so it must be the same from one run to the next; it is
    generated once, readable by its owner only, and announced so nobody mistakes it for a production setup.
    """
    if settings.secret_key or not settings.embedded:
        return settings
    path = settings.home / "dev-secret-key"
    if not path.exists() or not path.read_text().strip():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(32) + "\n")
        click.echo(f"SCRM_SECRET_KEY is not set: generated a development key in {path}.", err=True)
    else:
        click.echo(f"SCRM_SECRET_KEY is not set: using the development key in {path}.", err=True)
    click.echo("Set SCRM_SECRET_KEY to your own long random value in production.", err=True)
    return dataclasses.replace(settings, secret_key=path.read_text().strip())


def require_secret_key(settings: Settings) -> None:
    """Roles run on their own (serve, webhooks, worker) need the key that seals channel credentials."""
    if not settings.secret_key:
        raise click.UsageError(
            "SCRM_SECRET_KEY is not set: channel credentials are sealed with it. Set the same long random value "
            "in every scrm process (`scrm up` makes a development key by itself)."
        )


def start_embedded(server: EmbeddedMongo) -> None:
    """Start (or reuse) the embedded MongoDB, with a spinner; a clear error when the bundled binary cannot run."""
    console = Console(stderr=True)
    try:
        with console.status("Starting the embedded MongoDB…"):
            started = server.start()
    except EmbeddedMongoError as exc:
        raise click.ClickException(str(exc)) from None
    console.print(f"Embedded MongoDB {'started' if started else 'already running'} at {server.uri}")
