"""Channels through the API: the platform and credential rules, health and webhook URLs, disabled channels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from beanie import PydanticObjectId

from scrm.auth.tokens import create_token
from scrm.channel_health import mark_unhealthy
from scrm.channels import known_platforms, webhook_url
from scrm.connectors.registry import CONNECTORS
from scrm.db import Database
from scrm.models import Channel, ChannelCredentials, RawEvent, RawEventStatus, Role, Workspace, WorkspaceScope
from scrm.settings import Settings
from scrm.sync import drain_raw_events
from scrm.worker import pipeline_context
from tests.platform_fakes import TELEGRAM_CREDENTIALS, telegram_headers, telegram_update

REQUIRED = {connector.platform: sorted(connector.credential_keys) for connector in CONNECTORS}
CHANNELS = "/api/v1/channels"


def secret_of(platform: str, key: str) -> str:
    """A recognisable credential value that must never be shown."""
    return f"SECRET-{platform}-{key}-value"


@pytest.fixture
async def owner(database: Database) -> dict[str, str]:
    """Headers of an owner token of a fresh workspace."""
    workspace = await Workspace(name="acme").insert()
    assert workspace.id is not None
    _, plain = await create_token(WorkspaceScope(workspace.id), Role.OWNER, "test", datetime.now(UTC), actor="test")
    return {"authorization": f"Bearer {plain}"}


async def connect(client: httpx.AsyncClient, owner: dict[str, str], platform: str, name: str = "") -> dict[str, Any]:
    """Connect a channel of `platform` with its required credentials through the API; returns the answer."""
    credentials = {key: secret_of(platform, key) for key in REQUIRED[platform]}
    body = {"platform": platform, "name": name or f"{platform} channel", "credentials": credentials}
    created = await client.post(CHANNELS, json=body, headers=owner)
    assert created.status_code == 201, created.text
    answer: dict[str, Any] = created.json()
    return answer


@pytest.mark.parametrize("platform", known_platforms())
async def test_each_platform_is_connected_with_its_required_credentials(
    client: httpx.AsyncClient, owner: dict[str, str], settings: Settings, platform: str
) -> None:
    created = await connect(client, owner, platform)
    shown = await client.get(f"{CHANNELS}/{created['id']}", headers=owner)
    listed = await client.get(CHANNELS, headers=owner)
    same = {key: value for key, value in created.items() if key != "created_at"}  # MongoDB keeps milliseconds
    assert same.items() <= shown.json().items() and same.items() <= listed.json()["items"][0].items()
    assert created["credential_names"] == REQUIRED[platform]
    assert created["status"] == "active" and created["status_reason"] == "" and created["sync_problem"] == ""
    assert created["synced_at"] is None and created["status_changed_at"] is None
    assert created["webhook_url"] == webhook_url(settings.public_url, platform, created["id"])
    for key in REQUIRED[platform]:
        assert secret_of(platform, key) not in shown.text + listed.text


async def test_webhook_urls_point_at_the_ingress(client: httpx.AsyncClient, owner: dict[str, str]) -> None:
    x = await connect(client, owner, "x")
    api = await connect(client, owner, "api")
    assert x["webhook_url"] == f"http://127.0.0.1:8000/webhooks/x/{x['id']}"
    assert api["webhook_url"] == f"http://127.0.0.1:8000/api/v1/channels/{api['id']}/inbound"


async def test_missing_credentials_are_refused_naming_them(client: httpx.AsyncClient, owner: dict[str, str]) -> None:
    body = {"platform": "telegram", "name": "bot", "credentials": {"bot_token": "123:abc"}}
    refused = await client.post(CHANNELS, json=body, headers=owner)
    assert refused.status_code == 400 and "missing: secret_token" in refused.json()["detail"]
    x = await client.post(CHANNELS, json={"platform": "x", "name": "x"}, headers=owner)
    assert x.status_code == 400
    assert "missing: access_token, access_token_secret, bearer_token" in x.json()["detail"]
    assert await Channel.count() == 0 and await ChannelCredentials.count() == 0


async def test_an_unknown_platform_is_refused_naming_the_known_ones(
    client: httpx.AsyncClient, owner: dict[str, str]
) -> None:
    refused = await client.post(CHANNELS, json={"platform": "myspace", "name": "old"}, headers=owner)
    assert refused.status_code == 400
    detail = refused.json()["detail"]
    assert "'myspace'" in detail and all(platform in detail for platform in known_platforms())
    assert await Channel.count() == 0


async def test_credential_names_no_connector_requires_are_kept(
    client: httpx.AsyncClient, owner: dict[str, str]
) -> None:
    extra = {**TELEGRAM_CREDENTIALS, "note_for_later": "kept"}
    created = await client.post(
        CHANNELS, json={"platform": "telegram", "name": "bot", "credentials": extra}, headers=owner
    )
    assert created.status_code == 201 and created.json()["credential_names"] == sorted(extra)


async def test_new_credentials_make_an_unhealthy_channel_active_again(
    client: httpx.AsyncClient, owner: dict[str, str], now: datetime
) -> None:
    created = await connect(client, owner, "line")
    await mark_unhealthy(PydanticObjectId(created["id"]), "LINE refused the token (401)", now)
    unhealthy = (await client.get(f"{CHANNELS}/{created['id']}", headers=owner)).json()
    assert unhealthy["status"] == "unhealthy" and unhealthy["status_reason"] == "LINE refused the token (401)"
    change = {"credentials": {"channel_access_token": "a-fresh-token"}}
    patched = await client.patch(f"{CHANNELS}/{created['id']}", json=change, headers=owner)
    assert patched.status_code == 200, patched.text
    assert patched.json()["status"] == "active" and patched.json()["status_reason"] == ""
    assert patched.json()["status_changed_at"] is not None
    assert "a-fresh-token" not in patched.text


async def test_removing_a_credential_does_not_reauthorise(
    client: httpx.AsyncClient, owner: dict[str, str], now: datetime
) -> None:
    created = await connect(client, owner, "line")
    await mark_unhealthy(PydanticObjectId(created["id"]), "quota used up", now)
    change = {"credentials": {"channel_access_token": None}}
    patched = await client.patch(f"{CHANNELS}/{created['id']}", json=change, headers=owner)
    assert patched.json()["status"] == "unhealthy" and patched.json()["status_reason"] == "quota used up"


async def test_setting_a_channel_active_by_hand_clears_the_reason(
    client: httpx.AsyncClient, owner: dict[str, str], now: datetime
) -> None:
    created = await connect(client, owner, "meta")
    await mark_unhealthy(PydanticObjectId(created["id"]), "permission missing", now)
    patched = await client.patch(f"{CHANNELS}/{created['id']}", json={"status": "active"}, headers=owner)
    assert patched.json()["status"] == "active" and patched.json()["status_reason"] == ""


async def test_a_disabled_channel_answers_404_and_stores_nothing(
    client: httpx.AsyncClient, owner: dict[str, str]
) -> None:
    bot = await client.post(
        CHANNELS, json={"platform": "telegram", "name": "bot", "credentials": TELEGRAM_CREDENTIALS}, headers=owner
    )
    source = await connect(client, owner, "api")
    for channel_id in (bot.json()["id"], source["id"]):
        disabled = await client.patch(f"{CHANNELS}/{channel_id}", json={"status": "disabled"}, headers=owner)
        assert disabled.json()["status"] == "disabled"
    update = await client.post(
        f"/webhooks/telegram/{bot.json()['id']}", content=telegram_update(9001, "hi"), headers=telegram_headers()
    )
    assert update.status_code == 404
    token = {"authorization": f"Bearer {secret_of('api', 'inbound_token')}"}
    events = {"events": [{"type": "follow", "id": "f-1", "from": {"id": "u-1"}, "at": "2026-05-20T09:32:00Z"}]}
    inbound = await client.post(f"{CHANNELS}/{source['id']}/inbound", json=events, headers=token)
    assert inbound.status_code == 404
    assert await RawEvent.count() == 0


async def test_deliveries_of_a_disabled_channel_stay_pending_until_it_is_enabled(
    client: httpx.AsyncClient, owner: dict[str, str], settings: Settings
) -> None:
    body = {"platform": "telegram", "name": "bot", "credentials": TELEGRAM_CREDENTIALS}
    channel_id = (await client.post(CHANNELS, json=body, headers=owner)).json()["id"]
    delivered = await client.post(
        f"/webhooks/telegram/{channel_id}", content=telegram_update(9002, "Still there?"), headers=telegram_headers()
    )
    assert delivered.status_code == 200
    await client.patch(f"{CHANNELS}/{channel_id}", json={"status": "disabled"}, headers=owner)
    start = datetime.now(UTC)
    assert await drain_raw_events(pipeline_context(settings, lambda: start)) == 1
    held = await RawEvent.find_one(RawEvent.event_id == "9002")
    assert held is not None and held.status == RawEventStatus.PENDING and held.attempts == 0
    await client.patch(f"{CHANNELS}/{channel_id}", json={"status": "active"}, headers=owner)
    later = start + timedelta(minutes=2)
    assert await drain_raw_events(pipeline_context(settings, lambda: later)) == 1
    done = await RawEvent.find_one(RawEvent.event_id == "9002")
    assert done is not None and done.status == RawEventStatus.PROCESSED


async def test_a_name_in_use_is_a_conflict(client: httpx.AsyncClient, owner: dict[str, str]) -> None:
    await connect(client, owner, "line", name="taken")
    other = await connect(client, owner, "wechat", name="free")
    again = await client.post(
        CHANNELS, json={"platform": "api", "name": "taken", "credentials": {"inbound_token": "t"}}, headers=owner
    )
    renamed = await client.patch(f"{CHANNELS}/{other['id']}", json={"name": "taken"}, headers=owner)
    assert again.status_code == 409 and renamed.status_code == 409
    assert await Channel.count() == 2
