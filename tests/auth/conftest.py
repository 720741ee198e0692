"""Fixtures for access tests: an app on a clock the test moves, and a user with a role in a workspace."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import pytest

from scrm.app import create_app
from scrm.auth.accounts import add_member, create_user, create_workspace
from scrm.db import Database
from scrm.models import Role, User, Workspace
from scrm.settings import Settings
from tests.api.conftest import api, keyed_settings, scope_guard, world
from tests.conftest import serving

__all__ = ["api", "keyed_settings", "scope_guard", "world"]

PASSWORD = "correct horse battery"


class MovableClock:
    """A clock standing still at a time the test chooses, moved forward on demand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move the clock forward by `timedelta(**delta)`."""
        self.now += timedelta(**delta)


@dataclass
class Member:
    """A user with the password PASSWORD and a role in a workspace."""

    user: User
    workspace: Workspace
    role: Role


@pytest.fixture
def clock(now: datetime) -> MovableClock:
    """The app's clock, starting at the fixed `now`."""
    return MovableClock(now)


@pytest.fixture
async def web(keyed_settings: Settings, database: Database, clock: MovableClock) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client of the full app (it keeps cookies), on the movable clock."""
    app = create_app(keyed_settings, webhooks=True)
    app.state.clock = clock
    async with serving(app) as http:
        yield http


@pytest.fixture
async def member(database: Database, now: datetime) -> Member:
    """`ana@example.com`, admin of the workspace `acme`."""
    workspace = await create_workspace("acme", now, actor="test", display_name="Acme Inc.")
    user = await create_user("Ana@Example.com", PASSWORD, now)
    assert workspace.id is not None
    await add_member(workspace.id, user, Role.ADMIN, now, actor="test")
    return Member(user=user, workspace=workspace, role=Role.ADMIN)
