"""`scrm inbox backfill-waiting`: give conversations stored before waiting times existed their `waiting_since`."""

from __future__ import annotations

import click

from scrm.command_context import run_with_database
from scrm.inbox.waiting import backfill_waiting
from scrm.settings import Settings


@click.command("backfill-waiting")
def backfill_waiting_command() -> None:
    """Once after upgrading: conversations whose last message is the contact's wait since it (`sort=waiting`).

    Idempotent: only conversations without the field are touched, so a second run changes nothing.
    """

    async def work(_: Settings) -> int:
        return await backfill_waiting()

    click.echo(f"{run_with_database(work)} older conversations found waiting for an answer.")
