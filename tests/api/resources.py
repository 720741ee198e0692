"""Every `/api/v1` resource, described once so that the isolation tests cover it.

A resource added later needs one `Resource(...)` line here (and, for a collection, a seed function making one
item in a workspace): the tests in `test_isolation.py` then prove for it that no token gets 401, another
workspace's token gets 404, a viewer cannot write and an agent sees only their scope.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from itertools import count
from typing import Any, Literal

from scrm.auth.accounts import add_member, create_user
from scrm.auth.tokens import create_token
from scrm.models import ApiToken, Role
from tests.api.content_seeds import seed_comment, seed_post
from tests.api.world import Side, add_channel, add_contact
from tests.contacts.seeds import seed_merge, seed_merge_suggestion
from tests.inbox.desk import seed_availability, seed_team
from tests.inbox.seeds import seed_canned, seed_conversation, seed_message, seed_note

Reach = Literal["agent", "outside"]
"""Whether a seeded item is within the agent's channels (`agent`) or not (`outside`)."""

Seed = Callable[[Side, Reach], Awaitable[str]]
_serial = count(1)


@dataclass(frozen=True)
class Resource:
    """One API resource: its path, how to make an item of it, and which roles may read and write it.

    `seed` is None for a singleton (such as `/workspace`). `create` and `update` are valid bodies, or None when
    the resource has no such operation; `delete` says whether items can be deleted. `readers` may read,
    `writers` may create and delete, `editors` may update (by default the writers). `agent_scoped` marks
    resources an agent sees only in part.
    """

    path: str
    seed: Seed | None = None
    create: dict[str, Any] | None = None
    update: dict[str, Any] | None = None
    delete: bool = False
    readers: frozenset[Role] = frozenset(Role)
    writers: frozenset[Role] = frozenset()
    editors: frozenset[Role] | None = None
    agent_scoped: bool = False

    def may_edit(self, role: Role) -> bool:
        """May `role` update items of this resource?"""
        return role in (self.writers if self.editors is None else self.editors)

    @property
    def has_items(self) -> bool:
        """Does the resource have `/{id}` items (rather than being one object)?"""
        return self.seed is not None


async def seed_channel(side: Side, reach: Reach) -> str:
    """A new channel, which the agent token is a member of when `reach` is `agent`."""
    channel = await add_channel(side, f"seeded-{next(_serial)}", {"app_secret": "s3cret"})
    if reach == "agent":
        await side.scope.find(ApiToken, {"role": Role.AGENT.value}).update({"$push": {"channel_ids": channel.id}})
    return str(channel.id)


async def seed_contact(side: Side, reach: Reach) -> str:
    """A contact talking on the agent's channel, or on the other one."""
    channel = side.agent_channel if reach == "agent" else side.other_channel
    assert channel is not None
    return str(await add_contact(side, f"Contact {next(_serial)} on {channel.name}", channel))


async def seed_token(side: Side, reach: Reach) -> str:
    """An API token of the workspace."""
    token, _ = await create_token(side.scope, Role.VIEWER, "seeded", side.workspace.created_at, actor="test")
    return str(token.id)


async def seed_member(side: Side, reach: Reach) -> str:
    """A new user who is an agent of the workspace; returns the membership's id."""
    at = side.workspace.created_at
    user = await create_user(f"member{next(_serial)}@example.com", "a long enough password", at)
    member = await add_member(side.scope.workspace_id, user, Role.AGENT, at, actor="test")
    return str(member.id)


ADMINS = frozenset({Role.OWNER, Role.ADMIN})
NOT_AGENT_WRITERS = frozenset({Role.OWNER, Role.ADMIN, Role.MARKETER})

RESOURCES: tuple[Resource, ...] = (
    Resource("/api/v1/workspace"),
    Resource("/api/v1/audit", readers=ADMINS),
    Resource(
        "/api/v1/tokens",
        seed=seed_token,
        create={"name": "ci", "role": "viewer"},
        delete=True,
        readers=ADMINS,
        writers=ADMINS,
    ),
    Resource(
        "/api/v1/channels",
        seed=seed_channel,
        create={"platform": "telegram", "name": "new", "credentials": {"bot_token": "123:abc", "secret_token": "s"}},
        update={"name": "renamed bot", "credentials": {"bot_token": "456:def"}},
        delete=True,
        writers=ADMINS,
        agent_scoped=True,
    ),
    Resource(
        "/api/v1/members", seed=seed_member, update={"role": "marketer"}, delete=True, readers=ADMINS, writers=ADMINS
    ),
    Resource(
        "/api/v1/contacts",
        seed=seed_contact,
        create={"name": "Nora", "email": "nora@example.com", "tags": ["vip"]},
        update={"name": "Nora B."},
        delete=True,
        writers=NOT_AGENT_WRITERS,
        editors=NOT_AGENT_WRITERS | {Role.AGENT},
        agent_scoped=True,
    ),
    Resource(
        "/api/v1/conversations",
        seed=seed_conversation,
        update={"status": "resolved"},
        editors=ADMINS | {Role.AGENT},
        agent_scoped=True,
    ),
    Resource("/api/v1/messages", seed=seed_message, agent_scoped=True),
    Resource("/api/v1/notes", seed=seed_note, agent_scoped=True),
    Resource(
        "/api/v1/canned-responses",
        seed=seed_canned,
        create={"name": "hours", "text": "We are open 8-18.", "personal": False},
        update={"text": "We are open 8-20."},
        delete=True,
        writers=ADMINS,
    ),
    Resource(
        "/api/v1/merge-suggestions",
        seed=seed_merge_suggestion,
        update={"status": "dismissed"},
        editors=NOT_AGENT_WRITERS | {Role.AGENT},
        agent_scoped=True,
    ),
    Resource("/api/v1/merges", seed=seed_merge, agent_scoped=True),
    Resource("/api/v1/posts", seed=seed_post, agent_scoped=True),
    Resource("/api/v1/comments", seed=seed_comment, agent_scoped=True),
    Resource("/api/v1/business-hours", readers=ADMINS),
    Resource("/api/v1/sla-policy", readers=ADMINS),
    Resource("/api/v1/teams", seed=seed_team, create={"name": "A"}, update={"name": "B"}, delete=True, writers=ADMINS),
    Resource("/api/v1/availability", seed=seed_availability, update={"status": "away"}, readers=ADMINS, editors=ADMINS),
    Resource("/api/v1/csat", readers=frozenset(Role) - {Role.AGENT}),  # the report: roles that read reports
)
