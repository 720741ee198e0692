"""`scrm workspaces|users|tokens|secrets`: set up access from scripts and at the first start (`--json` for machines)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from scrm.auth.accounts import AccountError, add_member, change_role, create_user, find_user, get_workspace
from scrm.auth.passwords import WeakPassword
from scrm.auth.rotation import check_keys, rotate_channel_credentials
from scrm.auth.tokens import create_token, find_by_prefix, list_tokens, revoke_token
from scrm.models import Channel, Role, SecretBox, SecretKeyError, Workspace, WorkspaceScope
from scrm.models.base import utcnow
from scrm.settings import Settings, SettingsError

T = TypeVar("T")
ROLE = click.Choice([r.value for r in Role])
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None


def run_with_database(work: Callable[[Settings], Awaitable[T]]) -> T:
    """Connect to scrm's MongoDB (starting the embedded one when that is the one in use), run `work`, close."""
    from scrm.db import connect, mongodb_uri
    from scrm.embedded import EmbeddedMongo, EmbeddedMongoError

    settings = _settings()
    if settings.embedded:
        try:
            EmbeddedMongo(settings.home, settings.mongod_port).start()
        except EmbeddedMongoError as exc:
            raise click.ClickException(str(exc)) from None

    async def session() -> T:
        database = await connect(mongodb_uri(settings), settings.database)
        try:
            return await work(settings)
        finally:
            await database.close()

    try:
        return asyncio.run(session())
    except (AccountError, WeakPassword, SecretKeyError) as exc:
        raise click.ClickException(str(exc)) from None


def emit(as_json: bool, data: dict[str, Any], text: str) -> None:
    """Print `data` as JSON for machines, or `text` for people."""
    click.echo(json.dumps(data, default=str) if as_json else text)


@click.group()
def workspaces() -> None:
    """Workspaces (tenants): every contact, channel and message belongs to one."""


@workspaces.command("create")
@click.argument("name")
@click.option("--display-name", default="", help="The name people see (defaults to NAME).")
@JSON_OPTION
def workspaces_create(name: str, display_name: str, as_json: bool) -> None:
    """Create the workspace NAME (lower-case letters, digits, - and _)."""
    from scrm.auth.accounts import create_workspace

    async def work(_: Settings) -> Workspace:
        return await create_workspace(name, utcnow(), actor="cli", display_name=display_name)

    workspace = run_with_database(work)
    emit(as_json, {"id": str(workspace.id), "name": workspace.name}, f"Workspace {workspace.name} created.")


@workspaces.command("list")
@JSON_OPTION
def workspaces_list(as_json: bool) -> None:
    """List every workspace."""

    async def work(_: Settings) -> list[dict[str, Any]]:
        found = await Workspace.find_all().sort("+name").to_list()
        return [{"id": str(w.id), "name": w.name, "display_name": w.display_name} for w in found]

    rows = run_with_database(work)
    emit(as_json, {"workspaces": rows}, "\n".join(f"{r['name']}\t{r['display_name']}" for r in rows))


@click.group()
def users() -> None:
    """People who log in to the web UI, and their role in each workspace."""


@users.command("create")
@click.option("--email", required=True, help="The login email.")
@click.option("--role", type=ROLE, required=True, help="The role in the workspace.")
@click.option("--workspace", "workspace_name", required=True, help="The workspace's name.")
@click.option("--password", default=None, help="The password (asked for, hidden, when left out).")
@JSON_OPTION
def users_create(email: str, role: str, workspace_name: str, password: str | None, as_json: bool) -> None:
    """Create a user with a role in a workspace; an existing user just gets the role in that workspace."""

    async def work(_: Settings) -> tuple[str, bool]:
        workspace = await get_workspace(workspace_name)
        assert workspace.id is not None
        user, created = await find_user(email), False
        if user is None:
            secret = password or click.prompt("Password", hide_input=True, confirmation_prompt=True)
            user, created = await create_user(email, secret, utcnow()), True
        await add_member(workspace.id, user, Role(role), utcnow(), actor="cli")
        return user.email, created

    address, created = run_with_database(work)
    data = {"email": address, "workspace": workspace_name, "role": role, "created": created}
    emit(as_json, data, f"{address} is {role} of {workspace_name}{'' if created else ' (existing user)'}.")


@users.command("set-role")
@click.option("--email", required=True)
@click.option("--role", type=ROLE, required=True)
@click.option("--workspace", "workspace_name", required=True)
@JSON_OPTION
def users_set_role(email: str, role: str, workspace_name: str, as_json: bool) -> None:
    """Give a member another role in a workspace (recorded in the audit log)."""

    async def work(_: Settings) -> None:
        workspace, user = await get_workspace(workspace_name), await find_user(email)
        if user is None or user.id is None or workspace.id is None:
            raise AccountError(f"No user with the email {email}")
        await change_role(WorkspaceScope(workspace.id), user.id, Role(role), utcnow(), actor="cli")

    run_with_database(work)
    emit(as_json, {"email": email, "workspace": workspace_name, "role": role}, f"{email} is now {role}.")


@click.group()
def tokens() -> None:
    """API tokens for `/api/v1` (sent as `Authorization: Bearer <token>`)."""


@tokens.command("create")
@click.option("--workspace", "workspace_name", required=True)
@click.option("--role", type=ROLE, required=True)
@click.option("--name", default="cli", help="A label to recognise the token by.")
@click.option("--channel", "channels", multiple=True, help="For agents: a channel (by name) the token may see.")
@JSON_OPTION
def tokens_create(workspace_name: str, role: str, name: str, channels: tuple[str, ...], as_json: bool) -> None:
    """Create a token and print it; it is stored hashed and cannot be shown again."""

    async def work(_: Settings) -> dict[str, Any]:
        workspace = await get_workspace(workspace_name)
        assert workspace.id is not None
        scope = WorkspaceScope(workspace.id)
        found = [await scope.find_one(Channel, {"name": n}) for n in channels]
        if None in found:
            raise AccountError(f"No channel named {channels[found.index(None)]!r} in {workspace_name}")
        ids = [c.id for c in found if c is not None and c.id is not None]
        token, plain = await create_token(scope, Role(role), name, utcnow(), actor="cli", channel_ids=ids)
        return {"id": str(token.id), "prefix": token.prefix, "role": role, "name": name, "token": plain}

    data = run_with_database(work)
    emit(as_json, data, data["token"])


@tokens.command("list")
@click.option("--workspace", "workspace_name", required=True)
@JSON_OPTION
def tokens_list(workspace_name: str, as_json: bool) -> None:
    """List a workspace's tokens (by prefix; their values are never stored)."""

    async def work(_: Settings) -> list[dict[str, Any]]:
        workspace = await get_workspace(workspace_name)
        assert workspace.id is not None
        return [
            {
                "id": str(t.id),
                "prefix": t.prefix,
                "name": t.name,
                "role": t.role.value,
                "revoked": t.revoked_at is not None,
            }
            for t in await list_tokens(WorkspaceScope(workspace.id))
        ]

    rows = run_with_database(work)
    lines = [f"{r['prefix']}…\t{r['role']}\t{r['name']}{'  (revoked)' if r['revoked'] else ''}" for r in rows]
    emit(as_json, {"tokens": rows}, "\n".join(lines))


@tokens.command("revoke")
@click.option("--workspace", "workspace_name", required=True)
@click.argument("token")
@JSON_OPTION
def tokens_revoke(workspace_name: str, token: str, as_json: bool) -> None:
    """Revoke TOKEN (its id, or the prefix shown in lists) at once."""

    async def work(_: Settings) -> dict[str, Any]:
        workspace = await get_workspace(workspace_name)
        assert workspace.id is not None
        scope = WorkspaceScope(workspace.id)
        found = await find_by_prefix(scope, token)
        if found is None or found.id is None:
            raise AccountError(f"No token {token!r} in {workspace_name}")
        revoked = await revoke_token(scope, found.id, utcnow(), actor="cli")
        return {"id": str(revoked.id), "revoked_at": revoked.revoked_at}

    data = run_with_database(work)
    emit(as_json, data, f"Token {data['id']} revoked.")


@click.group()
def secrets() -> None:
    """Secrets at rest: channel credentials are sealed (AES-256-GCM) with a key derived from SCRM_SECRET_KEY."""


@secrets.command("rotate")
@click.option(
    "--from-key",
    envvar="SCRM_PREVIOUS_SECRET_KEY",
    prompt="The previous SCRM_SECRET_KEY",
    hide_input=True,
    help="The key being replaced (else SCRM_PREVIOUS_SECRET_KEY, else asked for, hidden).",
)
@JSON_OPTION
def secrets_rotate(from_key: str, as_json: bool) -> None:
    """Re-seal every channel credential from the previous key to the current SCRM_SECRET_KEY.

    To rotate: (1) stop scrm; (2) set SCRM_SECRET_KEY to the new key; (3) run `scrm secrets rotate` and give
    the old key when asked (or in SCRM_PREVIOUS_SECRET_KEY, which keeps it out of the shell history);
    (4) start scrm. Safe to run again: values already sealed with the new key are left alone.
    """

    async def work(settings: Settings) -> dict[str, Any]:
        old, new = SecretBox.from_secret_key(from_key), SecretBox.from_secret_key(settings.secret_key)
        check_keys(old, new)
        report = await rotate_channel_credentials(old, new, utcnow())
        return {"resealed": report.resealed, "current": report.current, "unknown_keys": dict(report.unknown_keys)}

    data = run_with_database(work)
    unknown = sum(data["unknown_keys"].values())
    note = f"; {unknown} sealed by other keys left as they are" if unknown else ""
    emit(as_json, data, f"Re-sealed {data['resealed']} secrets ({data['current']} already current){note}.")


COMMANDS = (workspaces, users, tokens, secrets)
