"""WeCom pull streams: external contacts (客户联系) and customer-service messages (微信客服)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import cache
from typing import Any, ClassVar

from scrm.connectors.http import Pulled, RestStream
from scrm.connectors.items import Inbound, InboundFollow
from scrm.connectors.paginators import BodyCursor, PageRequest
from scrm.connectors.stores import CursorValue
from scrm.connectors.wecom.payloads import follow_from_contact, parse_kf_message

USERS_PER_BATCH = 100  # batch/get_by_user: userid_list holds at most 100 members, limit at most 100 [unverified]
KF_PAGE = 1000
# sync_msg: "limit ... 默认值和最大值都为1000"; cursor ≤ 64 bytes; token "10分钟内有效；可不填，
# 如果不填接口有严格的频率限制" (developer.work.weixin.qq.com/document/path/94670 读取消息, excerpt + copies).


class ExternalContacts(RestStream[InboundFollow]):
    """Every external contact of every member who may have them, with profile and how they were added.

    ``GET externalcontact/get_follow_user_list`` names the members with the 客户联系 feature; then
    ``POST externalcontact/batch/get_by_user`` returns their contacts with details, 100 members a call, paged
    by ``next_cursor`` (wecom.md d [unverified]). This replaces one ``externalcontact/list`` call per member
    (ids only) plus one ``externalcontact/get`` per contact. No order to resume from: each pull walks it all.
    """

    name = "external_contacts"
    path = "/externalcontact/get_follow_user_list"
    records = "follow_user"
    paginator = BodyCursor(path="next_cursor", param="cursor")  # the member list is not paged: no cursor

    async def enrich(self, records: list[Any]) -> list[Any]:
        """Fetch the contacts of the listed members, 100 members per call, following ``next_cursor``."""
        contacts: list[Any] = []
        for start in range(0, len(records), USERS_PER_BATCH):
            members = records[start : start + USERS_PER_BATCH]
            cursor, seen = "", set()
            while cursor not in seen:
                seen.add(cursor)
                payload = {"userid_list": members, "cursor": cursor, "limit": USERS_PER_BATCH}
                body = (await self.api.call("POST", "/externalcontact/batch/get_by_user", json=payload)).json()
                contacts.extend(body.get("external_contact_list") or [])
                cursor = body.get("next_cursor") or ""
                if not cursor:
                    break
        return contacts

    def parse(self, raw: Any) -> InboundFollow:
        """Turn one member–contact relation into a follow."""
        return follow_from_contact(raw)


class KfMessages(RestStream[Inbound]):
    """Customer-service (微信客服) messages and session events, read with ``kf/sync_msg`` after a callback.

    The callback only signals ``kf_msg_or_event`` with a ``Token``; open this stream with the channel's
    credentials plus ``kf_token`` (see ``payloads.kf_sync_token``) to read what is waiting. The API's resume
    point is the opaque ``next_cursor`` of a page, not a field of a record, so each page's last item carries
    the cursor ``<send_time>:<next_cursor>``: the zero-padded time keeps saved cursors in order and the part
    after the colon is what the API takes back. Nothing is filtered by cursor; ingest absorbs any repeat.
    """

    name = "kf_messages"
    path = "/kf/sync_msg"
    open_kfid: ClassVar[str] = ""
    """The one customer-service account this stream reads; empty: the channel's ``open_kfid`` credential."""
    method = "POST"
    records = "msg_list"
    paginator = BodyCursor(path="next_cursor", param="cursor")
    ordered = True

    def first_page(self, start: CursorValue | None) -> PageRequest:
        """Ask from the saved API cursor, with the callback's token and the channel's account when given."""
        params: dict[str, str | int] = {"limit": KF_PAGE}
        if start is not None:
            params["cursor"] = str(start).split(":", 1)[-1]
        if self.creds.get("kf_token"):
            params["token"] = self.creds["kf_token"]
        account = self.open_kfid or self.creds.get("open_kfid", "")
        if account:
            params["open_kfid"] = account
        return PageRequest(params=params)

    async def iter_pulled(self, start: CursorValue | None = None) -> AsyncIterator[Pulled[Inbound]]:
        """Yield the waiting records page by page until ``has_more`` is 0 or a cursor repeats."""
        request: PageRequest | None = self.first_page(start)
        seen: set[object] = set()
        while request is not None and request.token not in seen:
            seen.add(request.token)
            response = await self.api.call("POST", self.path, json=dict(request.params))
            body = response.json()
            records = self.page_records(body)
            parsed = [(raw, item) for raw in records if (item := self.parse(raw)) is not None]
            for index, (raw, item) in enumerate(parsed):
                last = index == len(parsed) - 1 and body.get("next_cursor")
                cursor = f"{int(raw['send_time']):010d}:{body['next_cursor']}" if last else None
                yield Pulled(item, cursor)
            more = body.get("has_more") == 1
            request = self.paginator.next_page(request, body, response, records) if more else None

    def parse(self, raw: Any) -> Inbound | None:
        """Turn one record into an item; our servicers' own messages give None."""
        return parse_kf_message(raw)


@cache
def kf_messages_of(open_kfid: str) -> type[KfMessages]:
    """The ``KfMessages`` stream of one customer-service account, with its own cursor (``kf_messages:<open_kfid>``).

    A corp may run several 微信客服 accounts; each callback names the one with news (``OpenKfId``) and sync_msg
    reads one account when given ``open_kfid`` (document/path/94670), so each account keeps its own position.
    """
    return type(f"KfMessages_{open_kfid}", (KfMessages,), {"name": f"kf_messages:{open_kfid}", "open_kfid": open_kfid})
