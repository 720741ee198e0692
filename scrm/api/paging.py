"""Ids in paths and cursors in queries: parsing them at the edge with clear answers."""

from __future__ import annotations

from typing import Annotated, Any

from beanie import PydanticObjectId
from litestar.exceptions import ValidationException
from litestar.params import QueryParameter

from scrm.models import NotInWorkspace

DEFAULT_LIMIT = 50
Limit = Annotated[int, QueryParameter(ge=1, le=200, description="How many items to return (1-200).")]
Cursor = Annotated[str | None, QueryParameter(description="`next_cursor` of the previous page; omit for the first.")]


def parse_id(value: str, kind: str) -> PydanticObjectId:
    """The object id in a path; an id that cannot exist is a 404 like any id of another workspace."""
    if not PydanticObjectId.is_valid(value):
        raise NotInWorkspace(f"No {kind} {value} in this workspace")
    return PydanticObjectId(value)


def parse_cursor(cursor: str | None) -> PydanticObjectId | None:
    """The position a cursor names; 400 for a cursor this API did not hand out."""
    if cursor is None or cursor == "":
        return None
    if not PydanticObjectId.is_valid(cursor):
        raise ValidationException(f"Invalid cursor {cursor!r}: pass the `next_cursor` of the previous page")
    return PydanticObjectId(cursor)


def before(cursor: PydanticObjectId | None) -> dict[str, Any]:
    """The filter of items after the cursor in newest-first order."""
    return {} if cursor is None else {"_id": {"$lt": cursor}}


def next_cursor(ids: list[PydanticObjectId | None], limit: int) -> str | None:
    """The cursor of the next page: the last id when the page is full (one extra item was fetched)."""
    if len(ids) <= limit or ids[limit - 1] is None:
        return None
    return str(ids[limit - 1])
