"""The `scrm` command as people run it: help everywhere, clear errors, and `scrm up` stopping cleanly."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from scrm.cli import main
from scrm.demo import DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD
from scrm.embedded import EmbeddedMongo
from tests.conftest import free_port
from tests.processes import run_scrm, sign_in, start_scrm, stop, wait_healthy

COMMANDS = [
    [],
    ["up"],
    ["serve"],
    ["webhooks"],
    ["worker"],
    ["db"],
    ["db", "start"],
    ["db", "stop"],
    ["db", "status"],
    ["demo"],
    ["demo", "load"],
    ["settings"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) or "scrm" for c in COMMANDS])
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_a_bad_setting_is_a_usage_error_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCRM_PORT", "not-a-port")
    result = CliRunner().invoke(main, ["settings"])
    assert result.exit_code == 2
    assert "SCRM_PORT='not-a-port' is not valid" in result.output


def test_a_role_without_a_database_says_what_to_do(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SCRM_MONGODB_URI", raising=False)
    monkeypatch.setenv("SCRM_HOME", str(tmp_path))
    monkeypatch.setenv("SCRM_MONGOD_PORT", str(free_port()))
    result = CliRunner().invoke(main, ["worker"])
    assert result.exit_code == 2
    assert "SCRM_MONGODB_URI" in result.output and "scrm db start" in result.output


def test_db_start_status_and_stop(tmp_path: Path) -> None:
    env = {"SCRM_HOME": str(tmp_path), "SCRM_MONGOD_PORT": str(free_port())}
    try:
        assert run_scrm(["db", "start"], env).returncode == 0
        status = json.loads(run_scrm(["db", "status", "--json"], env).stdout)
        assert status["running"] is True and status["primary"] is True and status["version"] == "6.0.5"
        again = run_scrm(["db", "start"], env)
        assert "already running" in again.stderr
    finally:
        stopped = run_scrm(["db", "stop"], env)
    assert "stopped" in stopped.stderr
    assert json.loads(run_scrm(["db", "status", "--json"], env).stdout)["running"] is False


def test_up_serves_the_demo_and_sigterm_stops_mongod_too(tmp_path: Path) -> None:
    port, mongod_port = free_port(), free_port()
    env = {"SCRM_HOME": str(tmp_path / "home"), "SCRM_PORT": str(port), "SCRM_MONGOD_PORT": str(mongod_port)}
    url = f"http://127.0.0.1:{port}"
    server = EmbeddedMongo(tmp_path / "home", mongod_port)
    process = start_scrm(["up", "--demo"], env, tmp_path / "up.log")
    try:
        health = wait_healthy(url, process, tmp_path / "up.log")
        assert health["mongodb"] == {"ok": True, "version": "6.0.5", "primary": True}
        mongod_pid = server.running_pid()
        assert mongod_pid is not None
        with httpx.Client(base_url=url, follow_redirects=True) as browser:
            sign_in(browser, DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD)
            assert "Demo Coffee Co." in browser.get("/", headers={"accept": "text/html"}).text
    finally:
        code = stop(process)
    assert code == 0, (tmp_path / "up.log").read_text()
    assert server.running_pid() is None
    assert not Path(f"/proc/{mongod_pid}/cmdline").exists() or b"mongod" not in _cmdline(mongod_pid)

    again = start_scrm(["up"], env, tmp_path / "up2.log")
    try:
        wait_healthy(url, again, tmp_path / "up2.log")
        with httpx.Client(base_url=url, follow_redirects=True) as browser:
            sign_in(browser, DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD)
            page = browser.get("/", headers={"accept": "text/html"}).text
        assert "Demo Coffee Co." in page, "the data of the first run is reused"
    finally:
        again.send_signal(signal.SIGINT)
        assert again.wait(timeout=60) == 0
    assert server.running_pid() is None


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
