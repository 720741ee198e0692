"""Meta's id spaces: every id the Meta connector hands out names the product space it belongs to.

One Meta channel reaches three products that number people and objects independently:

- ``facebook``: the Page, its posts and comments, and Messenger. A person who messages the Page gets a
  page-scoped id (PSID), which differs for the same person on another Page and from any app-scoped id.
- ``instagram``: the professional account, its media and comments, and Instagram Direct (Instagram-scoped
  ids, IGSID); unrelated to the person's PSID even when the account is linked to the Page.
- ``whatsapp``: the business phone number; a person is their ``wa_id`` (a phone number in digits).

Ids are written ``<space>:<graph id>`` (``facebook:1254459154682919``, ``whatsapp:wamid.HBgL...``) so that ids
from different spaces can never collide in one platform key, and so that a reply addressed to a conversation
or comment id reaches the right product without further lookups.
"""

from __future__ import annotations

from enum import StrEnum


class Space(StrEnum):
    """The Meta product an id belongs to."""

    FACEBOOK = "facebook"
    INSTAGRAM = "instagram"
    WHATSAPP = "whatsapp"


def scoped(space: Space, graph_id: str | int) -> str:
    """Return ``graph_id`` named with its space, as the connector hands ids out."""
    return f"{space}:{graph_id}"


def split_scoped(value: str) -> tuple[Space, str]:
    """Return the space and the Graph id of an id the connector handed out; ValueError for anything else."""
    prefix, sep, graph_id = value.partition(":")
    if not sep or not graph_id:
        raise ValueError(f"not a Meta id with a product space: {value!r}")
    try:
        return Space(prefix), graph_id
    except ValueError:
        raise ValueError(f"unknown Meta product space {prefix!r} in {value!r}") from None


def graph_id(value: str) -> str:
    """Return the bare Graph id of a scoped id, or ``value`` itself when it names no space."""
    try:
        return split_scoped(value)[1]
    except ValueError:
        return value
