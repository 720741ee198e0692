"""`scrm events list` shows failed deliveries with their error; `scrm events replay` queues them again."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from click.testing import CliRunner
from pymongo import MongoClient
from pymongo.collection import Collection

from scrm.cli import main
from tests.conftest import free_port


def _seed(uri: str, database: str) -> list[ObjectId]:
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = [
        {"_id": ObjectId(), "workspace_id": ObjectId(), "created_at": now, "channel_id": ObjectId(),
         "platform": "telegram", "event_id": str(n), "body": b"{broken", "headers": {}, "status": status,
         "error": "Cannot parse the body: JSONDecodeError" if status == "failed" else "", "attempts": 1,
         "received_at": now, "lease_until": None, "lease_owner": None, "processed_at": now, "expire_at": None}
        for n, status in enumerate(["failed", "failed", "processed"])
    ]  # fmt: skip
    client: MongoClient[dict[str, Any]]
    with MongoClient(uri) as client:
        collection: Collection[dict[str, Any]] = client[database]["raw_events"]
        collection.insert_many(rows)
    return [row["_id"] for row in rows]


def test_list_shows_failed_deliveries_with_their_error(database_env: dict[str, str]) -> None:
    ids = _seed(database_env["SCRM_MONGODB_URI"], database_env["SCRM_DATABASE"])
    result = CliRunner().invoke(main, ["events", "list", "--status", "failed", "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert {row["id"] for row in rows} == {str(ids[0]), str(ids[1])}
    assert all("JSONDecodeError" in row["error"] for row in rows)
    table = CliRunner().invoke(main, ["events", "list"])
    assert table.exit_code == 0 and "Webhook deliveries" in table.output


def test_replay_failed_queues_them_again(database_env: dict[str, str]) -> None:
    ids = _seed(database_env["SCRM_MONGODB_URI"], database_env["SCRM_DATABASE"])
    result = CliRunner().invoke(main, ["events", "replay", "--failed"])
    assert result.exit_code == 0, result.output
    assert "2 deliveries queued again" in result.output
    client: MongoClient[dict[str, Any]]
    with MongoClient(database_env["SCRM_MONGODB_URI"]) as client:
        collection: Collection[dict[str, Any]] = client[database_env["SCRM_DATABASE"]]["raw_events"]
        statuses = {row["_id"]: row["status"] for row in collection.find()}
    assert statuses == {ids[0]: "pending", ids[1]: "pending", ids[2]: "processed"}
    one = CliRunner().invoke(main, ["events", "replay", str(ids[2])])
    assert "1 delivery queued again" in one.output


def test_replay_needs_ids_or_failed(database_env: dict[str, str]) -> None:
    assert CliRunner().invoke(main, ["events", "replay"]).exit_code == 2
    bad = CliRunner().invoke(main, ["events", "replay", "not-an-id"])
    assert bad.exit_code == 2 and "24 hexadecimal" in bad.output


def test_an_unreachable_database_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SCRM_MONGODB_URI", raising=False)
    monkeypatch.setenv("SCRM_HOME", str(tmp_path))
    monkeypatch.setenv("SCRM_MONGOD_PORT", str(free_port()))
    result = CliRunner().invoke(main, ["events", "list"])
    assert result.exit_code == 1
    assert "Cannot reach the embedded MongoDB" in result.output and "scrm db start" in result.output
