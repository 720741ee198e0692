"""Ask a channel's platform whether its credentials still work, and show the answer as the channel's health.

The re-authorise path for problems fixed on the platform's side (a new token pasted, an IP whitelisted): the
check marks an unhealthy channel active again when the platform accepts its credentials, and an active one
unhealthy, with the platform's reason, when it does not. Platforms without a "who am I" call answer "not checked".
Each answer stamps the channel's `credentials_checked_at`; `scrm.credential_schedule` asks again on a schedule.
A platform that can tell more (Meta: a token ending within 7 days) also gives a warning and the date the
credentials end: the channel stays active and shows the warning (`credentials_warning`, `credentials_expire_at`)
until a later check no longer gives it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

import httpx
from beanie import PydanticObjectId

from scrm.auth.roles import Principal
from scrm.channel_health import mark_unhealthy
from scrm.channels import ChannelView, find_visible_channel, get_channel
from scrm.connectors.base import Connector
from scrm.connectors.errors import ConnectorError
from scrm.connectors.registry import get_connector
from scrm.models import Channel, ChannelCredentials, ChannelStatus, SecretBox, WorkspaceScope
from scrm.platform_state import MongoTokenStore
from scrm.settings import Settings

CHECK_TIMEOUT = httpx.Timeout(15.0, connect=5.0)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What the platform said (`problem` None: the credentials work) and the channel as it stands afterwards."""

    channel: ChannelView
    checked: bool
    problem: str | None


@dataclass(frozen=True, slots=True)
class CredentialAnswer:
    """The platform's answer: the problem (None: the credentials work), or else a warning and when they end."""

    problem: str | None = None
    warning: str | None = None
    expires_at: datetime | None = None


class CredentialReview(Protocol):
    """A connector's fuller answer (Meta's `TokenVerdict`)."""

    @property
    def problem(self) -> str | None: ...
    @property
    def warning(self) -> str | None: ...
    @property
    def ends_at(self) -> datetime | None: ...


@runtime_checkable
class ReviewsCredentials(Protocol):
    """A connector whose check also warns before the credentials end (`review_credentials`)."""

    async def review_credentials(self, http: httpx.AsyncClient, creds: Mapping[str, str]) -> CredentialReview: ...


def checks_credentials(connector: Connector | type[Connector]) -> bool:
    """Does the platform have a credential check (the connector overrides `check_credentials`)?"""
    kind = connector if isinstance(connector, type) else type(connector)
    return kind.check_credentials is not Connector.check_credentials


async def check_channel(
    principal: Principal, channel_id: str, settings: Settings, now: datetime, http: httpx.AsyncClient | None = None
) -> CheckResult:
    """Call the platform's credential check for one channel the principal may see, and record the outcome."""
    channel = await find_visible_channel(principal, channel_id)
    assert channel.id is not None
    box = SecretBox.from_secret_key(settings.secret_key)
    connector = get_connector(channel.platform, MongoTokenStore(box, lambda: now))
    if not checks_credentials(connector):
        return CheckResult(await get_channel(principal, channel_id, settings), checked=False, problem=None)
    stored = await principal.scope.find_one(ChannelCredentials, {"channel_id": channel.id})
    creds = stored.reveal(box) if stored is not None else {}
    async with _client(http) as client:
        answer = await ask_platform(connector, client, creds)
    await record_check(channel.id, channel.workspace_id, answer, now)
    return CheckResult(await get_channel(principal, channel_id, settings), checked=True, problem=answer.problem)


async def ask_platform(connector: Connector, http: httpx.AsyncClient, creds: Mapping[str, str]) -> CredentialAnswer:
    """The platform's answer about the credentials; raises `ChannelCheckFailed` on outages."""
    try:
        if isinstance(connector, ReviewsCredentials):
            review = await connector.review_credentials(http, creds)
            return CredentialAnswer(review.problem, review.warning, review.ends_at)
        return CredentialAnswer(await connector.check_credentials(http, creds))
    except KeyError as exc:  # a channel stored without a credential its platform needs
        return CredentialAnswer(f"{connector.platform}: the channel has no {exc.args[0]} credential; set it")
    except ConnectorError as exc:  # an outage is not an answer about the credentials
        raise ChannelCheckFailed(f"{connector.platform} could not be asked: {exc}") from exc
    except httpx.HTTPError as exc:
        raise ChannelCheckFailed(f"{connector.platform} could not be reached: {exc}") from exc


async def record_check(
    channel_id: PydanticObjectId, workspace_id: PydanticObjectId, answer: CredentialAnswer, now: datetime
) -> None:
    """Show the platform's answer: a problem marks an active channel unhealthy, an accepted check restores one.

    Either way the channel's `credentials_checked_at` becomes `now` and its warning becomes the answer's (none
    with a problem, whose reason says it all). A disabled channel stays disabled.
    """
    scope = WorkspaceScope(workspace_id)
    if answer.problem is not None:
        await mark_unhealthy(channel_id, answer.problem, now)
    else:
        restored = {"status": ChannelStatus.ACTIVE.value, "status_reason": "", "status_changed_at": now}
        await scope.find(Channel, {"_id": channel_id, "status": ChannelStatus.UNHEALTHY.value}).update(
            {"$set": restored}
        )
    warned = answer.problem is None and answer.warning is not None
    stamp = {
        "credentials_checked_at": now,
        "credentials_warning": (answer.warning or "") if warned else "",
        "credentials_expire_at": answer.expires_at if warned else None,
    }
    await scope.find(Channel, {"_id": channel_id}).update({"$set": stamp})


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
