"""Channel credentials at rest: ciphertext in MongoDB, a clear error for a wrong key, never shown by the API."""

from __future__ import annotations

import logging
from dataclasses import replace

import httpx
import pytest
from beanie import PydanticObjectId

from scrm.app import create_app
from scrm.db import Database
from scrm.models import (
    AuditAction,
    AuditEntry,
    ChannelCredentials,
    Role,
    SecretBox,
    SecretKeyMismatch,
    SecretKeyMissing,
)
from scrm.models.sealed import SealedValueCorrupt
from scrm.settings import Settings
from tests.api.world import SECRET_KEY, World
from tests.conftest import serving

BOT_TOKEN = "7310045678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


async def create_bot(api: httpx.AsyncClient, world: World) -> str:
    """Connect a Telegram bot through the API; returns its channel id."""
    body = {"platform": "telegram", "name": "support", "credentials": {"bot_token": BOT_TOKEN, "secret_token": "abc"}}
    created = await api.post("/api/v1/channels", json=body, headers=world.a.bearer(Role.OWNER))
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def test_credentials_are_ciphertext_in_mongodb(api: httpx.AsyncClient, world: World) -> None:
    channel_id = await create_bot(api, world)
    raw = await ChannelCredentials.get_pymongo_collection().find_one({"channel_id": PydanticObjectId(channel_id)})
    assert raw is not None and BOT_TOKEN not in str(raw) and "AAHdqT" not in str(raw)
    assert set(raw["values"]) == {"bot_token", "secret_token"}
    assert all(v.startswith("scrm1:") for v in raw["values"].values())
    stored = ChannelCredentials.model_validate(raw)
    assert stored.reveal(SecretBox.from_secret_key(SECRET_KEY)) == {"bot_token": BOT_TOKEN, "secret_token": "abc"}


async def test_the_api_never_shows_credentials(
    api: httpx.AsyncClient, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    channel_id = await create_bot(api, world)
    shown = await api.get(f"/api/v1/channels/{channel_id}", headers=world.a.bearer(Role.OWNER))
    listed = await api.get("/api/v1/channels", headers=world.a.bearer(Role.OWNER))
    assert shown.json()["credential_names"] == ["bot_token", "secret_token"]
    assert BOT_TOKEN not in shown.text + listed.text and BOT_TOKEN not in caplog.text
    entry = await AuditEntry.find_one({"action": AuditAction.CREDENTIALS_CHANGED.value})
    assert entry is not None and entry.details == {"set": ["bot_token", "secret_token"], "removed": []}
    assert BOT_TOKEN not in str(entry.model_dump())


async def test_a_patch_replaces_only_the_named_credentials(api: httpx.AsyncClient, world: World) -> None:
    channel_id = await create_bot(api, world)
    changes = {"credentials": {"secret_token": None, "app_secret": "new"}}
    patched = await api.patch(f"/api/v1/channels/{channel_id}", json=changes, headers=world.a.bearer(Role.ADMIN))
    assert patched.json()["credential_names"] == ["app_secret", "bot_token"]
    stored = await ChannelCredentials.find_one({"channel_id": PydanticObjectId(channel_id)})
    assert stored is not None
    assert stored.reveal(SecretBox.from_secret_key(SECRET_KEY)) == {"bot_token": BOT_TOKEN, "app_secret": "new"}


async def test_a_wrong_secret_key_is_a_clear_error_not_garbage(api: httpx.AsyncClient, world: World) -> None:
    channel_id = await create_bot(api, world)
    stored = await ChannelCredentials.find_one({"channel_id": PydanticObjectId(channel_id)})
    assert stored is not None
    with pytest.raises(SecretKeyMismatch, match=r"sealed with another SCRM_SECRET_KEY.*scrm secrets rotate"):
        stored.reveal(SecretBox.from_secret_key("some other key entirely"))


def test_a_sealed_value_moved_or_altered_does_not_open() -> None:
    box = SecretBox.from_secret_key(SECRET_KEY)
    sealed = box.seal("s3cret", "channel-credentials/w/c1/app_secret")
    with pytest.raises(SealedValueCorrupt, match="moved"):
        box.open(sealed, "channel-credentials/w/c2/app_secret")
    tampered = sealed[:-6] + ("AAAA==" if not sealed.endswith("AAAA==") else "BBBB==")
    with pytest.raises(SealedValueCorrupt):
        box.open(tampered, "channel-credentials/w/c1/app_secret")
    with pytest.raises(SealedValueCorrupt, match="plain text"):
        box.open("s3cret", "channel-credentials/w/c1/app_secret")
    assert box.open(sealed, "channel-credentials/w/c1/app_secret") == "s3cret"


def test_sealing_without_a_key_says_how_to_set_one() -> None:
    with pytest.raises(SecretKeyMissing, match="SCRM_SECRET_KEY is not set"):
        SecretBox.from_secret_key(None)


async def test_without_a_key_the_api_refuses_credentials_and_stores_nothing(
    keyed_settings: Settings, world: World, database: Database
) -> None:
    async with serving(create_app(replace(keyed_settings, secret_key=None))) as api:
        body = {"platform": "telegram", "name": "keyless", "credentials": {"bot_token": BOT_TOKEN}}
        refused = await api.post("/api/v1/channels", json=body, headers=world.a.bearer(Role.OWNER))
        assert refused.status_code == 503 and "SCRM_SECRET_KEY is not set" in refused.json()["detail"]
        listed = await api.get("/api/v1/channels", headers=world.a.bearer(Role.OWNER))
        assert "keyless" not in listed.text
        channel = f"/api/v1/channels/{world.a.other_channel.id if world.a.other_channel else ''}"
        change = {"name": "renamed", "credentials": {"bot_token": BOT_TOKEN}}
        assert (await api.patch(channel, json=change, headers=world.a.bearer(Role.OWNER))).status_code == 503
        assert (await api.get(channel, headers=world.a.bearer(Role.OWNER))).json()["name"] == "alpha-other-bot"
        removal = {"credentials": {"bot_token": None}}
        removed = await api.patch(channel, json=removal, headers=world.a.bearer(Role.OWNER))
        assert removed.status_code == 200 and removed.json()["credential_names"] == []
