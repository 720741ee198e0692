"""The workspace scope: every query it makes is filtered on the workspace, and the guard catches any that is not."""

from __future__ import annotations

import pytest

from scrm.models import Contact, NotInWorkspace, WorkspaceScope, across_workspaces
from tests.api.scope_guard import ScopeGuard
from tests.api.world import World


async def test_the_guard_catches_a_query_that_forgot_its_workspace(world: World, scope_guard: ScopeGuard) -> None:
    contact = await world.a.scope.insert(Contact(workspace_id=world.a.scope.workspace_id, name="Lin"))
    with scope_guard.watching() as unscoped:
        await Contact.find({"name": "Lin"}).to_list()
        await Contact.find_one({"_id": contact.id})
        await contact.set({Contact.name: "Lin Wu"})
    assert len(unscoped) == 3 and all("without workspace_id" in v for v in unscoped)


async def test_queries_through_the_scope_pass_the_guard(world: World, scope_guard: ScopeGuard) -> None:
    scope = world.a.scope
    with scope_guard.watching() as unscoped:
        contact = await scope.insert(Contact(workspace_id=scope.workspace_id, name="Lin"))
        assert contact.id is not None
        found = await scope.get(Contact, contact.id)
        found.name = "Lin Wu"
        await scope.replace(found)
        assert await scope.count(Contact, {"name": "Lin Wu"}) == 1
        await scope.delete(found)
        with across_workspaces("counting every workspace's contacts on purpose"):
            await Contact.find_all().count()
    assert unscoped == []


async def test_a_scope_never_reaches_into_another_workspace(world: World) -> None:
    theirs = await world.b.scope.insert(Contact(workspace_id=world.b.scope.workspace_id, name="Bo"))
    assert theirs.id is not None
    with pytest.raises(NotInWorkspace):
        await world.a.scope.get(Contact, theirs.id)
    with pytest.raises(NotInWorkspace):
        await world.a.scope.replace(theirs)
    with pytest.raises(NotInWorkspace):
        await world.a.scope.insert(Contact(workspace_id=world.b.scope.workspace_id, name="Sneaky"))
    forged = theirs.model_copy(update={"workspace_id": world.a.scope.workspace_id, "name": "Taken"})
    with pytest.raises(NotInWorkspace):
        await WorkspaceScope(world.a.scope.workspace_id).replace(forged)
    await world.a.scope.delete(forged)
    still = await world.b.scope.get(Contact, theirs.id)
    assert still.name == "Bo"
