"""`scrm inbox reindex`: give messages and contacts stored before search existed (or cut by older rules) their
search terms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from rich.progress import Progress

from scrm.command_context import run_with_database
from scrm.models import Contact, Message
from scrm.models.contact import SEARCHED_FIELDS, contact_terms
from scrm.search_terms import search_terms
from scrm.settings import Settings

BATCH = 1000


@click.group()
def inbox() -> None:
    """The unified inbox's maintenance."""


@click.command("reindex")
@click.option("--all", "everything", is_flag=True, help="Recompute every message's and contact's terms.")
def reindex(everything: bool) -> None:
    """Cut the text of messages, and contacts' names, handles, emails and phones, into search terms
    (`search_terms`); by default only those without any.

    Idempotent: a second run finds nothing to do. Documents are read in `_id` order and written in bulk
    batches of 1,000, only where the terms change.
    """

    async def work(_: Settings) -> tuple[int, int]:
        return await reindex_messages(everything, progress=True), await reindex_contacts(everything, progress=True)

    messages, contacts = run_with_database(work)
    click.echo(f"{messages} messages and {contacts} contacts indexed for search.")


inbox.add_command(reindex)


async def reindex_messages(everything: bool = False, *, progress: bool = False) -> int:
    """Set `search_terms` where it is missing (or, `everything`, wherever it differs); returns how many changed."""
    wanted: dict[str, Any] = {} if everything else {"search_terms": {"$exists": False}, "text": {"$nin": ["", None]}}
    return await _reindex(
        Message.get_pymongo_collection(),
        wanted,
        {"text": 1, "search_terms": 1},
        lambda row: search_terms(row.get("text") or ""),
        "Messages" if progress else None,
    )


async def reindex_contacts(everything: bool = False, *, progress: bool = False) -> int:
    """Set contacts' `search_terms` where missing (or, `everything`, wherever it differs); returns how many changed."""
    wanted: dict[str, Any] = {} if everything else {"search_terms": {"$exists": False}}
    return await _reindex(
        Contact.get_pymongo_collection(),
        wanted,
        dict.fromkeys((*SEARCHED_FIELDS, "search_terms"), 1),
        contact_terms,
        "Contacts" if progress else None,
    )


async def _reindex(
    collection: AsyncCollection[dict[str, Any]],
    wanted: dict[str, Any],
    projection: dict[str, int],
    terms_of: Callable[[dict[str, Any]], list[str]],
    label: str | None,
) -> int:
    """Write each wanted document's terms where they differ, in `_id` order and bulk batches; return how many changed.

    `label` names the progress bar; None shows none.
    """
    total = await collection.count_documents(wanted)
    changed = 0
    with Progress(disable=label is None) as bar:
        task = bar.add_task(label or "", total=total)
        batch: list[UpdateOne] = []
        async for row in collection.find(wanted, projection).sort("_id", 1):
            terms = terms_of(row)
            if row.get("search_terms") != terms:
                batch.append(UpdateOne({"_id": row["_id"]}, {"$set": {"search_terms": terms}}))
            bar.advance(task)
            if len(batch) >= BATCH:
                changed += (await collection.bulk_write(batch, ordered=False)).modified_count
                batch = []
        if batch:
            changed += (await collection.bulk_write(batch, ordered=False)).modified_count
    return changed
