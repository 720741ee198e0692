"""Upgrading a database: indexes of earlier versions that no model declares any more are dropped at connect."""

from __future__ import annotations

from pymongo import ASCENDING

from scrm.db import RETIRED_INDEXES, Database, connect
from scrm.models import CannedResponse, Conversation


async def test_connect_drops_the_retired_indexes_and_keeps_the_declared_ones(
    database: Database, mongo_uri: str, database_name: str
) -> None:
    canned = CannedResponse.get_pymongo_collection()
    await canned.create_index([("workspace_id", ASCENDING), ("name", ASCENDING)], unique=True, name="name_unique")
    conversations = Conversation.get_pymongo_collection()
    await conversations.create_index([("workspace_id", ASCENDING), ("assignee_id", ASCENDING)], name="inbox_assignee")

    again = await connect(mongo_uri, database_name)
    try:
        canned_names = set(await again.db["canned_responses"].index_information())
        conversation_names = set(await again.db["conversations"].index_information())
    finally:
        await again.close()
    assert not canned_names & set(RETIRED_INDEXES["canned_responses"]) and "owner_name_unique" in canned_names
    assert not conversation_names & set(RETIRED_INDEXES["conversations"])
    assert {"inbox_recent", "inbox_assignee_channel"} <= conversation_names


async def test_a_fresh_database_connects_with_nothing_to_drop(mongo_uri: str, database_name: str) -> None:
    fresh = await connect(mongo_uri, database_name + "_fresh")
    try:
        assert "owner_name_unique" in set(await fresh.db["canned_responses"].index_information())
    finally:
        await fresh.client.drop_database(database_name + "_fresh")
        await fresh.close()
