"""Run the real `scrm` command as a child process, as a user or an operator would."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

SCRM = [sys.executable, "-m", "scrm"]


def scrm_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of a child `scrm`: this one without any SCRM_* variable, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRM_")}
    env.update(extra)
    return env


def run_scrm(args: list[str], env: Mapping[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run one `scrm` command to completion."""
    return subprocess.run(
        [*SCRM, *args], env=scrm_env(env), capture_output=True, text=True, timeout=timeout, check=False
    )


def start_scrm(args: list[str], env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a long-running `scrm` command with its output going to `log`."""
    with log.open("wb") as out:
        return subprocess.Popen([*SCRM, *args], env=scrm_env(env), stdout=out, stderr=subprocess.STDOUT)


def wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> dict[str, object]:
    """Poll `url`/health until it answers 200; fail with the process's output if it dies or takes too long."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"scrm exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            response = httpx.get(f"{url}/health", timeout=2)
            if response.status_code == 200:
                body: dict[str, object] = response.json()
                return body
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"scrm did not become healthy in {timeout:.0f} s:\n{log.read_text(errors='replace')}")


def stop(process: subprocess.Popen[bytes], timeout: float = 60) -> int:
    """SIGTERM the process and wait for it to exit; returns its exit code."""
    process.terminate()
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


def sign_in(http: httpx.Client, email: str, password: str) -> None:
    """Sign in through the real login form (CSRF token included), keeping the session cookie in `http`."""
    form = http.get("/login", headers={"accept": "text/html"})
    found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert found, "the login page has no CSRF token"
    data = {"email": email, "password": password, "csrf_token": found.group(1), "next": "/"}
    answer = http.post("/login", data=data, headers={"accept": "text/html"})
    assert answer.status_code < 400, answer.text
