"""`/api/v1/channels`: connected accounts; credentials are write-only and sealed at rest."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody
from litestar.types import ExceptionHandlersMap

from scrm.api.security import Caller, Now, requires
from scrm.auth.roles import Permission
from scrm.channel_checks import ChannelCheckFailed, check_channel
from scrm.channels import (
    CREDENTIAL_NAME,
    ChannelChanges,
    ChannelRefused,
    ChannelView,
    NewChannel,
    create_channel,
    delete_channel,
    get_channel,
    list_channels,
    update_channel,
)
from scrm.models import ChannelStatus
from scrm.problems import problem_response
from scrm.settings import Settings

Platform = Annotated[str, msgspec.Meta(description="Platform key of a registered connector, e.g. telegram or x")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
CredentialName = Annotated[str, msgspec.Meta(pattern=CREDENTIAL_NAME.pattern, description="e.g. bot_token")]
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
    """A channel as the API shows it: its health, its webhook URL, which credentials are set (never their values)."""

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
    """When the platform was last asked whether the credentials work (by hand or on schedule); null: never."""
    credentials_warning: str = ""
    """What the last check warned of while the credentials still work (Meta: a token ending within 7 days, the
    channel stays active); empty when the last check saw nothing coming."""
    credentials_expire_at: datetime | None = None
    """With a warning: when the credentials stop working; re-authorise before then. Null otherwise."""


class ChannelCheckOut(msgspec.Struct):
    """What the platform said of the channel's credentials, and the channel afterwards.

    `checked` is false for platforms without a credential check (nothing was asked); `problem` is null when the
    credentials work.
    """

    checked: bool
    problem: str | None
    channel: ChannelOut


class ChannelList(msgspec.Struct):
    """The channels the caller may see."""

    items: list[ChannelOut]


def channel_out(view: ChannelView) -> ChannelOut:
    """The API view of a channel."""
    return ChannelOut(**asdict(view))


def channel_changes(data: ChannelPatch) -> ChannelChanges:
    """The service's changes from the request body (fields left out stay as they are)."""
    return ChannelChanges(
        name=None if isinstance(data.name, msgspec.UnsetType) else data.name,
        config=None if isinstance(data.config, msgspec.UnsetType) else data.config,
        status=None if isinstance(data.status, msgspec.UnsetType) else data.status,
        credentials={} if isinstance(data.credentials, msgspec.UnsetType) else data.credentials,
    )


def _settings(request: Request[Any, Any, Any]) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _refused(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return problem_response(400, str(exc))


def _unreachable(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return problem_response(502, str(exc))


CHANNEL_ERRORS: ExceptionHandlersMap = {ChannelRefused: _refused, ChannelCheckFailed: _unreachable}


class ChannelsController(Controller):
    """Connected accounts on each platform."""

    path = "/channels"
    tags = ("channels",)
    exception_handlers = CHANNEL_ERRORS

    @get("/", guards=[requires(Permission.READ_CHANNELS)], summary="List channels")
    async def list(self, request: Request[Any, Any, Any], principal: Caller) -> ChannelList:
        """The channels the caller may see (an agent: only their own)."""
        return ChannelList(items=[channel_out(v) for v in await list_channels(principal, _settings(request))])

    @get("/{channel_id:str}", guards=[requires(Permission.READ_CHANNELS)], summary="One channel")
    async def get(self, request: Request[Any, Any, Any], principal: Caller, channel_id: FromPath[str]) -> ChannelOut:
        """One channel; its credentials are listed by name only."""
        return channel_out(await get_channel(principal, channel_id, _settings(request)))

    @post("/", guards=[requires(Permission.MANAGE_CHANNELS)], summary="Connect a channel")
    async def create(
        self, request: Request[Any, Any, Any], principal: Caller, data: JSONBody[ChannelIn], now: Now
    ) -> ChannelOut:
        """A new channel; 400 for an unknown platform or missing credentials, which are sealed and never shown."""
        new = NewChannel(platform=data.platform, name=data.name, config=data.config, credentials=data.credentials)
        return channel_out(await create_channel(principal, new, _settings(request), now))

    @patch("/{channel_id:str}", guards=[requires(Permission.MANAGE_CHANNELS)], summary="Change a channel")
    async def update(
        self,
        request: Request[Any, Any, Any],
        principal: Caller,
        channel_id: FromPath[str],
        data: JSONBody[ChannelPatch],
        now: Now,
    ) -> ChannelOut:
        """Change some fields; credentials named in the body are replaced, others kept; new ones re-authorise."""
        view = await update_channel(principal, channel_id, channel_changes(data), _settings(request), now)
        return channel_out(view)

    @post(
        "/{channel_id:str}/check",
        guards=[requires(Permission.MANAGE_CHANNELS)],
        summary="Check a channel's credentials with its platform",
        status_code=200,
    )
    async def check(
        self, request: Request[Any, Any, Any], principal: Caller, channel_id: FromPath[str], now: Now
    ) -> ChannelCheckOut:
        """Ask the platform whether the credentials work (LINE bot info, X users/me, ...).

        A refusal marks the channel unhealthy with the platform's reason; an accepted check re-activates an
        unhealthy channel (after a fix made on the platform's side, such as an IP whitelist). 502 when the
        platform cannot be reached: nothing is changed then.
        """
        result = await check_channel(principal, channel_id, _settings(request), now)
        return ChannelCheckOut(checked=result.checked, problem=result.problem, channel=channel_out(result.channel))

    @delete("/{channel_id:str}", guards=[requires(Permission.MANAGE_CHANNELS)], summary="Disconnect a channel")
    async def remove(self, principal: Caller, channel_id: FromPath[str], now: Now) -> None:
        """Delete a channel and its credentials."""
        await delete_channel(principal, channel_id, now)
