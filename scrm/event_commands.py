"""`scrm events`: list the stored webhook deliveries (failed ones above all) and replay them."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click
from beanie import PydanticObjectId
from bson.errors import InvalidId
from rich.console import Console
from rich.table import Table

from scrm import raw_events
from scrm.command_context import run_with_database
from scrm.models import RawEvent, RawEventStatus

STATUSES = [status.value for status in RawEventStatus]


@click.group()
def events() -> None:
    """Stored webhook deliveries: list them, replay failed ones."""


@events.command("list")
@click.option("--status", type=click.Choice(STATUSES), help="Only deliveries in this state.")
@click.option("--platform", help="Only deliveries from this platform (telegram, wechat, meta, …).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True, help="At most this many.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line instead of a table.")
def list_events(status: str | None, platform: str | None, limit: int, as_json: bool) -> None:
    """List deliveries, newest first, with their state, attempts and error."""
    query: dict[str, Any] = {}
    if status:
        query["status"] = status
    if platform:
        query["platform"] = platform
    rows = run_with_database(lambda _: _list(query, limit))
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    table = Table("id", "platform", "event id", "status", "attempts", "received", "error", title="Webhook deliveries")
    for row in rows:
        error = row["error"][:80]
        table.add_row(row["id"], row["platform"], row["event_id"], row["status"], str(row["attempts"]),
                      row["received_at"][:19], error)  # fmt: skip
    Console().print(table)
    if not rows:
        click.echo("No delivery matches.", err=True)


@events.command("replay")
@click.argument("ids", nargs=-1)
@click.option("--failed", "all_failed", is_flag=True, help="Replay every failed delivery.")
def replay_events(ids: tuple[str, ...], all_failed: bool) -> None:
    """Put deliveries back in the queue (by id, or every failed one): the worker processes them again."""
    if bool(ids) == all_failed:
        raise click.UsageError("Give delivery ids, or --failed (not both).")
    try:
        chosen = [PydanticObjectId(value) for value in ids]
    except (InvalidId, TypeError):
        raise click.UsageError("A delivery id is 24 hexadecimal characters, as `scrm events list` shows.") from None
    count = run_with_database(lambda _: _replay(chosen, all_failed))
    if not count:
        click.echo("Nothing to replay (only failed or processed deliveries can be).")
        return
    click.echo(f"{count} {'delivery' if count == 1 else 'deliveries'} queued again.")


async def _list(query: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    found = await RawEvent.find(query).sort("-received_at").limit(limit).to_list()
    return [_row(event) for event in found]


async def _replay(ids: list[PydanticObjectId], all_failed: bool) -> int:
    chosen = await raw_events.failed_ids() if all_failed else ids
    return await raw_events.replay(chosen)


def _row(event: RawEvent) -> dict[str, Any]:
    received: datetime = event.received_at
    return {
        "id": str(event.id),
        "channel_id": str(event.channel_id),
        "platform": event.platform,
        "event_id": event.event_id,
        "status": event.status.value,
        "attempts": event.attempts,
        "received_at": received.isoformat(),
        "error": event.error,
        "size": len(event.body),
    }
