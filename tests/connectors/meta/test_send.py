"""Sending through a faked Graph API: the exact request for each kind of reply, and the id that comes back."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
import respx

from scrm.connectors.base import Reply, ReplyKind, Template
from scrm.connectors.errors import (
    MessagingWindowClosed,
    RecipientUnavailable,
    RequestRejected,
    TemporaryFailure,
)
from scrm.connectors.meta import Meta
from scrm.connectors.meta.graph import GRAPH_URL
from scrm.connectors.meta.send import messaging_window
from scrm.connectors.telegram import Telegram

from ..memory import FakeClock, InMemoryTokenStore

CREDS = {
    "app_secret": "app-secret",
    "verify_token": "verify",
    "page_id": "682498171943165",
    "page_access_token": "PAGE_TOKEN",
    "instagram_account_id": "17841405822304914",
    "whatsapp_phone_number_id": "106540352242922",
    "whatsapp_token": "WA_TOKEN",
}
ME_MESSAGES = f"{GRAPH_URL}/me/messages"
WA_MESSAGES = f"{GRAPH_URL}/106540352242922/messages"
WA_ANSWER = {
    "messaging_product": "whatsapp",
    "contacts": [{"input": "16505551234", "wa_id": "16505551234"}],
    "messages": [{"id": "wamid.SENT9"}],
}


@pytest.fixture
def meta(clock: FakeClock) -> Meta:
    return Meta(InMemoryTokenStore(), clock)


def sent(route: respx.Route) -> tuple[dict[str, Any], str]:
    """The JSON body and bearer token of the one request the route received."""
    (call,) = route.calls
    return json.loads(call.request.content), call.request.headers["authorization"]


def graph_error(code: int, subcode: int | None = None, status: int = 400) -> httpx.Response:
    body: dict[str, Any] = {"message": f"(#{code}) refused", "type": "OAuthException", "code": code}
    if subcode is not None:
        body["error_subcode"] = subcode
    return httpx.Response(status, json={"error": body})


@respx.mock
async def test_messenger_text_is_a_response_to_the_psid(meta: Meta, http: httpx.AsyncClient) -> None:
    answer = {"recipient_id": "1254459154682919", "message_id": "m_sent_1"}
    route = respx.post(ME_MESSAGES).mock(return_value=httpx.Response(200, json=answer))
    message_id = await meta.send(http, CREDS, Reply(to="facebook:1254459154682919", text="Yes, we ship to Lyon."))
    assert message_id == "facebook:m_sent_1"
    assert sent(route) == (
        {
            "recipient": {"id": "1254459154682919"},
            "messaging_type": "RESPONSE",
            "message": {"text": "Yes, we ship to Lyon."},
        },
        "Bearer PAGE_TOKEN",
    )


@respx.mock
async def test_human_agent_tag_sends_outside_the_standard_window(meta: Meta, http: httpx.AsyncClient) -> None:
    route = respx.post(ME_MESSAGES).mock(return_value=httpx.Response(200, json={"message_id": "m_sent_2"}))
    reply = Reply(to="instagram:1914016168758395", text="Sorry for the wait!", tag="HUMAN_AGENT")
    assert await meta.send(http, CREDS, reply) == "instagram:m_sent_2"
    body, _ = sent(route)
    assert body == {
        "recipient": {"id": "1914016168758395"},
        "messaging_type": "MESSAGE_TAG",
        "tag": "HUMAN_AGENT",
        "message": {"text": "Sorry for the wait!"},
    }


@respx.mock
async def test_public_reply_to_a_page_comment(meta: Meta, http: httpx.AsyncClient) -> None:
    url = f"{GRAPH_URL}/1043729461213123_1210571430446072/comments"
    route = respx.post(url).mock(return_value=httpx.Response(200, json={"id": "1043729461213123_1210571430446200"}))
    reply = Reply(to="facebook:1043729461213123_1210571430446072", text="45 EUR!", kind=ReplyKind.COMMENT)
    assert await meta.send(http, CREDS, reply) == "facebook:1043729461213123_1210571430446200"
    assert sent(route) == ({"message": "45 EUR!"}, "Bearer PAGE_TOKEN")


@respx.mock
async def test_public_reply_to_an_instagram_comment_uses_replies(meta: Meta, http: httpx.AsyncClient) -> None:
    route = respx.post(f"{GRAPH_URL}/17865799348089039/replies").mock(
        return_value=httpx.Response(200, json={"id": "17865799348089777"})
    )
    reply = Reply(to="instagram:17865799348089039", text="49 EUR", kind=ReplyKind.COMMENT)
    assert await meta.send(http, CREDS, reply) == "instagram:17865799348089777"
    assert sent(route) == ({"message": "49 EUR"}, "Bearer PAGE_TOKEN")


@respx.mock
async def test_private_reply_turns_a_comment_into_a_conversation(meta: Meta, http: httpx.AsyncClient) -> None:
    answer = {"recipient_id": "1254459154682919", "message_id": "m_private_1"}
    route = respx.post(ME_MESSAGES).mock(return_value=httpx.Response(200, json=answer))
    reply = Reply(
        to="facebook:1043729461213123_1210571430446072", text="Here is our price list", kind=ReplyKind.PRIVATE_REPLY
    )
    assert await meta.send(http, CREDS, reply) == "facebook:m_private_1"
    body, _ = sent(route)
    assert body == {
        "recipient": {"comment_id": "1043729461213123_1210571430446072"},
        "message": {"text": "Here is our price list"},
    }


@respx.mock
async def test_whatsapp_text_quotes_the_message_it_answers(meta: Meta, http: httpx.AsyncClient) -> None:
    route = respx.post(WA_MESSAGES).mock(return_value=httpx.Response(200, json=WA_ANSWER))
    reply = Reply(to="whatsapp:16505551234", text="Yes, in red and green.", reply_to_id="whatsapp:wamid.IN1")
    assert await meta.send(http, CREDS, reply) == "whatsapp:wamid.SENT9"
    assert sent(route) == (
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "16505551234",
            "type": "text",
            "text": {"body": "Yes, in red and green.", "preview_url": False},
            "context": {"message_id": "wamid.IN1"},
        },
        "Bearer WA_TOKEN",
    )


@respx.mock
async def test_whatsapp_template_carries_name_language_and_body_parameters(meta: Meta, http: httpx.AsyncClient) -> None:
    route = respx.post(WA_MESSAGES).mock(return_value=httpx.Response(200, json=WA_ANSWER))
    template = Template(name="order_update", language="en_US", parameters=("Sheena", "#1042"))
    reply = Reply(to="whatsapp:16505551234", text="Order #1042 shipped", kind=ReplyKind.TEMPLATE, template=template)
    assert await meta.send(http, CREDS, reply) == "whatsapp:wamid.SENT9"
    body, token = sent(route)
    assert token == "Bearer WA_TOKEN"
    assert body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "16505551234",
        "type": "template",
        "template": {
            "name": "order_update",
            "language": {"code": "en_US"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "Sheena"}, {"type": "text", "text": "#1042"}]}
            ],
        },
    }


@pytest.mark.parametrize(
    ("to", "url", "answer", "error"),
    [
        ("facebook:1254459154682919", ME_MESSAGES, graph_error(10, 2018278), MessagingWindowClosed),
        ("whatsapp:16505551234", WA_MESSAGES, graph_error(131047), MessagingWindowClosed),
        ("facebook:1254459154682919", ME_MESSAGES, graph_error(551), RecipientUnavailable),
    ],
    ids=["messenger-window", "whatsapp-window", "person-unavailable"],
)
@respx.mock
async def test_refusals_are_named(
    meta: Meta, http: httpx.AsyncClient, to: str, url: str, answer: httpx.Response, error: type[Exception]
) -> None:
    route = respx.post(url).mock(return_value=answer)
    with pytest.raises(error):
        await meta.send(http, CREDS, Reply(to=to, text="hello again"))
    assert route.call_count == 1


@respx.mock
async def test_a_server_error_after_sending_is_not_retried(meta: Meta, http: httpx.AsyncClient) -> None:
    route = respx.post(ME_MESSAGES).mock(return_value=graph_error(2, status=500))
    with pytest.raises(TemporaryFailure):
        await meta.send(http, CREDS, Reply(to="facebook:1254459154682919", text="hi"))
    assert route.call_count == 1  # Meta may have sent it: the caller decides


@pytest.mark.parametrize(
    "reply",
    [
        Reply(to="facebook:1254459154682919", text="hi", kind=ReplyKind.TEMPLATE, template=Template("x", "en")),
        Reply(to="whatsapp:16505551234", text="hi", kind=ReplyKind.COMMENT),
        Reply(to="instagram:1914016168758395", text="hi", tag="ACCOUNT_UPDATE"),
        Reply(to="1254459154682919", text="no product space"),
    ],
    ids=["template-on-messenger", "comment-on-whatsapp", "tag-instagram-refuses", "bare-id"],
)
@respx.mock
async def test_replies_meta_cannot_take_are_refused_before_any_call(
    meta: Meta, http: httpx.AsyncClient, reply: Reply
) -> None:
    with pytest.raises(RequestRejected):
        await meta.send(http, CREDS, reply)
    assert not respx.calls


def test_every_kind_of_reply_is_sendable_on_meta_but_not_everywhere() -> None:
    meta, telegram = Meta(InMemoryTokenStore()), Telegram(InMemoryTokenStore())
    for kind in ReplyKind:
        assert meta.can_send(Reply(to="facebook:1", text="x", kind=kind))
    assert telegram.can_send(Reply(to="1", text="x"))
    assert not telegram.can_send(Reply(to="1", text="x", kind=ReplyKind.COMMENT))


def test_messaging_windows_per_product_and_tag() -> None:
    assert messaging_window(Reply(to="facebook:1", text="x")) == timedelta(hours=24)
    assert messaging_window(Reply(to="instagram:1", text="x", tag="HUMAN_AGENT")) == timedelta(days=7)
    assert messaging_window(Reply(to="whatsapp:1", text="x")) == timedelta(hours=24)
    assert messaging_window(Reply(to="facebook:1_2", text="x", kind=ReplyKind.PRIVATE_REPLY)) == timedelta(days=7)
    assert messaging_window(Reply(to="whatsapp:1", text="x", kind=ReplyKind.TEMPLATE)) == timedelta.max
