"""`scrm inbox reindex`: give messages stored before search existed (or cut by older rules) their search terms."""

from __future__ import annotations

from typing import Any

import click
from pymongo import UpdateOne
from rich.progress import Progress

from scrm.command_context import run_with_database
from scrm.models import Message
from scrm.search_terms import search_terms
from scrm.settings import Settings

BATCH = 1000


@click.group()
def inbox() -> None:
    """The unified inbox's maintenance."""


@click.command("reindex")
@click.option("--all", "everything", is_flag=True, help="Recompute every message's terms, not only missing ones.")
def reindex(everything: bool) -> None:
    """Cut the text of messages into search terms (`search_terms`); by default only those without any.

    Idempotent: a second run finds nothing to do. Messages are read in `_id` order and written in bulk
    batches of 1,000, only where the terms change.
    """

    async def work(_: Settings) -> int:
        return await reindex_messages(everything, progress=True)

    click.echo(f"{run_with_database(work)} messages indexed for search.")


inbox.add_command(reindex)


async def reindex_messages(everything: bool = False, *, progress: bool = False) -> int:
    """Set `search_terms` where it is missing (or, `everything`, wherever it differs); returns how many changed."""
    collection = Message.get_pymongo_collection()
    wanted: dict[str, Any] = {} if everything else {"search_terms": {"$exists": False}, "text": {"$nin": ["", None]}}
    total = await collection.count_documents(wanted)
    changed = 0
    with Progress(disable=not progress) as bar:
        task = bar.add_task("Messages", total=total)
        batch: list[UpdateOne] = []
        async for row in collection.find(wanted, {"text": 1, "search_terms": 1}).sort("_id", 1):
            terms = search_terms(row.get("text") or "")
            if row.get("search_terms") != terms:
                batch.append(UpdateOne({"_id": row["_id"]}, {"$set": {"search_terms": terms}}))
            bar.advance(task)
            if len(batch) >= BATCH:
                changed += (await collection.bulk_write(batch, ordered=False)).modified_count
                batch = []
        if batch:
            changed += (await collection.bulk_write(batch, ordered=False)).modified_count
    return changed
