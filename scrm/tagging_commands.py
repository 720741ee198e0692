"""`scrm nlp corrections` and `scrm nlp retag`: the NLP commands that need the database.

The `scrm nlp` group itself (classify, train, evaluate) lives in the NLP package, which never touches
MongoDB; these two join it from here.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click
from pymongo import UpdateOne
from rich.progress import Progress

from scrm.command_context import run_with_database
from scrm.contacts.sentiment import recompute_sentiment
from scrm.inbox.latest_tags import rebuild_latest_tags
from scrm.models import Comment, Message, Post, Workspace
from scrm.settings import Settings
from scrm.tag_corrections import HELD_OUT_SHARE, SHARES, TASKS, iter_corrections

BATCH = 500


@click.command("corrections")
@click.option("--task", type=click.Choice(TASKS), required=True, help="Which corrections to export.")
@click.option("--workspace", "workspace_name", default=None, help="Only this workspace's (default: all).")
@click.option(
    "--share",
    type=click.Choice(SHARES),
    default="train",
    show_default=True,
    help=f"train: for `train --with-corrections`; held-out (a fixed {HELD_OUT_SHARE:.0%}): for `evaluate`.",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="File (default: stdout).")
def corrections(task: str, workspace_name: str | None, share: str, out: Path | None) -> None:
    """Export people's corrections as JSON Lines {"text", "label"}.

    The training share feeds `scrm nlp train --with-corrections FILE`; the held-out share, never in it, is
    for `scrm nlp evaluate --data FILE`, to see whether a retrained model learnt what people corrected.
    """

    async def export(_: Settings) -> list[dict[str, str]]:
        workspace_id = None
        if workspace_name is not None:
            workspace = await Workspace.find_one(Workspace.name == workspace_name)
            if workspace is None:
                raise click.UsageError(f"No workspace named {workspace_name!r}")
            workspace_id = workspace.id
        return [row async for row in iter_corrections(task, workspace_id, share)]

    rows = run_with_database(export)
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if out is None:
        click.echo(lines, nl=False)
    else:
        out.write_text(lines, encoding="utf-8")
    click.echo(f"{len(rows)} {task} corrections exported ({share} share).", err=True)


@click.command("retag")
@click.option("--model", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Models folder (default: the shipped models).")  # fmt: skip
def retag(model: Path | None) -> None:
    """Tag every message, comment and post again with the current models (people's corrections are kept)."""
    from scrm.nlp import Tagger

    tagger = Tagger.load(model)

    async def work(_: Settings) -> int:
        total = 0
        with Progress() as progress:
            for document in (Message, Comment, Post):
                collection = document.get_pymongo_collection()
                task = progress.add_task(f"{document.__name__}s", total=await collection.count_documents({}))
                total += await _retag_collection(collection, tagger, lambda n, t=task: progress.advance(t, n))
            contacts = await Message.get_pymongo_collection().distinct("contact_id", {"tags": {"$ne": None}})
            task = progress.add_task("Contacts' sentiment", total=len(contacts))
            for contact_id in contacts:
                await recompute_sentiment(contact_id)
                progress.advance(task)
            await rebuild_latest_tags()
        return total

    click.echo(f"{run_with_database(work)} texts tagged again.")


async def _retag_collection(collection: Any, tagger: Any, advance: Any) -> int:
    done = 0
    batch: list[dict[str, Any]] = []
    async for row in collection.find({}, {"text": 1, "tags": 1}):
        batch.append(row)
        if len(batch) >= BATCH:
            done += await _retag_batch(collection, tagger, batch)
            advance(len(batch))
            batch = []
    if batch:
        done += await _retag_batch(collection, tagger, batch)
        advance(len(batch))
    return done


async def _retag_batch(collection: Any, tagger: Any, rows: list[dict[str, Any]]) -> int:
    tagged = [row for row in rows if str(row.get("text") or "").strip()]
    found = await asyncio.to_thread(tagger.tag_many, [row["text"] for row in tagged])
    updates = [UpdateOne({"_id": row["_id"]}, {"$set": {"tags": _keep_corrections(row.get("tags"), tags.to_dict())}})
               for row, tags in zip(tagged, found, strict=True)]  # fmt: skip
    if updates:
        await collection.bulk_write(updates, ordered=False)
    return len(updates)


def _keep_corrections(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """New tags, except the labels a person set by hand (and the record of what the model had said)."""
    corrected = (old or {}).get("corrected") or {}
    for task in corrected:
        new["corrected"] = {**new.get("corrected", {}), task: new.get(task, "")}
        new[task] = (old or {})[task]
    return new
