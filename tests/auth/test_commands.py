"""The `scrm workspaces|users|tokens|secrets` commands, run as a script would run them (`--json`)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from beanie import PydanticObjectId

from scrm.models import ChannelCredentials, Role, SecretBox, SecretKeyMismatch, User
from tests.api.world import SECRET_KEY, World
from tests.processes import SCRM, scrm_env

NEW_KEY = "the-next-secret-key-after-rotation-0123456789"


@pytest.fixture
def env(mongo_uri: str, database_name: str, tmp_path: Any) -> dict[str, str]:
    """The environment of a `scrm` command working on the test database."""
    return {
        "SCRM_MONGODB_URI": mongo_uri,
        "SCRM_DATABASE": database_name,
        "SCRM_HOME": str(tmp_path / "home"),
        "SCRM_SECRET_KEY": SECRET_KEY,
    }


async def scrm(env: dict[str, str], *args: str, given: str | None = None) -> Ran:
    """Run one `scrm` command as a child process, as a script would."""
    done = await asyncio.to_thread(
        subprocess.run, [*SCRM, *args], input=given, env=scrm_env(env), capture_output=True, text=True, timeout=120
    )
    return Ran(exit_code=done.returncode, stdout=done.stdout, output=done.stdout + done.stderr)


@dataclass(frozen=True)
class Ran:
    """What a finished command left: its exit code, its standard output, and everything it printed."""

    exit_code: int
    stdout: str
    output: str


def output(result: Ran) -> dict[str, Any]:
    """The JSON object a successful `--json` command printed."""
    assert result.exit_code == 0, result.output
    found: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


async def test_the_first_start_from_a_script(env: dict[str, str], api: httpx.AsyncClient) -> None:
    assert output(await scrm(env, "workspaces", "create", "acme", "--json"))["name"] == "acme"
    user = output(
        await scrm(
            env,
            "users",
            "create",
            "--email",
            "Boss@Acme.example",
            "--role",
            "owner",
            "--workspace",
            "acme",
            "--json",
            given="a long enough password\na long enough password\n",
        )
    )
    assert user == {"email": "boss@acme.example", "workspace": "acme", "role": "owner", "created": True}
    stored = await User.find_one({"email": "boss@acme.example"})
    assert stored is not None and stored.password_hash.startswith("$argon2id$")
    token = output(
        await scrm(env, "tokens", "create", "--workspace", "acme", "--role", "viewer", "--name", "ci", "--json")
    )
    headers = {"authorization": f"Bearer {token['token']}"}
    answer = await api.get("/api/v1/workspace", headers=headers)
    assert answer.status_code == 200 and answer.json()["name"] == "acme" and answer.json()["role"] == "viewer"
    listed = output(await scrm(env, "tokens", "list", "--workspace", "acme", "--json"))["tokens"]
    assert [(t["prefix"], t["role"], t["revoked"]) for t in listed] == [(token["prefix"], "viewer", False)]
    assert token["token"] not in str(listed)
    assert output(await scrm(env, "workspaces", "list", "--json"))["workspaces"][0]["name"] == "acme"
    revoked = output(await scrm(env, "tokens", "revoke", "--workspace", "acme", token["prefix"], "--json"))
    assert revoked["id"] == token["id"] and revoked["revoked_at"]
    assert (await api.get("/api/v1/workspace", headers=headers)).status_code == 401


async def test_tokens_create_prints_only_the_token_without_json(env: dict[str, str], world: World) -> None:
    result = await scrm(
        env,
        "tokens",
        "create",
        "--workspace",
        world.a.workspace.name,
        "--role",
        "agent",
        "--channel",
        "alpha-agent-bot",
    )
    assert result.exit_code == 0 and result.stdout.strip().startswith("scrm_") and "\n" not in result.stdout.strip()


async def test_mistakes_are_clear_errors(env: dict[str, str], world: World) -> None:
    taken = await scrm(env, "workspaces", "create", world.a.workspace.name)
    assert taken.exit_code == 1 and "already exists" in taken.output
    short = await scrm(
        env,
        "users",
        "create",
        "--email",
        "x@example.com",
        "--role",
        "viewer",
        "--workspace",
        world.a.workspace.name,
        "--password",
        "short",
    )
    assert short.exit_code == 1 and "from 10 to" in short.output
    nowhere = await scrm(env, "tokens", "create", "--workspace", "nowhere", "--role", "viewer")
    assert nowhere.exit_code == 1 and "No workspace named 'nowhere'" in nowhere.output
    bad_role = await scrm(env, "tokens", "create", "--workspace", world.a.workspace.name, "--role", "king")
    assert bad_role.exit_code == 2


async def test_rotation_reseals_every_credential_with_the_new_key(env: dict[str, str], world: World) -> None:
    rotated_env = {**env, "SCRM_SECRET_KEY": NEW_KEY}
    report = output(await scrm(rotated_env, "secrets", "rotate", "--from-key", SECRET_KEY, "--json"))
    assert report == {"resealed": 4, "current": 0, "unknown_keys": {}}
    channel_id = world.a.agent_channel.id if world.a.agent_channel else PydanticObjectId()
    stored = await ChannelCredentials.find_one({"channel_id": channel_id})
    assert stored is not None
    assert stored.reveal(SecretBox.from_secret_key(NEW_KEY)) == {"bot_token": "alpha-token-1"}
    with pytest.raises(SecretKeyMismatch):
        stored.reveal(SecretBox.from_secret_key(SECRET_KEY))
    again = output(await scrm({**rotated_env, "SCRM_PREVIOUS_SECRET_KEY": SECRET_KEY}, "secrets", "rotate", "--json"))
    assert again == {"resealed": 0, "current": 4, "unknown_keys": {}}


async def test_rotating_to_the_same_key_is_refused(env: dict[str, str], world: World) -> None:
    same = await scrm(env, "secrets", "rotate", "--from-key", SECRET_KEY)
    assert same.exit_code == 1 and "set SCRM_SECRET_KEY to the new key first" in same.output


async def test_the_role_of_a_member_changes_from_the_command_line(env: dict[str, str], world: World) -> None:
    name = world.a.workspace.name
    output(
        await scrm(
            env,
            "users",
            "create",
            "--email",
            "li@example.com",
            "--role",
            "agent",
            "--workspace",
            name,
            "--password",
            "a long enough password",
            "--json",
        )
    )
    changed = output(
        await scrm(
            env, "users", "set-role", "--email", "li@example.com", "--role", "marketer", "--workspace", name, "--json"
        )
    )
    assert changed["role"] == Role.MARKETER.value
