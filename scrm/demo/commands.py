"""`scrm demo load` and `scrm demo traffic`: a living demo workspace, and deliveries arriving at a running scrm."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import click
from rich.console import Console
from rich.progress import Progress

from scrm.channel_access import ChannelAccess, ChannelDirectory
from scrm.command_context import load_settings, run_with_database, start_embedded, with_development_key
from scrm.db import open_database
from scrm.embedded import EmbeddedMongo
from scrm.models import Channel, Workspace
from scrm.models.sealed import SecretBox
from scrm.settings import Settings

console = Console(stderr=True)


@click.group()
def demo() -> None:
    """The demo workspace."""


@demo.command("load")
def demo_load() -> None:
    """Create the demo workspace and replay its history through the pipeline (idempotent)."""
    settings = with_development_key(load_settings())
    if settings.embedded:
        start_embedded(EmbeddedMongo(settings.home, settings.mongod_port))
    load_demo_workspace(settings)
    print_demo_logins(console)


@demo.command("traffic")
@click.option("--rate", type=click.FloatRange(0.1, 5000), default=2.0, show_default=True, help="Deliveries per second.")
@click.option("--duration", type=click.FloatRange(1, 86_400), default=30.0, show_default=True, help="Seconds.")
@click.option("--url", default=None, help="The running scrm (default: SCRM_PUBLIC_URL).")
@click.option("--workspace", "workspace_name", default="demo", show_default=True, help="Whose channels to use.")
def demo_traffic(rate: float, duration: float, url: str | None, workspace_name: str) -> None:
    """Sign and post realistic messages (English and Chinese) to a running scrm's webhooks, as platforms do."""
    from scrm.demo.traffic import DeliveryFactory, send_traffic

    settings = with_development_key(load_settings())
    channels = run_with_database(lambda s: _channels(s, workspace_name), settings)
    factory = DeliveryFactory(channels)
    base = url or settings.public_url
    with Progress(console=console) as progress:
        task = progress.add_task(f"Posting to {base}", total=int(rate * duration))
        report = asyncio.run(send_traffic(base, factory, rate, duration, lambda _: progress.advance(task)))
    codes = ", ".join(f"{code}: {count}" for code, count in sorted(report.statuses.items()))
    console.print(f"Sent {report.sent} deliveries ({codes}); p50 {report.percentile(50):.1f} ms, "
                  f"p99 {report.percentile(99):.1f} ms; {report.errors} connection errors.")  # fmt: skip
    if report.errors or any(code >= 400 for code in report.statuses):
        raise SystemExit(1)


def load_demo_workspace(settings: Settings) -> None:
    """Load the demo workspace (tagging its history with the shipped NLP models) and say what was created."""
    from scrm.demo import load_demo
    from scrm.nlp import Tagger

    async def load() -> dict[str, int]:
        tagger = await asyncio.to_thread(Tagger.load)
        async with open_database(settings):
            box = SecretBox.from_secret_key(settings.secret_key)
            summary = await load_demo(datetime.now(UTC), box, tagger)
        return summary.created

    with console.status("Loading the demo workspace…"):
        created = asyncio.run(load())
    made = ", ".join(f"{n} {kind}" for kind, n in created.items() if n) or "nothing new (already loaded)"
    console.print(f"Demo workspace 'demo' ready: created {made}.")


def print_demo_logins(out: Console) -> None:
    """The demo's logins (owner and agents) with their passwords: for trying scrm out, never for real data."""
    from scrm.demo import demo_logins

    out.print("Log in to the demo as (demo only):")
    for login in demo_logins():
        about = f"{login.name}, {login.role}" + (f" · {login.about}" if login.about else "")
        out.print(f"  {login.email} / {login.password}  ({about})", highlight=False, markup=False)


async def _channels(settings: Settings, workspace_name: str) -> list[ChannelAccess]:
    workspace = await Workspace.find_one(Workspace.name == workspace_name)
    if workspace is None:
        raise click.UsageError(f"No workspace named {workspace_name!r}: run `scrm demo load` first.")
    directory = ChannelDirectory(SecretBox.from_secret_key(settings.secret_key))
    found = [
        await directory.find(str(c.id)) for c in await Channel.find(Channel.workspace_id == workspace.id).to_list()
    ]
    return [channel for channel in found if channel is not None]
