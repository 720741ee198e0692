"""`scrm nlp corrections` exports a training and a held-out share; `scrm nlp retag` tags everything again."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bson import ObjectId
from click.testing import CliRunner
from pymongo import MongoClient
from pymongo.database import Database

from scrm.cli import main
from scrm.nlp import Tagger
from scrm.nlp.training import _text_key
from scrm.tag_corrections import is_held_out

WORST = "This is the worst service ever, I hate it 😡"
RUDE = "太差了，客服态度恶劣，再也不买了"


def _database(env: dict[str, str]) -> tuple[MongoClient[dict[str, Any]], Database[dict[str, Any]]]:
    client: MongoClient[dict[str, Any]] = MongoClient(env["SCRM_MONGODB_URI"])
    return client, client[env["SCRM_DATABASE"]]


def _seed_corrections(env: dict[str, str], texts: list[str]) -> ObjectId:
    workspace_id = ObjectId()
    start = datetime.now(UTC)
    rows = [
        {"workspace_id": workspace_id, "created_at": start, "message_id": ObjectId(), "task": "sentiment",
         "text": text, "predicted": "positive", "label": "negative", "corrected_by": "user:test",
         "corrected_at": start + timedelta(seconds=n), "model_version": "scrm-nlp-0.3.1"}
        for n, text in enumerate(texts)
    ]  # fmt: skip
    client, database = _database(env)
    with client:
        database["workspaces"].insert_one({"_id": workspace_id, "name": "shop", "display_name": "Shop"})
        database["tag_corrections"].insert_many(rows)
    return workspace_id


def _export(share: str, out: Path, *extra: str) -> list[dict[str, str]]:
    result = CliRunner().invoke(
        main, ["nlp", "corrections", "--task", "sentiment", "--share", share, "--out", str(out), *extra]
    )
    assert result.exit_code == 0, result.output
    assert f"({share} share)" in result.output
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_corrections_split_into_a_fixed_training_and_held_out_share(
    database_env: dict[str, str], tmp_path: Path
) -> None:
    texts = [f"order {n} was a mess, again" for n in range(60)] + ["Order 7 was a MESS,   again"]
    _seed_corrections(database_env, texts)
    train = _export("train", tmp_path / "train.jsonl")
    held = _export("held-out", tmp_path / "held.jsonl")
    every = _export("all", tmp_path / "all.jsonl", "--workspace", "shop")
    assert len(every) == 61 and {r["label"] for r in every} == {"negative"}
    assert sorted(r["text"] for r in train + held) == sorted(texts)
    assert [r["text"] for r in held] == [t for t in texts if is_held_out(t)]
    assert 0 < len(held) < len(train)
    # the same words, whatever their case and spacing, are on one side only
    seven = [r for r in train + held if _text_key(r["text"]) == _text_key("order 7 was a mess, again")]
    assert len(seven) == 2 and (seven[0] in held) == (seven[1] in held)
    assert _export("held-out", tmp_path / "again.jsonl") == held  # fixed: the same split every time

    report = CliRunner().invoke(
        main, ["nlp", "evaluate", "--task", "sentiment", "--data", str(tmp_path / "held.jsonl")]
    )
    assert report.exit_code == 0, report.output
    assert "accuracy" in report.output and f"(n={len(held)})" in report.output


def test_texts_training_takes_for_one_are_on_the_same_side() -> None:
    pairs = [("Great, thanks!!", "great thanks"), ("太差了！", "太差了"), ("ORDER 7 late...", "order 7 late")]
    for one, other in pairs:
        assert _text_key(one) == _text_key(other)
        assert is_held_out(one) == is_held_out(other)


def test_corrections_of_an_unknown_workspace_are_a_clear_error(database_env: dict[str, str], tmp_path: Path) -> None:
    _seed_corrections(database_env, ["meh"])
    result = CliRunner().invoke(main, ["nlp", "corrections", "--task", "sentiment", "--workspace", "nope"])
    assert result.exit_code == 2 and "No workspace named 'nope'" in result.output


def test_retag_tags_everything_again_and_keeps_peoples_labels(database_env: dict[str, str]) -> None:
    contact, conversation = ObjectId(), ObjectId()
    stale = {"language": "en", "sentiment": "positive", "intent": "praise", "model_version": "scrm-nlp-0.0.1"}
    fixed = {**stale, "language": "zh", "sentiment": "neutral", "corrected": {"sentiment": "positive"}}
    now = datetime.now(UTC)
    messages = [
        {"_id": ObjectId(), "text": WORST, "tags": stale, "sent_at": now - timedelta(minutes=2)},
        {"_id": ObjectId(), "text": RUDE, "tags": fixed, "sent_at": now - timedelta(minutes=1)},
        {"_id": ObjectId(), "text": "  ", "tags": None, "sent_at": now},
    ]
    client, database = _database(database_env)
    with client:
        for message in messages:
            message |= {"contact_id": contact, "conversation_id": conversation, "direction": "inbound"}
        database["messages"].insert_many(messages)
        database["comments"].insert_one({"text": "Love it, best purchase ever!!", "tags": None})
        database["contacts"].insert_one({"_id": contact, "name": "Mia", "sentiment": 0.9})
        database["conversations"].insert_one({"_id": conversation, "latest_tags": None})

    result = CliRunner().invoke(main, ["nlp", "retag"])
    assert result.exit_code == 0, result.output
    assert "3 texts tagged again." in result.output

    version = Tagger.load().version
    client, database = _database(database_env)
    with client:
        worst = database["messages"].find_one({"text": WORST})
        rude = database["messages"].find_one({"text": RUDE})
        blank = database["messages"].find_one({"text": "  "})
        comment = database["comments"].find_one({})
        mia = database["contacts"].find_one({"_id": contact})
        chat = database["conversations"].find_one({"_id": conversation})
    assert worst is not None and rude is not None and blank is not None and comment is not None
    assert (worst["tags"]["sentiment"], worst["tags"]["model_version"]) == ("negative", version)
    assert rude["tags"]["sentiment"] == "neutral"  # the person's label stays
    assert rude["tags"]["corrected"] == {"sentiment": "negative"}  # beside what the new model says
    assert rude["tags"]["model_version"] == version and rude["tags"]["language"] == "zh"
    assert blank["tags"] is None
    assert comment["tags"]["sentiment"] == "positive"
    assert mia is not None and mia["sentiment"] < 0  # recomputed from the new tags
    assert chat is not None and chat["latest_tags"]["sentiment"] == "neutral"
