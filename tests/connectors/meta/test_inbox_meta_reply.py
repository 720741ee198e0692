"""The web inbox's Meta replies, as a browser uses them: the WhatsApp template picker once the 24 hours are over,
the HUMAN_AGENT reply for Messenger, and "reply publicly" / "reply privately" on the contact's comments.

Deliveries come in signed through the ingress; what the forms queue is sent by delivery to ``graph_server``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest

from scrm.app import create_app
from scrm.auth.accounts import add_member, create_user
from scrm.models import OutboundMessage, Role
from scrm.settings import Settings
from tests.auth.conftest import PASSWORD, MovableClock
from tests.auth.forms import HTML, csrf_of, log_in
from tests.conftest import serving
from tests.connectors.meta.graph_server import GraphServer
from tests.connectors.meta.stories import (
    CAMILLE,
    SHEENA,
    Story,
    feed_comment,
    message_in,
    whatsapp_text,
)
from tests.platform_fakes import TestChannel as StoredChannel


@pytest.fixture
async def web(settings: Settings, channel: StoredChannel, start: datetime) -> AsyncIterator[httpx.AsyncClient]:
    """A signed-in admin's browser on the full app (UI and webhooks)."""
    user = await create_user("ana@example.com", PASSWORD, start, display_name="Ana")
    await add_member(channel.workspace_id, user, Role.ADMIN, start, actor="test")
    app = create_app(settings, webhooks=True)
    app.state.clock = MovableClock(start)
    async with serving(app) as http:
        assert (await log_in(http, "ana@example.com", PASSWORD, "/inbox")).status_code in (200, 303)
        yield http


@pytest.fixture
def story(
    web: httpx.AsyncClient,
    settings: Settings,
    graph: GraphServer,
    channel: StoredChannel,
    http: httpx.AsyncClient,
    start: datetime,
) -> Story:
    """The story as the browser has it: Meta's deliveries come in through the same app."""
    return Story(web, settings, graph, channel, HTML, http, start)


async def conversation_url(web: httpx.AsyncClient) -> str:
    page = await web.get("/inbox?status=all", headers=HTML)
    found = re.search(r'href="(/inbox/[0-9a-f]{24})', page.text)
    assert found, "no conversation in the list"
    return found.group(1)


def hidden(page: httpx.Response, name: str, after: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page.text[page.text.index(after) :])
    assert found, f"no {name} after {after}"
    return found.group(1)


async def test_after_24_hours_on_whatsapp_the_composer_offers_approved_templates_and_sends_one(
    web: httpx.AsyncClient, story: Story
) -> None:
    story.graph.add_template("order_update", "en_US", "Hi {{1}}, your order {{2}} has shipped.")
    story.graph.add_template("spring_sale", "en_US", "Spring sale!", status="REJECTED")
    late = whatsapp_text(SHEENA, "wamid.IN9", "Where is my order?", story.start - timedelta(hours=30))
    await story.receive(late)
    url = await conversation_url(web)

    page = await web.get(url, headers=HTML)
    assert 'id="meta-template-picker"' in page.text and f'hx-get="{url}/meta/templates' in page.text
    assert re.search(r'<textarea id="reply-text"[^>]*disabled', page.text)  # free text is closed
    picker = await web.get(f"{url}/meta/templates", headers={**HTML, "hx-request": "true"})
    assert picker.status_code == 200 and 'value="order_update|en_US"' in picker.text
    assert "spring_sale" not in picker.text  # only approved templates are offered

    form = {
        "csrf_token": csrf_of(picker),
        "idempotency_key": hidden(picker, "idempotency_key", "meta-template-form"),
        "template": "order_update|en_US",
    }
    wrong = await web.post(f"{url}/meta/template", data={**form, "parameters": "Sheena"}, headers=HTML)
    assert wrong.status_code == 422 and "takes 2 parameter(s), 1 given" in wrong.text
    sent = await web.post(f"{url}/meta/template", data={**form, "parameters": "Sheena\nA-1042\n"}, headers=HTML)
    assert sent.status_code == 303 and sent.headers["location"] == url

    await story.send_queued()
    [call] = story.graph.sends
    assert call.body["type"] == "template" and call.body["template"]["name"] == "order_update"
    assert [p["text"] for p in call.body["template"]["components"][0]["parameters"]] == ["Sheena", "A-1042"]
    assert "Hi Sheena, your order A-1042 has shipped." in (await web.get(url, headers=HTML)).text


async def test_a_messenger_contacts_comments_can_be_answered_publicly_or_privately_and_late_as_a_human_agent(
    web: httpx.AsyncClient, story: Story
) -> None:
    await story.receive(message_in("page", CAMILLE[0], "m_in_9", "Hi", story.start - timedelta(days=2)))
    comment = feed_comment("1043_777", "682498171943165_1043", CAMILLE, "Blue in M?", story.start - timedelta(hours=1))
    await story.receive(comment)
    story.graph.comment_times["1043_777"] = story.start - timedelta(hours=1)
    url = await conversation_url(web)

    page = await web.get(url, headers=HTML)
    assert 'id="meta-human-agent-form"' in page.text and "Blue in M?" in page.text
    assert "Reply publicly" in page.text and "Reply privately" in page.text
    chinese = await web.get(url, headers={**HTML, "accept-language": "zh-CN"})
    assert "公开回复" in chinese.text and "私信回复" in chinese.text
    comment_id = hidden(page, "comment_id", 'class="meta-comment"')
    token = csrf_of(page)

    def form(action: str, text: str) -> dict[str, str]:
        key = hidden(page, "idempotency_key", f'action="{url}/meta/{action}"')
        return {"csrf_token": token, "idempotency_key": key, "comment_id": comment_id, "text": text}

    private = await web.post(
        f"{url}/meta/private_reply", data=form("private_reply", "Yes, sent you a photo."), headers=HTML
    )
    assert private.status_code == 303
    public = await web.post(f"{url}/meta/comment", data=form("comment", "Yes, in stock!"), headers=HTML)
    assert public.status_code == 303
    late = await web.post(f"{url}/meta/human_agent", data=form("human_agent", "Following up."), headers=HTML)
    assert late.status_code == 303
    again = await web.get(url, headers=HTML)
    assert 'data-private-reply="sent"' in again.text and "Reply privately" not in again.text

    await story.send_queued()
    assert len(story.graph.sends) == 3
    by_path: dict[str, list[dict[str, object]]] = {}
    for s in story.graph.sends:
        by_path.setdefault(s.path, []).append(s.body)
    assert by_path["/1043_777/comments"] == [{"message": "Yes, in stock!"}]
    assert {"recipient": {"comment_id": "1043_777"}, "message": {"text": "Yes, sent you a photo."}} in by_path[
        "/me/messages"
    ]
    assert {
        "recipient": {"id": CAMILLE[0]},
        "messaging_type": "MESSAGE_TAG",
        "tag": "HUMAN_AGENT",
        "message": {"text": "Following up."},
    } in by_path["/me/messages"]
    assert await OutboundMessage.count() == 3


async def test_the_comments_page_answers_people_who_never_wrote_a_message(web: httpx.AsyncClient, story: Story) -> None:
    luc = ("3330000000000003", "Luc Bernard")
    await story.receive(feed_comment("1043_501", "682498171943165_1043", luc, "Open on Sunday?", story.start))
    old = feed_comment("1043_502", "682498171943165_1043", luc, "Any news?", story.start - timedelta(days=8))
    await story.receive(old)
    story.graph.comment_times["1043_501"] = story.start

    page = await web.get("/inbox/meta/comments", headers=HTML)
    assert page.status_code == 200 and "Open on Sunday?" in page.text and "Luc Bernard" in page.text
    assert page.text.count('data-private-reply="closed"') == 1  # the 8-day-old comment: public reply only
    chinese = await web.get("/inbox/meta/comments", headers={**HTML, "accept-language": "zh-CN"})
    assert "Facebook 和 Instagram 评论" in chinese.text
    fresh = re.search(
        r'data-comment="([0-9a-f]{24})">\s*<strong class="meta-comment-author">Luc Bernard</strong>\s*'
        r'<p class="msg-text">Open on Sunday\?',
        page.text,
    )
    stale = re.search(
        r'data-comment="([0-9a-f]{24})">\s*<strong[^>]*>[^<]*</strong>\s*<p class="msg-text">Any news', page.text
    )
    assert fresh and stale
    token, key = csrf_of(page), hidden(page, "idempotency_key", 'class="meta-comment-reply"')

    late = await web.post(
        f"/inbox/meta/comments/{stale.group(1)}/private_reply",
        data={"csrf_token": token, "idempotency_key": key + "x", "text": "Hi"},
        headers=HTML,
    )
    assert late.status_code == 422 and "within 7 days" in late.text
    base = f"/inbox/meta/comments/{fresh.group(1)}"
    public = await web.post(
        f"{base}/comment", data={"csrf_token": token, "idempotency_key": key, "text": "Yes, 9-13."}, headers=HTML
    )
    assert public.status_code == 303 and public.headers["location"] == "/inbox/meta/comments"
    private = await web.post(
        f"{base}/private_reply",
        data={"csrf_token": token, "idempotency_key": key + "p", "text": "See you!"},
        headers=HTML,
    )
    assert private.status_code == 303

    await story.send_queued()
    assert sorted((s.path, s.body.get("message")) for s in story.graph.sends) == [
        ("/1043_501/comments", "Yes, 9-13."),
        ("/me/messages", {"text": "See you!"}),
    ]
    after = await web.get("/inbox/meta/comments", headers=HTML)
    assert 'data-our-reply="facebook:' in after.text and "Yes, 9-13." in after.text
    assert 'data-private-reply="sent"' in after.text
