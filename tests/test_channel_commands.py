"""`scrm channels`, run as a script would run it: the same rules as the API, exit status 2 for a refusal."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from beanie import PydanticObjectId

from scrm.channel_health import mark_unhealthy
from scrm.channels import known_platforms
from scrm.connectors.registry import CONNECTORS
from scrm.db import Database
from scrm.models import AuditAction, AuditEntry, Channel, ChannelCredentials, Workspace
from tests.api.world import SECRET_KEY
from tests.auth.test_commands import Ran, output, scrm

REQUIRED = {connector.platform: sorted(connector.credential_keys) for connector in CONNECTORS}
PUBLIC_URL = "https://crm.example.com"


@pytest.fixture
async def env(mongo_uri: str, database_name: str, tmp_path: Path, database: Database) -> dict[str, str]:
    """The environment of a `scrm` command on the test database, with the workspace `acme` created."""
    await Workspace(name="acme").insert()
    return {
        "SCRM_MONGODB_URI": mongo_uri,
        "SCRM_DATABASE": database_name,
        "SCRM_HOME": str(tmp_path / "home"),
        "SCRM_SECRET_KEY": SECRET_KEY,
        "SCRM_PUBLIC_URL": PUBLIC_URL,
    }


def settings_of(platform: str) -> list[str]:
    """`--set key=value` for each credential the platform requires, with values that must never be shown."""
    return [arg for key in REQUIRED[platform] for arg in ("--set", f"{key}=SECRET-{platform}-{key}")]


async def add(env: dict[str, str], platform: str, *extra: str) -> Ran:
    """`scrm channels add` in the workspace `acme`."""
    return await scrm(env, "channels", "add", platform, "--workspace", "acme", "--name", platform, *extra)


def refused(result: Ran, *words: str) -> None:
    """The command was refused with exit status 2 and a message containing every one of `words`."""
    assert result.exit_code == 2, result.output
    assert all(word in result.output for word in words), result.output


async def test_every_platform_is_added_and_listed_without_its_credentials(env: dict[str, str]) -> None:
    added = await asyncio.gather(*(add(env, platform, *settings_of(platform), "--json") for platform in REQUIRED))
    made = {platform: output(result) for platform, result in zip(REQUIRED, added, strict=True)}
    for platform, data in made.items():
        assert set(data) == {"id", "webhook_url"}
        inbound = (
            f"/api/v1/channels/{data['id']}/inbound" if platform == "api" else f"/webhooks/{platform}/{data['id']}"
        )
        assert data["webhook_url"] == PUBLIC_URL + inbound
    listed = await scrm(env, "channels", "list", "--workspace", "acme", "--json")
    table = await scrm(env, "channels", "list", "--workspace", "acme")
    shown = await scrm(env, "channels", "show", made["x"]["id"], "--json")
    rows = output(listed)["channels"]
    assert [row["platform"] for row in rows] == sorted(REQUIRED)
    assert {row["id"]: row["webhook_url"] for row in rows} == {d["id"]: d["webhook_url"] for d in made.values()}
    first = rows[0]
    assert first["status"] == "active" and first["status_reason"] == "" and first["credential_names"] == REQUIRED["api"]
    assert {"name", "config", "status_changed_at", "synced_at", "sync_problem", "created_at"} <= set(first)
    assert output(shown)["credential_names"] == REQUIRED["x"] and made["x"]["id"] in table.stdout
    everything = "".join(r.output for r in (*added, listed, table, shown))
    assert "SECRET-" not in everything


async def test_add_prints_the_id_and_webhook_url(env: dict[str, str]) -> None:
    result = await add(env, "telegram", *settings_of("telegram"), "--config", "sync_interval_seconds=0")
    channel = await Channel.find_one(Channel.name == "telegram")
    assert result.exit_code == 0 and channel is not None and channel.config == {"sync_interval_seconds": 0}
    assert str(channel.id) in result.stdout and f"{PUBLIC_URL}/webhooks/telegram/{channel.id}" in result.stdout
    entry = await AuditEntry.find_one({"action": AuditAction.CHANNEL_CREATED.value})
    assert entry is not None and entry.actor == "cli"


async def test_refusals_exit_2_and_change_nothing(env: dict[str, str]) -> None:
    refused(await add(env, "telegram", "--set", "bot_token=123:abc"), "missing: secret_token")
    refused(await add(env, "myspace", "--set", "token=t"), "'myspace'", *known_platforms())
    refused(await scrm(env, "channels", "list", "--workspace", "nowhere"), "No workspace named 'nowhere'")
    refused(await add(env, "telegram", "--set", "no-equals-sign"), "key=value")
    unknown = "0123456789abcdef01234567"
    for command in (("show", unknown), ("set", unknown, "--name", "n"), ("remove", unknown, "--yes")):
        refused(await scrm(env, "channels", *command), f"No channel {unknown}")
    refused(await scrm(env, "channels", "show", "not-an-id"), "No channel not-an-id")
    assert await Channel.count() == 0 and await ChannelCredentials.count() == 0
    assert output(await add(env, "line", *settings_of("line"), "--json"))["id"]
    refused(await add(env, "line", *settings_of("line")), "already has this name")
    assert await Channel.count() == 1


async def test_new_credentials_make_an_unhealthy_channel_active_again(env: dict[str, str]) -> None:
    channel_id = output(await add(env, "x", *settings_of("x"), "--json"))["id"]
    await mark_unhealthy(PydanticObjectId(channel_id), "the account revoked the app", datetime.now(UTC))
    shown = output(await scrm(env, "channels", "show", channel_id, "--json"))
    assert shown["status"] == "unhealthy" and shown["status_reason"] == "the account revoked the app"
    changed = await scrm(env, "channels", "set", channel_id, "--set", "access_token=NEW-TOKEN", "--json")
    data: dict[str, Any] = output(changed)
    assert data["status"] == "active" and data["status_reason"] == "" and "NEW-TOKEN" not in changed.output


async def test_set_renames_disables_and_unsets(env: dict[str, str]) -> None:
    created = await add(env, "api", *settings_of("api"), "--set", "outbound_url=https://x.test", "--json")
    channel_id = output(created)["id"]
    changes = ("--name", "shop", "--status", "disabled", "--unset", "outbound_url", "--json")
    changed = await scrm(env, "channels", "set", channel_id, *changes)
    data = output(changed)
    assert data["name"] == "shop" and data["status"] == "disabled" and data["credential_names"] == ["inbound_token"]
    assert json.loads(changed.stdout)["webhook_url"].endswith(f"/api/v1/channels/{channel_id}/inbound")


async def test_remove_asks_first_unless_yes(env: dict[str, str]) -> None:
    channel_id = output(await add(env, "wechat", *settings_of("wechat"), "--json"))["id"]
    kept = await scrm(env, "channels", "remove", channel_id, given="n\n")
    assert kept.exit_code != 0 and await Channel.count() == 1
    removed = await scrm(env, "channels", "remove", channel_id, "--yes", "--json")
    assert output(removed) == {"id": channel_id, "removed": True}
    assert await Channel.count() == 0 and await ChannelCredentials.count() == 0
