"""`/api/v1/channels`: connected accounts; credentials are write-only and sealed at rest."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromPath, JSONBody

from scrm.api.paging import parse_id
from scrm.api.security import Caller, Now, requires
from scrm.auth import audit
from scrm.auth.roles import Permission, Principal
from scrm.auth.visibility import channel_filter
from scrm.models import AuditAction, Channel, ChannelCredentials, ChannelStatus, SecretBox

Platform = Annotated[str, msgspec.Meta(pattern="^[a-z][a-z0-9_]{1,31}$", description="Platform key, e.g. telegram")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
CredentialName = Annotated[str, msgspec.Meta(pattern="^[a-z][a-z0-9_]{0,63}$", description="e.g. bot_token")]
CredentialValue = Annotated[str, msgspec.Meta(min_length=1, max_length=8192)]
Config = Annotated[dict[str, Any], msgspec.Meta(max_length=100)]


class ChannelIn(msgspec.Struct, forbid_unknown_fields=True):
    """A channel to connect, with its platform credentials (`bot_token`, `app_secret`, `aes_key`…)."""

    platform: Platform
    name: Name
    config: Config = msgspec.field(default_factory=dict)
    credentials: Annotated[dict[CredentialName, CredentialValue], msgspec.Meta(max_length=20)] = msgspec.field(
        default_factory=dict
    )


class ChannelPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Changes to a channel; in `credentials`, a null value removes that credential, others keep theirs."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    config: Config | msgspec.UnsetType = msgspec.UNSET
    status: ChannelStatus | msgspec.UnsetType = msgspec.UNSET
    credentials: (
        Annotated[dict[CredentialName, CredentialValue | None], msgspec.Meta(max_length=20)] | msgspec.UnsetType
    ) = msgspec.UNSET


class ChannelOut(msgspec.Struct):
    """A channel as the API shows it: which credentials are set, never their values."""

    id: str
    platform: str
    name: str
    config: dict[str, Any]
    status: str
    credential_names: list[str]
    created_at: datetime


class ChannelList(msgspec.Struct):
    """The channels the caller may see."""

    items: list[ChannelOut]


def channel_out(channel: Channel, credentials: ChannelCredentials | None) -> ChannelOut:
    """The API view of a channel."""
    return ChannelOut(
        id=str(channel.id),
        platform=channel.platform,
        name=channel.name,
        config=channel.config,
        status=channel.status.value,
        credential_names=sorted(credentials.values) if credentials else [],
        created_at=channel.created_at,
    )


async def _credentials(principal: Principal, channel: Channel) -> ChannelCredentials | None:
    return await principal.scope.find_one(ChannelCredentials, {"channel_id": channel.id})


async def find_visible_channel(principal: Principal, channel_id: str) -> Channel:
    """A channel of the workspace that the principal may see; NotInWorkspace otherwise."""
    return await principal.scope.get(Channel, parse_id(channel_id, "channel"), channel_filter(principal))


async def list_channels(principal: Principal) -> ChannelList:
    """The workspace's channels (an agent's only), by name."""
    channels = await principal.scope.find(Channel, channel_filter(principal)).sort("+name").to_list()
    stored = await principal.scope.find(ChannelCredentials, {"channel_id": {"$in": [c.id for c in channels]}}).to_list()
    by_channel = {c.channel_id: c for c in stored}
    return ChannelList(items=[channel_out(c, by_channel.get(c.id)) for c in channels if c.id])


async def write_credentials(
    principal: Principal, channel: Channel, changes: dict[str, str | None], secret_key: str | None, now: datetime
) -> ChannelCredentials | None:
    """Seal and store changed credentials (null removes one), and record that they changed (names only)."""
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
    details = {
        "set": sorted(k for k, v in changes.items() if v is not None),
        "removed": sorted(k for k, v in changes.items() if v is None),
    }
    await audit.record(
        AuditAction.CREDENTIALS_CHANGED,
        principal.actor,
        now,
        workspace_id=principal.workspace_id,
        target=f"channel:{channel.id}",
        details=details,
    )
    return credentials


async def create_channel(principal: Principal, data: ChannelIn, secret_key: str | None, now: datetime) -> ChannelOut:
    """Connect a channel and seal its credentials (a SecretKeyError before anything is stored without a key)."""
    if data.credentials:
        SecretBox.from_secret_key(secret_key)
    channel = Channel(
        workspace_id=principal.workspace_id, platform=data.platform, name=data.name, config=data.config, created_at=now
    )
    await principal.scope.insert(channel)
    await audit.record(
        AuditAction.CHANNEL_CREATED,
        principal.actor,
        now,
        workspace_id=principal.workspace_id,
        target=f"channel:{channel.id}",
        details={"platform": data.platform, "name": data.name},
    )
    credentials = await write_credentials(principal, channel, dict(data.credentials), secret_key, now)
    return channel_out(channel, credentials)


async def update_channel(
    principal: Principal, channel_id: str, data: ChannelPatch, secret_key: str | None, now: datetime
) -> ChannelOut:
    """Change a channel's name, config, status or some of its credentials (all or nothing without a key)."""
    channel = await find_visible_channel(principal, channel_id)
    credentials = {} if isinstance(data.credentials, msgspec.UnsetType) else data.credentials
    if any(value is not None for value in credentials.values()):
        SecretBox.from_secret_key(secret_key)
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET and k != "credentials"}
    if changes:
        for key, value in changes.items():
            setattr(channel, key, value)
        if "status" in changes:
            channel.status_changed_at = now
        await principal.scope.replace(channel)
    return channel_out(channel, await write_credentials(principal, channel, dict(credentials), secret_key, now))


async def delete_channel(principal: Principal, channel_id: str, now: datetime) -> None:
    """Disconnect a channel and destroy its credentials."""
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


def _secret_key(request: Request[Any, Any, Any]) -> str | None:
    key: str | None = request.app.state.settings.secret_key
    return key


class ChannelsController(Controller):
    """Connected accounts on each platform."""

    path = "/channels"
    tags = ("channels",)

    @get("/", guards=[requires(Permission.READ_CHANNELS)], summary="List channels")
    async def list(self, principal: Caller) -> ChannelList:
        """The channels the caller may see (an agent: only their own)."""
        return await list_channels(principal)

    @get("/{channel_id:str}", guards=[requires(Permission.READ_CHANNELS)], summary="One channel")
    async def get(self, principal: Caller, channel_id: FromPath[str]) -> ChannelOut:
        """One channel; its credentials are listed by name only."""
        channel = await find_visible_channel(principal, channel_id)
        return channel_out(channel, await _credentials(principal, channel))

    @post("/", guards=[requires(Permission.MANAGE_CHANNELS)], summary="Connect a channel")
    async def create(
        self, request: Request[Any, Any, Any], principal: Caller, data: JSONBody[ChannelIn], now: Now
    ) -> ChannelOut:
        """A new channel; credentials are sealed with SCRM_SECRET_KEY and never shown again."""
        return await create_channel(principal, data, _secret_key(request), now)

    @patch("/{channel_id:str}", guards=[requires(Permission.MANAGE_CHANNELS)], summary="Change a channel")
    async def update(
        self,
        request: Request[Any, Any, Any],
        principal: Caller,
        channel_id: FromPath[str],
        data: JSONBody[ChannelPatch],
        now: Now,
    ) -> ChannelOut:
        """Change some fields; credentials named in the body are replaced, others kept."""
        return await update_channel(principal, channel_id, data, _secret_key(request), now)

    @delete("/{channel_id:str}", guards=[requires(Permission.MANAGE_CHANNELS)], summary="Disconnect a channel")
    async def remove(self, principal: Caller, channel_id: FromPath[str], now: Now) -> None:
        """Delete a channel and its credentials."""
        await delete_channel(principal, channel_id, now)
