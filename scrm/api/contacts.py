"""`/api/v1/contacts`: the workspace's people; agents see and edit only contacts of their channels and teams."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody
from litestar.types import ExceptionHandlersMap

from scrm.api.paging import DEFAULT_LIMIT, Cursor, Limit, before, next_cursor, parse_cursor, parse_id
from scrm.api.security import Caller, Now, requires
from scrm.auth import audit
from scrm.auth.roles import Permission, Principal
from scrm.auth.visibility import contact_filter
from scrm.contacts.editing import ContactInputError, clean_changes, edit_contact, set_blocked
from scrm.contacts.timeline import TimelineInputError, TimelineItem, contact_timeline
from scrm.models import AuditAction, Contact
from scrm.problems import problem_response

Text = Annotated[str, msgspec.Meta(max_length=200)]
Email = Annotated[str, msgspec.Meta(pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)]
Phone = Annotated[str, msgspec.Meta(pattern=r"^\+?[0-9 ()\-.]{3,40}$")]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Tags = Annotated[list[Tag], msgspec.Meta(max_length=100)]
Attributes = Annotated[dict[str, Any], msgspec.Meta(max_length=100)]


class ContactIn(msgspec.Struct, forbid_unknown_fields=True):
    """A contact to create by hand (contacts from channels arrive through ingestion)."""

    name: Text = ""
    email: Email | None = None
    phone: Phone | None = None
    language: Annotated[str, msgspec.Meta(max_length=16)] | None = None
    timezone: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    tags: Tags = msgspec.field(default_factory=list)
    attributes: Attributes = msgspec.field(default_factory=dict)


class ContactPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Changes to a contact; fields left out keep their value."""

    name: Text | msgspec.UnsetType = msgspec.UNSET
    email: Email | msgspec.UnsetType | None = msgspec.UNSET
    phone: Phone | msgspec.UnsetType | None = msgspec.UNSET
    language: Annotated[str, msgspec.Meta(max_length=16)] | msgspec.UnsetType | None = msgspec.UNSET
    timezone: Annotated[str, msgspec.Meta(max_length=64)] | msgspec.UnsetType | None = msgspec.UNSET
    tags: Tags | msgspec.UnsetType = msgspec.UNSET
    attributes: Attributes | msgspec.UnsetType = msgspec.UNSET


class IdentityOut(msgspec.Struct):
    """One account of the contact on one platform."""

    platform: str
    external_id: str
    display_name: str


class ContactOut(msgspec.Struct):
    """A contact as the API shows it."""

    id: str
    name: str
    email: str | None
    phone: str | None
    language: str | None
    timezone: str | None
    tags: list[str]
    attributes: dict[str, Any]
    identities: list[IdentityOut]
    consent: str
    created_at: datetime
    last_seen_at: datetime | None
    blocked: bool = False


class TimelineItemOut(msgspec.Struct):
    """One thing that happened with the contact (`kind`: message_in, message_out, comment, comment_reply, follow,
    unfollow, conversation_opened, merged)."""

    kind: str
    at: datetime
    id: str
    platform: str
    channel_id: str | None
    conversation_id: str | None
    text: str
    other_contact_id: str | None
    undone: bool


class TimelinePageOut(msgspec.Struct):
    """A page of a contact's timeline, newest first, and the cursor of the next page (null on the last)."""

    items: list[TimelineItemOut]
    next_cursor: str | None


def timeline_item_out(item: TimelineItem) -> TimelineItemOut:
    """The API view of a timeline item."""

    def text(oid: Any) -> str | None:
        return None if oid is None else str(oid)

    return TimelineItemOut(
        kind=item.kind,
        at=item.at,
        id=str(item.id),
        platform=item.platform,
        channel_id=text(item.channel_id),
        conversation_id=text(item.conversation_id),
        text=item.text,
        other_contact_id=text(item.other_contact_id),
        undone=item.undone,
    )


class ContactPage(msgspec.Struct):
    """A page of contacts, newest first, and the cursor of the next page (null on the last)."""

    items: list[ContactOut]
    next_cursor: str | None


def contact_out(contact: Contact) -> ContactOut:
    """The API view of a contact."""
    return ContactOut(
        id=str(contact.id),
        name=contact.name,
        email=contact.email,
        phone=contact.phone,
        language=contact.language,
        timezone=contact.timezone,
        tags=contact.tags,
        attributes=contact.attributes,
        identities=[IdentityOut(i.platform, i.external_id, i.display_name) for i in contact.identities],
        consent=contact.consent.status.value,
        created_at=contact.created_at,
        last_seen_at=contact.last_seen_at,
        blocked=contact.blocked,
    )


async def find_visible_contact(principal: Principal, contact_id: str) -> Contact:
    """A contact of the workspace that the principal may see; NotInWorkspace otherwise."""
    return await principal.scope.get(Contact, parse_id(contact_id, "contact"), await contact_filter(principal))


async def contact_page(principal: Principal, cursor: str | None, limit: int) -> ContactPage:
    """One page of the contacts the principal may see."""
    query = principal.scope.find(Contact, await contact_filter(principal), before(parse_cursor(cursor)))
    found = await query.sort("-_id").limit(limit + 1).to_list()
    return ContactPage(
        items=[contact_out(c) for c in found[:limit]], next_cursor=next_cursor([c.id for c in found], limit)
    )


async def create_contact(principal: Principal, data: ContactIn, now: datetime) -> ContactOut:
    """Store a new contact in the principal's workspace."""
    fields = clean_changes(msgspec.structs.asdict(data))
    contact = Contact(workspace_id=principal.workspace_id, created_at=now, **fields)
    return contact_out(await principal.scope.insert(contact))


async def update_contact(principal: Principal, contact_id: str, data: ContactPatch, now: datetime) -> ContactOut:
    """Change the fields given in `data` of a contact the principal may see (checked, normalised, audited)."""
    changes = {key: value for key, value in msgspec.structs.asdict(data).items() if value is not msgspec.UNSET}
    return contact_out(await edit_contact(principal, parse_id(contact_id, "contact"), changes, now))


async def erase_contact(principal: Principal, contact_id: str, now: datetime) -> None:
    """Erase a contact's profile, and record the erasure (by id: the audit log keeps no personal data)."""
    contact = await find_visible_contact(principal, contact_id)
    await principal.scope.delete(contact)
    await audit.record(
        AuditAction.CONTACT_ERASED,
        principal.actor,
        now,
        workspace_id=principal.workspace_id,
        target=f"contact:{contact.id}",
    )


def _bad_input(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return problem_response(400, str(exc))


CONTACT_ERRORS: ExceptionHandlersMap = {ContactInputError: _bad_input, TimelineInputError: _bad_input}


class ContactsController(Controller):
    """The workspace's contacts."""

    path = "/contacts"
    tags = ("contacts",)
    exception_handlers = CONTACT_ERRORS

    @get("/", guards=[requires(Permission.READ_CONTACTS)], summary="List contacts")
    async def list(self, principal: Caller, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> ContactPage:
        """Contacts the caller may see, newest first, a page at a time."""
        return await contact_page(principal, cursor, limit)

    @get("/{contact_id:str}/timeline", guards=[requires(Permission.READ_CONTACTS)], summary="A contact's timeline")
    async def timeline(
        self, principal: Caller, contact_id: FromPath[str], cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
    ) -> TimelinePageOut:
        """Messages, comments, follows, conversations and merges of the contact across channels, newest first."""
        contact = await find_visible_contact(principal, contact_id)
        assert contact.id is not None
        page = await contact_timeline(principal, contact.id, cursor, limit)
        return TimelinePageOut([timeline_item_out(i) for i in page.items], page.next_cursor)

    @get("/{contact_id:str}", guards=[requires(Permission.READ_CONTACTS)], summary="One contact")
    async def get(self, principal: Caller, contact_id: FromPath[str]) -> ContactOut:
        """One contact (404 for any the caller may not see)."""
        return contact_out(await find_visible_contact(principal, contact_id))

    @post("/", guards=[requires(Permission.MANAGE_CONTACTS)], summary="Create a contact")
    async def create(self, principal: Caller, data: JSONBody[ContactIn], now: Now) -> ContactOut:
        """A new contact."""
        return await create_contact(principal, data, now)

    @patch("/{contact_id:str}", guards=[requires(Permission.EDIT_CONTACTS)], summary="Change a contact")
    async def update(
        self, principal: Caller, contact_id: FromPath[str], data: JSONBody[ContactPatch], now: Now
    ) -> ContactOut:
        """Change some fields of a contact (400 saying which field is wrong; recorded in the audit log)."""
        return await update_contact(principal, contact_id, data, now)

    @post("/{contact_id:str}/block", guards=[requires(Permission.EDIT_CONTACTS)], status_code=200, summary="Block")
    async def block(self, principal: Caller, contact_id: FromPath[str], now: Now) -> ContactOut:
        """Block a contact: its messages are still stored, but no longer reopen or list its conversations."""
        return contact_out(await set_blocked(principal, parse_id(contact_id, "contact"), True, now))

    @post("/{contact_id:str}/unblock", guards=[requires(Permission.EDIT_CONTACTS)], status_code=200, summary="Unblock")
    async def unblock(self, principal: Caller, contact_id: FromPath[str], now: Now) -> ContactOut:
        """Unblock a contact (recorded in the audit log)."""
        return contact_out(await set_blocked(principal, parse_id(contact_id, "contact"), False, now))

    @delete("/{contact_id:str}", guards=[requires(Permission.MANAGE_CONTACTS)], summary="Erase a contact")
    async def erase(self, principal: Caller, contact_id: FromPath[str], now: Now) -> None:
        """Erase a contact's profile (recorded in the audit log)."""
        await erase_contact(principal, contact_id, now)
