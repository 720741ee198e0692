"""Connecting, changing and disconnecting channels: the rules shared by the API and `scrm channels`.

Credentials are write-only: they are sealed with SCRM_SECRET_KEY as they arrive and only their names are ever
shown. Every read and write goes through the principal's workspace scope, and every change is audited.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from beanie import PydanticObjectId

from scrm.auth import audit
from scrm.auth.roles import Principal
from scrm.auth.visibility import channel_filter
from scrm.connectors.base import Connector
from scrm.connectors.registry import CONNECTORS
from scrm.models import AuditAction, Channel, ChannelCredentials, ChannelStatus, NotInWorkspace, SecretBox
from scrm.models.scope import across_workspaces
from scrm.settings import Settings

CREDENTIAL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
"""What a credential's name looks like (`bot_token`, `app_secret`): the API and the command line both check it."""

API_PLATFORM = "api"
"""The generic API channel, whose deliveries arrive at `/api/v1/channels/{id}/inbound`."""


class ChannelRefused(ValueError):
    """A channel request the rules refuse (unknown platform, missing credentials); the message says which."""


@dataclass(frozen=True, slots=True)
class NewChannel:
    """A channel to connect: its platform, name, settings and credentials in plain text."""

    platform: str
    name: str
    config: Mapping[str, Any] = field(default_factory=dict)
    credentials: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChannelChanges:
    """Changes to a channel; None leaves a field as it is, and a credential set to None is removed."""

    name: str | None = None
    config: Mapping[str, Any] | None = None
    status: ChannelStatus | None = None
    credentials: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChannelView:
    """A channel as people and programs see it: its health, its webhook address, its credentials' names only."""

    id: str
    platform: str
    name: str
    config: dict[str, Any]
    status: str
    status_reason: str
    status_changed_at: datetime | None
    synced_at: datetime | None
    sync_problem: str
    webhook_url: str
    credential_names: list[str]
    created_at: datetime
    credentials_checked_at: datetime | None = None
    """When the platform was last asked about the credentials (`scrm.channel_checks`); None: never."""
    credentials_warning: str = ""
    """What the last check warned of while the credentials still work (a token ending soon); empty: nothing."""
    credentials_expire_at: datetime | None = None
    """With a warning: when the credentials stop working."""


def known_platforms() -> list[str]:
    """The platform keys of every registered connector, sorted."""
    return sorted(connector.platform for connector in CONNECTORS)


def connector_for(platform: str) -> type[Connector]:
    """The registered connector of `platform`; ChannelRefused naming the known platforms otherwise."""
    for connector in CONNECTORS:
        if connector.platform == platform:
            return connector
    raise ChannelRefused(f"Unknown platform {platform!r}; the known platforms are {', '.join(known_platforms())}")


def check_new_channel(new: NewChannel) -> None:
    """Refuse a channel whose platform is unknown or which lacks a credential its connector requires.

    Credential names the connector does not require are accepted as they are: connectors declare only the
    names they cannot work without, and many optional ones (`page_access_token`, `outbound_url`…) exist.
    """
    connector = connector_for(new.platform)
    missing = sorted(key for key in connector.credential_keys if not new.credentials.get(key))
    if missing:
        needed = ", ".join(sorted(connector.credential_keys))
        raise ChannelRefused(f"A {new.platform} channel needs the credentials {needed}; missing: {', '.join(missing)}")


def webhook_url(public_url: str, platform: str, channel_id: str) -> str:
    """Where the platform delivers to this channel (the API channel: its inbound endpoint)."""
    if platform == API_PLATFORM:
        return f"{public_url}/api/v1/channels/{channel_id}/inbound"
    return f"{public_url}/webhooks/{platform}/{channel_id}"


def channel_view(channel: Channel, credentials: ChannelCredentials | None, public_url: str) -> ChannelView:
    """The outside view of a channel and the names of its credentials."""
    return ChannelView(
        id=str(channel.id),
        platform=channel.platform,
        name=channel.name,
        config=dict(channel.config),
        status=channel.status.value,
        status_reason=channel.status_reason,
        status_changed_at=channel.status_changed_at,
        synced_at=channel.synced_at,
        sync_problem=channel.sync_problem,
        webhook_url=webhook_url(public_url, channel.platform, str(channel.id)),
        credential_names=sorted(credentials.values) if credentials else [],
        created_at=channel.created_at,
        credentials_checked_at=channel.credentials_checked_at,
        credentials_warning=channel.credentials_warning,
        credentials_expire_at=channel.credentials_expire_at,
    )


def parse_channel_id(value: str) -> PydanticObjectId:
    """The channel id in a path or an argument; an id that cannot exist is as unknown as any other."""
    if not PydanticObjectId.is_valid(value):
        raise NotInWorkspace(f"No channel {value} in this workspace")
    return PydanticObjectId(value)


async def workspace_of_channel(channel_id: str) -> PydanticObjectId:
    """The workspace a channel belongs to, for the command line, which names channels by id alone."""
    with across_workspaces("the command line finds a channel's workspace from its id"):
        channel = await Channel.get(parse_channel_id(channel_id))
    if channel is None:
        raise NotInWorkspace(f"No channel {channel_id}")
    return channel.workspace_id


async def find_visible_channel(principal: Principal, channel_id: str) -> Channel:
    """A channel of the workspace that the principal may see; NotInWorkspace otherwise."""
    return await principal.scope.get(Channel, parse_channel_id(channel_id), channel_filter(principal))


async def _credentials(principal: Principal, channel: Channel) -> ChannelCredentials | None:
    return await principal.scope.find_one(ChannelCredentials, {"channel_id": channel.id})


async def get_channel(principal: Principal, channel_id: str, settings: Settings) -> ChannelView:
    """One channel the principal may see; NotInWorkspace otherwise."""
    channel = await find_visible_channel(principal, channel_id)
    return channel_view(channel, await _credentials(principal, channel), settings.public_url)


async def list_channels(principal: Principal, settings: Settings) -> list[ChannelView]:
    """The workspace's channels (an agent's only), by name."""
    channels = await principal.scope.find(Channel, channel_filter(principal)).sort("+name").to_list()
    stored = await principal.scope.find(ChannelCredentials, {"channel_id": {"$in": [c.id for c in channels]}}).to_list()
    by_channel = {c.channel_id: c for c in stored}
    return [channel_view(c, by_channel.get(c.id), settings.public_url) for c in channels if c.id]


async def write_credentials(
    principal: Principal, channel: Channel, changes: Mapping[str, str | None], secret_key: str | None, now: datetime
) -> ChannelCredentials | None:
    """Seal and store changed credentials (None removes one), and record that they changed (names only)."""
    stored = await _credentials(principal, channel)
    if not changes:
        return stored
    assert channel.id is not None
    credentials = stored or ChannelCredentials(workspace_id=principal.workspace_id, channel_id=channel.id)
    sealed = ChannelCredentials(workspace_id=channel.workspace_id, channel_id=channel.id)
    to_seal = {k: v for k, v in changes.items() if v is not None}
    if to_seal:  # removing a credential needs no key
        sealed.seal(SecretBox.from_secret_key(secret_key), to_seal)
    credentials.values = {k: v for k, v in credentials.values.items() if k not in changes} | sealed.values
    await (principal.scope.replace(credentials) if stored else principal.scope.insert(credentials))
    details = {"set": sorted(to_seal), "removed": sorted(k for k, v in changes.items() if v is None)}
    await audit.record(
        AuditAction.CREDENTIALS_CHANGED,
        principal.actor,
        now,
        workspace_id=principal.workspace_id,
        target=f"channel:{channel.id}",
        details=details,
    )
    return credentials


async def create_channel(principal: Principal, new: NewChannel, settings: Settings, now: datetime) -> ChannelView:
    """Connect a channel and seal its credentials; nothing is stored when it is refused.

    Raises SecretKeyError without a key (checked first: no channel with credentials can exist without one),
    ChannelRefused for an unknown platform or missing credentials, DuplicateKeyError for a name in use.
    """
    if new.credentials:
        SecretBox.from_secret_key(settings.secret_key)
    check_new_channel(new)
    channel = Channel(
        workspace_id=principal.workspace_id,
        platform=new.platform,
        name=new.name,
        config=dict(new.config),
        created_at=now,
    )
    await principal.scope.insert(channel)
    await audit.record(
        AuditAction.CHANNEL_CREATED,
        principal.actor,
        now,
        workspace_id=principal.workspace_id,
        target=f"channel:{channel.id}",
        details={"platform": new.platform, "name": new.name},
    )
    credentials = await write_credentials(principal, channel, dict(new.credentials), settings.secret_key, now)
    return channel_view(channel, credentials, settings.public_url)


async def update_channel(
    principal: Principal, channel_id: str, changes: ChannelChanges, settings: Settings, now: datetime
) -> ChannelView:
    """Change a channel's name, config, status or some credentials (all or nothing without a key).

    New credential values re-authorise an unhealthy channel: it is active again, its reason cleared, unless the
    same request sets the status itself. A status set by hand to `active` or `disabled` clears the reason.
    """
    channel = await find_visible_channel(principal, channel_id)
    renewed = any(value is not None for value in changes.credentials.values())
    if renewed:
        SecretBox.from_secret_key(settings.secret_key)
    fields = _changed_fields(changes, now)
    if fields:
        await principal.scope.find(Channel, {"_id": channel.id}).update({"$set": fields})
    credentials = await write_credentials(principal, channel, changes.credentials, settings.secret_key, now)
    if renewed:  # a warning was about the credentials just replaced
        cleared = {"credentials_warning": "", "credentials_expire_at": None}
        await principal.scope.find(Channel, {"_id": channel.id}).update({"$set": cleared})
    if renewed and changes.status is None:
        reauthorised = {"status": ChannelStatus.ACTIVE.value, "status_reason": "", "status_changed_at": now}
        unhealthy = {"_id": channel.id, "status": ChannelStatus.UNHEALTHY.value}
        await principal.scope.find(Channel, unhealthy).update({"$set": reauthorised})
    assert channel.id is not None
    return channel_view(await principal.scope.get(Channel, channel.id), credentials, settings.public_url)


def _changed_fields(changes: ChannelChanges, now: datetime) -> dict[str, Any]:
    """The channel fields a change sets, with the status's time and (unless unhealthy) a cleared reason."""
    fields: dict[str, Any] = {}
    if changes.name is not None:
        fields["name"] = changes.name
    if changes.config is not None:
        fields["config"] = dict(changes.config)
    if changes.status is not None:
        fields |= {"status": changes.status.value, "status_changed_at": now}
        if changes.status is not ChannelStatus.UNHEALTHY:
            fields["status_reason"] = ""
    return fields


async def delete_channel(principal: Principal, channel_id: str, now: datetime) -> Channel:
    """Disconnect a channel and destroy its credentials; returns what was removed."""
    channel = await find_visible_channel(principal, channel_id)
    credentials = await _credentials(principal, channel)
    if credentials is not None:
        await principal.scope.delete(credentials)
    await principal.scope.delete(channel)
    await audit.record(
        AuditAction.CHANNEL_DELETED,
        principal.actor,
        now,
        workspace_id=principal.workspace_id,
        target=f"channel:{channel.id}",
        details={"name": channel.name},
    )
    return channel
