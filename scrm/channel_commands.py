"""`scrm channels`: connect, list, show, change and disconnect channels from the command line (`--json` for machines).

The commands act for no user: they have an owner's reach in the workspace they touch and are audited as
`cli`. They call the same service as the API (`scrm.channels`), so the same rules apply to both.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any, TypeVar

import click
from pymongo.errors import DuplicateKeyError
from rich.console import Console
from rich.table import Table

from scrm.auth.accounts import AccountError, get_workspace
from scrm.auth.roles import Principal
from scrm.channel_checks import ChannelCheckFailed, CheckResult, check_channel
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
    workspace_of_channel,
)
from scrm.command_context import load_settings, run_with_database, start_embedded, with_development_key
from scrm.embedded import EmbeddedMongo
from scrm.models import ChannelStatus, NotInWorkspace, Role, SecretKeyError
from scrm.models.base import utcnow
from scrm.settings import Settings

T = TypeVar("T")
ACTOR = "cli"
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
SET_OPTION = click.option("--set", "to_set", multiple=True, metavar="KEY=VALUE", help="A credential (repeatable).")


class ChannelCommandError(click.ClickException):
    """A refused channel command: the message says why, the exit status is 2 and nothing was changed."""

    exit_code = 2


def _run(work: Callable[[Principal, Settings], Awaitable[T]], *, workspace: str = "", channel: str = "") -> T:
    """Run `work` for the workspace named (or the one owning `channel`), mapping refusals to exit status 2."""
    settings = load_settings()
    if settings.embedded:
        start_embedded(EmbeddedMongo(settings.home, settings.mongod_port))

    async def session(settings: Settings) -> T:
        found = (await get_workspace(workspace)).id if workspace else await workspace_of_channel(channel)
        assert found is not None
        return await work(Principal(workspace_id=found, role=Role.OWNER, actor=ACTOR), settings)

    try:
        return run_with_database(session)
    except (ChannelRefused, NotInWorkspace, AccountError, SecretKeyError) as exc:
        raise ChannelCommandError(str(exc)) from None
    except DuplicateKeyError:
        raise ChannelCommandError("Another channel of the workspace already has this name") from None


def _pairs(values: tuple[str, ...], option: str, *, parse: bool = False) -> dict[str, Any]:
    """`key=value` arguments as a mapping; a value is read as JSON when `parse` and it is valid JSON."""
    pairs: dict[str, Any] = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not CREDENTIAL_NAME.match(key) or not text:
            raise click.BadParameter(f"expected key=value with a lower-case key, got {value!r}", param_hint=option)
        pairs[key] = _json_or_text(text) if parse else text
    return pairs


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _emit(as_json: bool, data: dict[str, Any], text: str) -> None:
    click.echo(json.dumps(data, default=str) if as_json else text)


def _describe(view: ChannelView) -> str:
    reason = f" ({view.status_reason})" if view.status_reason else ""
    return (
        f"{view.id}  {view.platform}  {view.name}\nstatus: {view.status}{reason}\nwebhook URL: {view.webhook_url}\n"
        f"credentials: {', '.join(view.credential_names) or '-'}\nconfig: {json.dumps(view.config)}\n"
        f"last pull: {view.synced_at or '-'}{'  ' + view.sync_problem if view.sync_problem else ''}"
    )


@click.group()
def channels() -> None:
    """Channels: connected accounts on each platform; credentials are sealed and never shown."""


@channels.command("add")
@click.argument("platform")
@click.option("--workspace", "workspace_name", required=True, help="The workspace's name.")
@click.option("--name", required=True, help="The channel's name, unique in the workspace.")
@SET_OPTION
@click.option("--config", "config", multiple=True, metavar="KEY=VALUE", help="A setting; JSON values allowed.")
@JSON_OPTION
def channels_add(
    platform: str, workspace_name: str, name: str, to_set: tuple[str, ...], config: tuple[str, ...], as_json: bool
) -> None:
    """Connect a PLATFORM channel; prints its id and the webhook URL to give the platform."""
    new = NewChannel(platform, name, _pairs(config, "--config", parse=True), _pairs(to_set, "--set"))
    settings = with_development_key(load_settings())

    async def work(principal: Principal, _: Settings) -> ChannelView:
        return await create_channel(principal, new, settings, utcnow())

    view = _run(work, workspace=workspace_name)
    text = f"Channel {view.id} ({view.platform}, {view.name!r}) connected.\nWebhook URL: {view.webhook_url}"
    _emit(as_json, {"id": view.id, "webhook_url": view.webhook_url}, text)


@channels.command("list")
@click.option("--workspace", "workspace_name", required=True, help="The workspace's name.")
@JSON_OPTION
def channels_list(workspace_name: str, as_json: bool) -> None:
    """List a workspace's channels with their status and webhook URL."""
    views = _run(list_channels, workspace=workspace_name)
    if as_json:
        _emit(True, {"channels": [asdict(v) for v in views]}, "")
        return
    table = Table("id", "platform", "name", "status", "reason", "webhook URL", title=f"Channels of {workspace_name}")
    for view in views:
        table.add_row(view.id, view.platform, view.name, view.status, view.status_reason, view.webhook_url)
    Console(width=200).print(table)


@channels.command("show")
@click.argument("channel_id")
@JSON_OPTION
def channels_show(channel_id: str, as_json: bool) -> None:
    """Show one channel: status and reason, webhook URL, credential names, config and last pull."""

    async def work(principal: Principal, settings: Settings) -> ChannelView:
        return await get_channel(principal, channel_id, settings)

    view = _run(work, channel=channel_id)
    _emit(as_json, asdict(view), _describe(view))


@channels.command("set")
@click.argument("channel_id")
@SET_OPTION
@click.option("--unset", "to_unset", multiple=True, metavar="KEY", help="Remove a credential (repeatable).")
@click.option("--name", default=None, help="A new name.")
@click.option("--status", type=click.Choice(["active", "disabled"]), default=None, help="Enable or disable.")
@JSON_OPTION
def channels_set(
    channel_id: str,
    to_set: tuple[str, ...],
    to_unset: tuple[str, ...],
    name: str | None,
    status: str | None,
    as_json: bool,
) -> None:
    """Change a channel; new credentials re-authorise an unhealthy channel (it becomes active again)."""
    credentials: dict[str, str | None] = {**dict.fromkeys(to_unset), **_pairs(to_set, "--set")}
    changes = ChannelChanges(name=name, status=ChannelStatus(status) if status else None, credentials=credentials)
    settings = with_development_key(load_settings()) if to_set else load_settings()

    async def work(principal: Principal, _: Settings) -> ChannelView:
        return await update_channel(principal, channel_id, changes, settings, utcnow())

    view = _run(work, channel=channel_id)
    _emit(as_json, asdict(view), _describe(view))


@channels.command("remove")
@click.argument("channel_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@JSON_OPTION
def channels_remove(channel_id: str, yes: bool, as_json: bool) -> None:
    """Disconnect a channel and destroy its credentials (asks first unless --yes)."""

    async def find(principal: Principal, settings: Settings) -> ChannelView:
        return await get_channel(principal, channel_id, settings)

    async def remove(principal: Principal, _: Settings) -> None:
        await delete_channel(principal, channel_id, utcnow())

    view = _run(find, channel=channel_id)
    if not yes:
        click.confirm(f"Disconnect {view.platform} channel {view.name!r} and destroy its credentials?", abort=True)
    _run(remove, channel=channel_id)
    _emit(as_json, {"id": view.id, "removed": True}, f"Channel {view.id} ({view.name!r}) disconnected.")


def check_text(result: CheckResult) -> str:
    """What `scrm channels check` prints: the platform's answer, and a warning line when the credentials end soon."""
    view = result.channel
    if not result.checked:
        return f"The {view.platform} connector has no credential check; the channel is {view.status}."
    if result.problem is not None:
        return f"{view.platform} refused the credentials: {result.problem}"
    text = f"{view.platform} accepted the credentials; the channel is {view.status}."
    if view.credentials_warning:
        ends = f" on {view.credentials_expire_at:%Y-%m-%d}" if view.credentials_expire_at else ""
        text += f"\nWarning: they end{ends} — re-authorise before then ({view.credentials_warning})."
    return text


@channels.command("check")
@click.argument("channel_id")
@JSON_OPTION
def channels_check(channel_id: str, as_json: bool) -> None:
    """Ask the platform whether the channel's credentials still work; record the answer as the channel's health.

    Exits with status 1 when the platform refused them (the channel is then unhealthy, with the reason); an
    unhealthy channel whose credentials are accepted again is set active.
    """

    async def work(principal: Principal, settings: Settings) -> CheckResult:
        return await check_channel(principal, channel_id, settings, utcnow())

    try:
        result = _run(work, channel=channel_id)
    except ChannelCheckFailed as exc:
        raise click.ClickException(str(exc)) from None
    data = {"checked": result.checked, "problem": result.problem, "channel": asdict(result.channel)}
    _emit(as_json, data, check_text(result))
    if result.problem is not None:
        sys.exit(1)
