"""API test fixtures: an app with a secret key and a fixed clock, two workspaces, and the scope guard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from scrm.app import create_app
from scrm.db import Database
from scrm.settings import Settings
from tests.api.scope_guard import ScopeGuard, installed_guard
from tests.api.world import SECRET_KEY, World, make_world
from tests.conftest import serving


@pytest.fixture(scope="session")
def scope_guard() -> ScopeGuard:
    """The MongoDB command listener that catches unscoped tenant queries (registered before any client)."""
    return installed_guard()


@pytest.fixture
def keyed_settings(mongo_uri: str, database_name: str, tmp_path: Path) -> Settings:
    """Test settings with SCRM_SECRET_KEY set."""
    return Settings.from_env(
        {
            "SCRM_MONGODB_URI": mongo_uri,
            "SCRM_DATABASE": database_name,
            "SCRM_HOME": str(tmp_path / "home"),
            "SCRM_SECRET_KEY": SECRET_KEY,
        }
    )


@pytest.fixture
async def api(
    scope_guard: ScopeGuard, keyed_settings: Settings, database: Database, now: datetime
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the full app, whose clock stands still at `now`.

    Every request it sends is watched by the scope guard: a tenant query without a workspace filter made while
    serving any API test fails that test.
    """
    app = create_app(keyed_settings, webhooks=True)
    app.state.clock = lambda: now

    async def watch(_: httpx.Request) -> None:
        scope_guard.active = True

    async def unwatch(_: httpx.Response) -> None:
        scope_guard.active = False

    scope_guard.violations = []
    async with serving(app) as http:
        http.event_hooks = {"request": [watch], "response": [unwatch]}
        yield http
    scope_guard.active = False
    assert scope_guard.violations == [], "queries without a workspace filter (use WorkspaceScope)"


@pytest.fixture
async def world(database: Database, now: datetime) -> World:
    """Workspaces `a` and `b`, each with channels and a token per role."""
    return await make_world(now)
