"""Ask a channel's platform whether its credentials still work, and show the answer as the channel's health.

The re-authorise path for problems fixed on the platform's side (a new token pasted, an IP whitelisted): the
check marks an unhealthy channel active again when the platform accepts its credentials, and an active one
unhealthy, with the platform's reason, when it does not. Platforms without a "who am I" call answer "not checked".
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

import httpx

from scrm.auth.roles import Principal
from scrm.channel_health import mark_unhealthy
from scrm.channels import ChannelView, find_visible_channel, get_channel
from scrm.connectors.base import Connector
from scrm.connectors.errors import ConnectorError
from scrm.connectors.registry import get_connector
from scrm.models import Channel, ChannelCredentials, ChannelStatus, SecretBox
from scrm.platform_state import MongoTokenStore
from scrm.settings import Settings

CHECK_TIMEOUT = httpx.Timeout(15.0, connect=5.0)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What the platform said (`problem` None: the credentials work) and the channel as it stands afterwards."""

    channel: ChannelView
    checked: bool
    problem: str | None


def _checks_credentials(connector: Connector) -> bool:
    return type(connector).check_credentials is not Connector.check_credentials


async def check_channel(
    principal: Principal, channel_id: str, settings: Settings, now: datetime, http: httpx.AsyncClient | None = None
) -> CheckResult:
    """Call the platform's credential check for one channel the principal may see, and record the outcome."""
    channel = await find_visible_channel(principal, channel_id)
    assert channel.id is not None
    box = SecretBox.from_secret_key(settings.secret_key)
    connector = get_connector(channel.platform, MongoTokenStore(box, lambda: now))
    if not _checks_credentials(connector):
        return CheckResult(await get_channel(principal, channel_id, settings), checked=False, problem=None)
    stored = await principal.scope.find_one(ChannelCredentials, {"channel_id": channel.id})
    creds = stored.reveal(box) if stored is not None else {}
    async with _client(http) as client:
        try:
            problem = await connector.check_credentials(client, creds)
        except ConnectorError as exc:  # an outage is not an answer about the credentials
            raise ChannelCheckFailed(f"{channel.platform} could not be asked: {exc}") from exc
        except httpx.HTTPError as exc:
            raise ChannelCheckFailed(f"{channel.platform} could not be reached: {exc}") from exc
    if problem is not None:
        await mark_unhealthy(channel.id, problem, now)
    elif channel.status is ChannelStatus.UNHEALTHY:
        await principal.scope.find(Channel, {"_id": channel.id, "status": ChannelStatus.UNHEALTHY.value}).update(
            {"$set": {"status": ChannelStatus.ACTIVE.value, "status_reason": "", "status_changed_at": now}}
        )
    return CheckResult(await get_channel(principal, channel_id, settings), checked=True, problem=problem)


class ChannelCheckFailed(Exception):
    """The platform could not be asked (network error, outage): nothing about the channel was changed."""


@asynccontextmanager
async def _client(given: httpx.AsyncClient | None) -> AsyncIterator[httpx.AsyncClient]:
    """The given client, or a short-lived one of our own."""
    if given is not None:
        yield given
        return
    async with httpx.AsyncClient(timeout=CHECK_TIMEOUT) as own:
        yield own
