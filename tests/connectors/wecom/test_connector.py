"""WeCom over a faked corp API: gettoken and refresh, kf/send_msg, kf/sync_msg as a stream, contact lists."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from scrm.connectors.base import Reply
from scrm.connectors.errors import AuthRejected, MessageLimitReached, RateLimited, RequestRejected
from scrm.connectors.http import iter_new_items
from scrm.connectors.items import InboundFollow, InboundMessage
from scrm.connectors.wecom import WeCom
from scrm.connectors.wecom.streams import ExternalContacts, KfMessages

from ..memory import FakeClock, InMemoryCursorStore, InMemoryTokenStore

API = "https://qyapi.weixin.qq.com/cgi-bin"
FIXTURES = Path(__file__).parent / "fixtures"
CREDS = {
    "corp_id": "ww1436e0e65a779aee",
    "secret": "app-secret",
    "token": "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo",
    "encoding_aes_key": "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt",
    "open_kfid": "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q",
}
SENT = {"errcode": 0, "errmsg": "ok", "msgid": "MSG7oGc8kDvcy2F1Ep"}


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return loaded


def errcode(code: int, message: str = "error") -> httpx.Response:
    return httpx.Response(200, json={"errcode": code, "errmsg": message})


def tokens_route(*values: str) -> respx.Route:
    answers = [httpx.Response(200, json={"errcode": 0, "access_token": v, "expires_in": 7200}) for v in values]
    return respx.get(f"{API}/gettoken").mock(side_effect=answers)


def token_of(request: httpx.Request) -> str:
    return request.url.params["access_token"]


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


@pytest.fixture
def store() -> InMemoryTokenStore:
    return InMemoryTokenStore()


@pytest.fixture
def wecom(store: InMemoryTokenStore, clock: FakeClock) -> WeCom:
    return WeCom(store, clock)


@respx.mock
async def test_send_uses_kf_send_msg_and_returns_the_msgid(wecom: WeCom, http: httpx.AsyncClient) -> None:
    token = tokens_route("TOKEN1")
    send = respx.post(f"{API}/kf/send_msg").mock(return_value=httpx.Response(200, json=SENT))
    reply = Reply(to="wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw", text="有的，今天发货")
    assert await wecom.send(http, CREDS, reply) == "MSG7oGc8kDvcy2F1Ep"
    assert token.calls[0].request.url.params["corpid"] == "ww1436e0e65a779aee"
    assert token.calls[0].request.url.params["corpsecret"] == "app-secret"
    assert token_of(send.calls[0].request) == "TOKEN1"
    assert body_of(send.calls[0].request) == {
        "touser": "wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw",
        "open_kfid": "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q",
        "msgtype": "text",
        "text": {"content": "有的，今天发货"},
    }


@respx.mock
async def test_a_reply_leaves_from_the_account_its_conversation_names(wecom: WeCom, http: httpx.AsyncClient) -> None:
    tokens_route("TOKEN1")
    send = respx.post(f"{API}/kf/send_msg").mock(return_value=httpx.Response(200, json=SENT))
    await wecom.send(http, CREDS, Reply(to="wkOtherAccount:wmCustomer", text="hi"))
    assert (body_of(send.calls[0].request)["open_kfid"], body_of(send.calls[0].request)["touser"]) == (
        "wkOtherAccount",
        "wmCustomer",
    )
    without = {key: value for key, value in CREDS.items() if key != "open_kfid"}
    with pytest.raises(RequestRejected, match="no customer-service account"):
        await wecom.send(http, without, Reply(to="wmCustomer", text="hi"))
    assert send.call_count == 1


@respx.mock
async def test_the_sixth_message_since_the_customer_wrote_is_a_used_up_limit(
    wecom: WeCom, http: httpx.AsyncClient
) -> None:
    tokens_route("TOKEN1")
    respx.post(f"{API}/kf/send_msg").mock(return_value=errcode(95001, "send msg count limit"))
    with pytest.raises(MessageLimitReached):
        await wecom.send(http, CREDS, Reply(to="wm1", text="hi"))


@pytest.mark.parametrize(
    ("code", "message", "words"),
    [
        (40001, "invalid secret", "secret"),
        (40013, "invalid corpid", "corp id"),
        (60020, "not allow to access from your ip, hint: [1655799424], from ip: 101.43.7.9", "IP 101.43.7.9"),
    ],
)
async def test_setup_errors_are_diagnosed_with_what_to_fix(wecom: WeCom, code: int, message: str, words: str) -> None:
    error = RequestRejected(f"HTTP 200 code={code}: {message}", status=200, code=code)
    reason = wecom.diagnose(error) or ""
    assert reason.startswith("wecom: ") and words in reason and f"errcode {code}" in reason


@pytest.mark.parametrize("code", [42001, 40014])
@respx.mock
async def test_an_expired_token_is_refreshed_once_and_the_send_retried(
    wecom: WeCom, http: httpx.AsyncClient, store: InMemoryTokenStore, code: int
) -> None:
    token = tokens_route("TOKEN1", "TOKEN2")
    send = respx.post(f"{API}/kf/send_msg").mock(
        side_effect=[errcode(code, "access_token expired"), httpx.Response(200, json=SENT)]
    )
    assert await wecom.send(http, CREDS, Reply(to="wm1", text="hi")) == "MSG7oGc8kDvcy2F1Ep"
    assert token.call_count == 2
    assert [token_of(call.request) for call in send.calls] == ["TOKEN1", "TOKEN2"]
    # one token per corp app, keyed by a digest of the secret so the secret never becomes a store key
    assert list(store.tokens) == ["wecom:ww1436e0e65a779aee:" + hashlib.sha256(b"app-secret").hexdigest()[:16]]


@respx.mock
async def test_a_token_refused_twice_gives_up(wecom: WeCom, http: httpx.AsyncClient) -> None:
    token = tokens_route("TOKEN1", "TOKEN2", "TOKEN3")
    send = respx.post(f"{API}/kf/send_msg").mock(return_value=errcode(42001))
    with pytest.raises(AuthRejected) as caught:
        await wecom.send(http, CREDS, Reply(to="wm1", text="hi"))
    assert (token.call_count, send.call_count) == (2, 2)
    assert wecom.diagnose(caught.value) is not None


@respx.mock
async def test_a_missing_api_permission_names_the_problem(wecom: WeCom, http: httpx.AsyncClient) -> None:
    tokens_route("TOKEN1")
    respx.post(f"{API}/kf/send_msg").mock(return_value=errcode(48002, "api forbidden"))
    with pytest.raises(RequestRejected) as caught:
        await wecom.send(http, CREDS, Reply(to="wm1", text="hi"))
    assert "no permission for this API" in (wecom.diagnose(caught.value) or "")


@respx.mock
async def test_frequency_limit_is_rate_limited(wecom: WeCom, http: httpx.AsyncClient, clock: FakeClock) -> None:
    tokens_route("TOKEN1")
    route = respx.get(f"{API}/externalcontact/get_follow_user_list").mock(
        return_value=errcode(45009, "api freq out of limit")
    )
    with pytest.raises(RateLimited):
        [p async for p in wecom.open_stream(ExternalContacts, http, CREDS).iter_pulled()]
    assert route.call_count == 4 and clock.sleeps == [1.0, 2.0, 4.0]


def sync_page(records: list[dict[str, Any]], cursor: str, has_more: int) -> httpx.Response:
    return httpx.Response(
        200, json={"errcode": 0, "errmsg": "ok", "next_cursor": cursor, "has_more": has_more, "msg_list": records}
    )


@respx.mock
async def test_kf_messages_are_synced_with_the_callback_token_and_resume_from_the_cursor(
    wecom: WeCom, http: httpx.AsyncClient, cursor_store: InMemoryCursorStore
) -> None:
    tokens_route("TOKEN1")
    first = fixture("sync_msg.json")
    later = {**first["msg_list"][0], "msgid": "from_msgid_later", "send_time": 1767258400}
    sync = respx.post(f"{API}/kf/sync_msg").mock(
        side_effect=[
            httpx.Response(200, json=first),
            sync_page([], "CURSOR-2", 0),
            sync_page([later], "CURSOR-3", 0),
        ]
    )
    creds = {**CREDS, "kf_token": "ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR"}
    items = [i async for i in iter_new_items(wecom.open_stream(KfMessages, http, creds), cursor_store, "c1")]
    assert [i.external_id for i in items] == [
        "from_msgid_4622416642169452483",
        "from_msgid_4622416642169452484",
        "event_msgid_12",
    ]
    assert body_of(sync.calls[0].request) == {
        "limit": 1000,
        "token": "ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR",
        "open_kfid": "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q",
    }
    assert body_of(sync.calls[1].request)["cursor"] == "4gw7MepFLfgF2VC5npN"
    assert cursor_store.cursors[("c1", "kf_messages")] == "1767258340:4gw7MepFLfgF2VC5npN"

    resumed = [i async for i in iter_new_items(wecom.open_stream(KfMessages, http, CREDS), cursor_store, "c1")]
    assert [i.external_id for i in resumed] == ["from_msgid_later"]
    assert isinstance(resumed[0], InboundMessage)
    assert body_of(sync.calls[2].request) == {
        "limit": 1000,
        "cursor": "4gw7MepFLfgF2VC5npN",
        "open_kfid": CREDS["open_kfid"],
    }
    assert cursor_store.cursors[("c1", "kf_messages")] == "1767258400:CURSOR-3"


@respx.mock
async def test_kf_sync_stops_on_a_repeated_cursor(wecom: WeCom, http: httpx.AsyncClient) -> None:
    tokens_route("TOKEN1")
    record = fixture("sync_msg.json")["msg_list"][0]
    sync = respx.post(f"{API}/kf/sync_msg").mock(return_value=sync_page([record], "SAME", 1))
    pulled = [p async for p in wecom.open_stream(KfMessages, http, CREDS).iter_pulled()]
    assert len(pulled) == 2 and sync.call_count == 2


def contacts_for(request: httpx.Request) -> httpx.Response:
    asked = body_of(request)
    page = fixture("batch_get_by_user.json")
    if asked["userid_list"][0] == "member000" and not asked["cursor"]:
        return httpx.Response(200, json={**page, "next_cursor": "r9FqSqsI8fgNbHLHE5QoCP50UIg2cFQbfma3l2QsmwI"})
    if asked["cursor"]:
        return httpx.Response(
            200, json={"errcode": 0, "errmsg": "ok", "external_contact_list": page["external_contact_list"][1:]}
        )
    return httpx.Response(200, json={"errcode": 0, "errmsg": "ok", "external_contact_list": []})


@respx.mock
async def test_external_contacts_batch_members_by_hundred_and_follow_next_cursor(
    wecom: WeCom, http: httpx.AsyncClient
) -> None:
    tokens_route("TOKEN1")
    members = [f"member{i:03d}" for i in range(150)]
    respx.get(f"{API}/externalcontact/get_follow_user_list").mock(
        return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok", "follow_user": members})
    )
    batch = respx.post(f"{API}/externalcontact/batch/get_by_user").mock(side_effect=contacts_for)
    follows = [p.item async for p in wecom.open_stream(ExternalContacts, http, CREDS).iter_pulled()]
    assert all(isinstance(f, InboundFollow) for f in follows)
    assert [f.sender.display_name for f in follows] == ["李四", "王五", "王五"]
    asked = [body_of(call.request) for call in batch.calls]
    assert [(len(a["userid_list"]), a["cursor"], a["limit"]) for a in asked] == [
        (100, "", 100),
        (100, "r9FqSqsI8fgNbHLHE5QoCP50UIg2cFQbfma3l2QsmwI", 100),
        (50, "", 100),
    ]
