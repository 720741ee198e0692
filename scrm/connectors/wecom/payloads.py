"""WeCom (企业微信) callbacks, customer-service messages and external contacts turned into inbound items.

Callbacks are the encrypted XML of the WXBizMsgCrypt family (wecom.md a), decrypted with the WeChat
connector's ``MessageCrypto`` under the corp id; their fields follow the 接收消息与事件 and 客户联系 "external
contact change" references (developer.work.weixin.qq.com/document/path/92130 [unverified], shapes only).
Customer-service (微信客服) records come from ``kf/sync_msg`` (document/path/94670 [unverified], shapes only).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from scrm.connectors.items import (
    Attachment,
    AttachmentKind,
    Inbound,
    InboundEvent,
    InboundFollow,
    InboundMessage,
    Sender,
)
from scrm.connectors.wechat.crypto import MessageCrypto, MessageCryptoError
from scrm.connectors.wechat.payloads import PayloadError, parse_xml

PLATFORM = "wecom"
KF_SIGNAL = "kf_msg_or_event"
CONTACT_CHANGE = "change_external_contact"
# 客户联系 change types: a customer added by a member (or half-added: the customer added the member but the
# member has not yet accepted), edited, deleted by the member, or the member deleted by the customer.
ADDED = frozenset({"add_external_contact", "add_half_external_contact"})
REMOVED = {"del_external_contact": "deleted_by_member", "del_follow_user": "deleted_by_customer"}
EDITED = "edit_external_contact"
KF_SEPARATOR = ":"  # open_kfid and external_userid are [0-9a-zA-Z_-] (send_msg reference): no colon in either
KF_FROM_CUSTOMER = 3  # sync_msg ``origin``: 3 sent by the customer, 4 system event, 5 sent by a servicer
KF_EVENT = 4
MEDIA = {"image": AttachmentKind.IMAGE, "voice": AttachmentKind.AUDIO, "video": AttachmentKind.VIDEO}


def decrypt_callback(body: bytes, crypto: MessageCrypto) -> dict[str, str]:
    """Return the fields of an encrypted callback body (``<xml><Encrypt/>...</xml>``), decrypted.

    The ingress has already checked ``msg_signature``; decrypting also checks the receive id is our corp id.
    """
    envelope = parse_xml(body)
    if "Encrypt" not in envelope:
        raise PayloadError("a WeCom callback carries an Encrypt element")
    return parse_xml(crypto.decrypt(envelope["Encrypt"]))


def verify_url(crypto: MessageCrypto, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
    """Answer the callback URL check: verify ``msg_signature`` over ``echostr``, return its plaintext.

    wecom.md a: URL-decode the parameters, check the signature, decrypt ``echostr`` and answer the
    plaintext alone (no quotes, BOM or newline) within 1 s. Base64 has no spaces, so a space is a ``+``
    that a query parser decoded. Raises ``MessageCryptoError`` when the check fails.
    """
    return crypto.decrypt_verified(msg_signature, timestamp, nonce, echostr.replace(" ", "+"))


def event_id(body: bytes, crypto: MessageCrypto) -> str:
    """Return the ingress dedupe id of one callback body, read from its decrypted fields.

    The ciphertext is not a stable id: each retry may be encrypted afresh. wecom.md a says to dedupe messages
    by ``MsgId`` and events by ``FromUserName + CreateTime``; contact changes all come from ``sys`` and may
    share a second, so their ids add the change type and both users, and a 微信客服 signal (which has no
    sender) is known by its single-use ``Token``. An unreadable body falls back to the SHA-256 of its bytes.
    """
    try:
        fields = decrypt_callback(body, crypto)
    except (PayloadError, MessageCryptoError):
        return "sha256:" + hashlib.sha256(body).hexdigest()
    if fields.get("MsgId"):
        return fields["MsgId"]
    if fields.get("Event") == KF_SIGNAL:
        return f"kf:{fields.get('Token', '')}"
    parts = [fields.get(name, "") for name in ("FromUserName", "CreateTime", "Event", "ChangeType")]
    parts += [fields.get(name, "") for name in ("UserID", "ExternalUserID") if fields.get(name)]
    return ":".join(parts)


def parse_callback(fields: Mapping[str, str]) -> Inbound | None:
    """Turn one decrypted callback into an item, or None for kinds we do not ingest."""
    if fields.get("MsgType") != "event":
        return _member_message(fields) if fields.get("MsgId") else None
    event = fields.get("Event", "")
    if event == CONTACT_CHANGE:
        return _contact_change(fields)
    if event == KF_SIGNAL:
        # No person sent it: ``OpenKfId`` is our own customer-service account, so the item has no sender (and
        # makes no contact); it only asks the worker to read that account's messages (``kf_signal``).
        return InboundEvent(
            PLATFORM,
            f"kf:{fields.get('Token', '')}",
            Sender(platform_user_id=""),
            _time(fields["CreateTime"]),
            kind=KF_SIGNAL,
            key=fields.get("Token", ""),
            raw=dict(fields),
        )
    return None


def kf_sync_token(item: Inbound) -> str | None:
    """Return the ``Token`` of a 微信客服 signal: pass it as ``kf_token`` when pulling ``KfMessages``.

    The callback only says messages are waiting; they are read with ``kf/sync_msg``, where the token lifts
    the call's stricter frequency limit; it is valid 10 minutes (document/path/94670: "10分钟内有效").
    """
    if isinstance(item, InboundEvent) and item.kind == KF_SIGNAL:
        return item.key
    return None


def kf_signal(item: Inbound) -> tuple[str, str] | None:
    """Return ``(OpenKfId, Token)`` of a 微信客服 signal: which account has news, and the token to read it with."""
    if isinstance(item, InboundEvent) and item.kind == KF_SIGNAL:
        return str(item.raw.get("OpenKfId", "")), item.key
    return None


def kf_conversation(open_kfid: str, customer: str) -> str:
    """The conversation of one customer with one customer-service account: ``<open_kfid>:<external_userid>``.

    Replies must leave from the account the customer wrote to (kf/send_msg takes ``open_kfid``), so the
    conversation names it; the contact is the customer alone, the same ``external_userid`` as in 客户联系.
    """
    return f"{open_kfid}{KF_SEPARATOR}{customer}" if open_kfid else customer


def split_kf_conversation(conversation: str) -> tuple[str, str]:
    """Return ``(open_kfid, external_userid)`` of a ``kf_conversation`` id; no account part gives ``""``."""
    account, _, customer = conversation.rpartition(KF_SEPARATOR)
    return account, customer


def parse_kf_message(record: Mapping[str, Any]) -> Inbound | None:
    """Turn one ``kf/sync_msg`` record into an item: a customer's message or a session event.

    Messages sent by our own servicers (``origin`` 5) are skipped. The conversation is the customer's
    ``external_userid`` at the account they wrote to (``kf_conversation``), where replies go out from.
    """
    origin = record.get("origin")
    if origin == KF_EVENT and record.get("msgtype") == "event":
        event = record.get("event") or {}
        sender = Sender(platform_user_id=str(event.get("external_userid", "")))
        kind = f"kf_{event.get('event_type', '')}"
        key = str(event.get("scene") or event.get("fail_type") or "")
        return InboundEvent(
            PLATFORM,
            str(record["msgid"]),
            sender,
            _time(record["send_time"]),
            kind=kind,
            key=key,
            conversation_id=kf_conversation(str(event.get("open_kfid", "")), sender.platform_user_id),
            raw=record,
        )
    if origin != KF_FROM_CUSTOMER:
        return None
    customer = str(record["external_userid"])
    return InboundMessage(
        platform=PLATFORM,
        external_id=str(record["msgid"]),
        conversation_id=kf_conversation(str(record.get("open_kfid", "")), customer),
        sender=Sender(platform_user_id=customer),
        at=_time(record["send_time"]),
        text=(record.get("text") or {}).get("content", ""),
        attachments=_kf_attachments(record),
        raw=record,
    )


def follow_from_contact(record: Mapping[str, Any]) -> InboundFollow:
    """Turn a ``batch/get_by_user`` entry (``external_contact`` + ``follow_info``) into a follow.

    Its id matches the ``add_external_contact`` callback's item when ``follow_info.createtime`` equals that
    callback's ``CreateTime`` (expected, [unverified]), so a follow seen both ways is stored once.
    """
    contact, follow = record["external_contact"], record["follow_info"]
    sender = Sender(
        platform_user_id=str(contact["external_userid"]),
        display_name=contact.get("name", ""),
        avatar_url=contact.get("avatar", ""),
    )
    created = str(follow.get("createtime", 0))
    external_id = contact_item_id(follow["userid"], sender.platform_user_id, "add_external_contact", created)
    return InboundFollow(
        PLATFORM,
        external_id,
        sender,
        _time(created),
        source=str(follow.get("state") or follow.get("add_way", "")),
        raw=record,
    )


def contact_item_id(member: str, customer: str, change: str, created: str) -> str:
    """Return the item id of one change between a member and an external contact."""
    return f"{member}:{customer}:{change}:{created}"


def _contact_change(fields: Mapping[str, str]) -> Inbound | None:
    change, member, customer = fields.get("ChangeType", ""), fields.get("UserID", ""), fields.get("ExternalUserID", "")
    sender, at, raw = Sender(platform_user_id=customer), _time(fields["CreateTime"]), dict(fields)
    external_id = contact_item_id(member, customer, change, fields["CreateTime"])
    if change in ADDED:
        return InboundFollow(PLATFORM, external_id, sender, at, source=fields.get("State", ""), raw=raw)
    if change in REMOVED:
        return InboundFollow(PLATFORM, external_id, sender, at, following=False, source=REMOVED[change], raw=raw)
    if change == EDITED:
        return InboundEvent(
            PLATFORM, external_id, sender, at, kind="contact_edited", key=member, conversation_id=customer, raw=raw
        )
    return None


def _member_message(fields: Mapping[str, str]) -> InboundMessage:
    """A message a corp member sent to the app (``FromUserName`` is their userid)."""
    member = fields["FromUserName"]
    return InboundMessage(
        platform=PLATFORM,
        external_id=fields["MsgId"],
        conversation_id=member,
        sender=Sender(platform_user_id=member),
        at=_time(fields["CreateTime"]),
        text=fields.get("Content", ""),
        raw=dict(fields),
    )


def _kf_attachments(record: Mapping[str, Any]) -> tuple[Attachment, ...]:
    kind = record.get("msgtype", "")
    body = record.get(kind) or {}
    if kind in MEDIA or kind == "file":
        return (Attachment(MEDIA.get(kind, AttachmentKind.FILE), media_id=str(body.get("media_id", ""))),)
    if kind == "location":
        data = {"latitude": body.get("latitude"), "longitude": body.get("longitude"), "address": body.get("address")}
        return (Attachment(AttachmentKind.LOCATION, title=body.get("name", ""), data=data),)
    if kind == "link":
        return (Attachment(AttachmentKind.LINK, url=body.get("url", ""), title=body.get("title", "")),)
    return ()


def _time(epoch: str | int) -> datetime:
    return datetime.fromtimestamp(int(epoch), UTC)
