"""WeCom (企业微信): customer contact (客户联系) and customer service (微信客服) through the corp API."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import httpx

from scrm.connectors.base import Capability, Connector, Credentials, PullRequest, Reply, ReplyKind
from scrm.connectors.errors import ConnectorError, MessageLimitReached, RequestRejected
from scrm.connectors.http import ApiClient
from scrm.connectors.items import Inbound
from scrm.connectors.outcomes import Outcome, Verdict
from scrm.connectors.ratelimit import RateLimit, TokenBucket
from scrm.connectors.wechat.connector import AccessTokenAuth, check_by_fetching, classify_errcode
from scrm.connectors.wechat.crypto import MessageCrypto
from scrm.connectors.wecom.payloads import (
    decrypt_callback,
    kf_signal,
    parse_callback,
    split_kf_conversation,
    verify_url,
)
from scrm.connectors.wecom.streams import ExternalContacts, KfMessages, kf_messages_of

API_URL = "https://qyapi.weixin.qq.com/cgi-bin"
# errcode in an HTTP 200 body, from the global error-code page (developer.work.weixin.qq.com/document/path/90313,
# read in verbatim copies): -1 系统繁忙 ("建议稍候重试"); 40014 不合法的access_token and 42001 access_token已过期
# → fetch a new token once and retry; 45009 接口调用超过限制 (frequency) and 45033 接口并发调用超过限制
# (concurrency) → slow down. 40001 is 不合法的secret参数: it too gets one new token (gettoken then answers 40001
# itself when the secret was reset), and if it persists ``diagnose`` names the secret.
ERRCODE_OUTCOMES: Mapping[int, Outcome] = {
    40001: Outcome.REAUTH,
    40014: Outcome.REAUTH,
    42001: Outcome.REAUTH,
    -1: Outcome.RETRY,
    45009: Outcome.RATE_LIMITED,
    45033: Outcome.RATE_LIMITED,
}
# errcodes that mean the channel's setup needs a person (same page): 40001 不合法的secret参数, 40013 不合法的CorpID,
# 48002 API接口无权限调用, 60020 不安全的访问IP.
SETUP_PROBLEMS: Mapping[int, str] = {
    40001: "the app secret is invalid or was reset (copy the Secret of the self-built app again)",
    40013: "the corp id is invalid (copy 企业ID from 我的企业 → 企业信息)",
    48002: "the app has no permission for this API (add the app to 客户联系 and 微信客服 → 可调用接口的应用)",
    60020: "this server's IP{ip} is not in the app's trusted IP list (应用管理 → the app → 企业可信IP)",
}
# kf/send_msg refusals: 95001 "给该客户发送的消息数量已达上限": the 5 messages allowed since the customer wrote are
# used up (send_msg reference, code meaning seen only in third-party code [unverified]).
SEND_ERRORS: Mapping[int, type[RequestRejected]] = {95001: MessageLimitReached}
FROM_IP = re.compile(r"from ip: ([0-9A-Fa-f:.]+)")
"""60020's errmsg names the caller: "not allow to access from your ip, hint: [...], from ip: 101.43.x.x" (as
reported verbatim in easychen/wecomchan#62)."""


def classify_wecom(response: httpx.Response, now: datetime) -> Verdict:
    """Judge a WeCom answer: the status table, then ``errcode`` read through WeCom's own table."""
    return classify_errcode(response, now, ERRCODE_OUTCOMES)


class CorpAccessTokenAuth(AccessTokenAuth):
    """The corp app's ``access_token``: WeChat's token lifecycle, fetched with ``gettoken``."""

    @property
    def key(self) -> str:
        """One token per corp app: the corp id and a digest of the app's secret (never the secret itself)."""
        secret_digest = hashlib.sha256(self.creds["secret"].encode()).hexdigest()[:16]
        return f"wecom:{self.creds['corp_id']}:{secret_digest}"

    def token_request(self) -> tuple[str, dict[str, str]]:
        """Return ``GET cgi-bin/gettoken?corpid=&corpsecret=`` (``access_token``, ``expires_in`` 7200)."""
        return "/gettoken", {"corpid": self.creds["corp_id"], "corpsecret": self.creds["secret"]}


class WeCom(Connector):
    """WeCom corps: external-contact changes, customer-service messages, contact lists, 微信客服 replies.

    Credentials: ``corp_id``; ``secret`` of a self-built app granted the 客户联系 and 微信客服 API permissions;
    the callback's ``token`` and ``encoding_aes_key``. Optional ``open_kfid``: the customer-service account that
    writes to a contact whose conversation does not name one (a customer known only from 客户联系).

    Customer-service messages are read when WeCom signals them: the ``kf_msg_or_event`` callback asks for a
    pull of that account's ``kf/sync_msg`` (``pull_requested``), which the worker runs from the account's saved
    cursor. A missed callback loses nothing: the next one reads on from the same cursor.
    """

    platform = "wecom"
    capabilities = frozenset({Capability.MESSAGES, Capability.REPLY, Capability.FOLLOWS, Capability.PULL})
    # No per-second figure is documented for these APIs here (wecom.md d [unverified]); our own pace.
    rate_limit = RateLimit(calls=10, per=timedelta(seconds=1))
    streams = (ExternalContacts,)
    """Scheduled pulls; customer-service messages are pulled when a callback asks (``pull_requested``)."""
    credential_keys = frozenset({"corp_id", "secret", "token", "encoding_aes_key"})
    webhook_keys = frozenset({"token", "encoding_aes_key"})

    def api(self, http: httpx.AsyncClient, creds: Credentials, bucket: TokenBucket | None = None) -> ApiClient:
        """Return a client that adds the corp app's access token and reads ``errcode`` answers."""
        token_api = ApiClient(http, API_URL, self.clock, classify=classify_wecom)
        auth = CorpAccessTokenAuth(self.tokens, creds, token_api)
        return ApiClient(http, API_URL, self.clock, classify=classify_wecom, bucket=bucket, auth=auth)

    def crypto(self, creds: Credentials) -> MessageCrypto:
        """Return the callback crypto: the WeChat implementation, with the corp id as the receive id (wecom.md a)."""
        return MessageCrypto(creds["token"], creds["encoding_aes_key"], creds["corp_id"])

    def verify_url(self, creds: Credentials, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """Answer the callback URL check for one channel (see ``payloads.verify_url``)."""
        return verify_url(self.crypto(creds), msg_signature, timestamp, nonce, echostr)

    def parse_webhook(self, body: bytes, creds: Credentials) -> Sequence[Inbound]:
        """Decrypt one callback and turn it into items (the ingress has checked ``msg_signature``)."""
        item = parse_callback(decrypt_callback(body, self.crypto(creds)))
        return [item] if item is not None else []

    def pull_requested(self, item: Inbound) -> PullRequest | None:
        """A ``kf_msg_or_event`` signal asks to read its account's messages with the callback's ``Token``."""
        signal = kf_signal(item)
        if signal is None:
            return None
        open_kfid, token = signal
        stream = kf_messages_of(open_kfid) if open_kfid else KfMessages
        return PullRequest(stream, {"kf_token": token} if token else {})

    async def send(self, http: httpx.AsyncClient, creds: Credentials, reply: Reply) -> str:
        """Send a customer-service text (``kf/send_msg``) to the customer of ``reply.to``; return the ``msgid``.

        ``reply.to`` is a conversation ``<open_kfid>:<external_userid>`` (the account the customer wrote to),
        or a bare ``external_userid`` sent from the channel's ``open_kfid``. The platform allows it within 48
        hours of the customer's last message, 5 messages at most ("仅当微信客户在主动发送消息给客服后的48小时内,
        企业可发送消息给客户,最多可发送5条消息", kf/send_msg, document/path/94677, seen in verbatim copies);
        ``messaging_windows`` checks both before the call. Not retried after a lost answer: it could send twice.
        """
        if reply.kind is not ReplyKind.MESSAGE:
            raise RequestRejected(f"wecom cannot send a {reply.kind} reply", status=0, code="unsendable")
        open_kfid, customer = split_kf_conversation(reply.to)
        open_kfid = open_kfid or creds.get("open_kfid", "")
        if not open_kfid:
            raise RequestRejected(
                "wecom: no customer-service account to send from (the conversation names none and the channel "
                "has no open_kfid)",
                status=0,
                code="no_open_kfid",
            )
        payload = {"touser": customer, "open_kfid": open_kfid, "msgtype": "text", "text": {"content": reply.text}}
        try:
            response = await self.api(http, creds).call("POST", "/kf/send_msg", json=payload, idempotent=False)
        except RequestRejected as exc:
            error = SEND_ERRORS.get(exc.code) if isinstance(exc.code, int) else None
            if error is None:
                raise
            raise error(str(exc), status=exc.status, code=exc.code) from exc
        return str(response.json()["msgid"])

    async def check_credentials(self, http: httpx.AsyncClient, creds: Credentials) -> str | None:
        """Fetch a fresh access token with ``gettoken``: the corp id and the app's secret are the credentials.

        40001 (invalid or reset secret), 40013 (invalid corp id) and 60020 (untrusted IP) are named by
        ``diagnose``. The token is saved for every caller, as a refresh would.
        """
        token_api = ApiClient(http, API_URL, self.clock, classify=classify_wecom)
        return await check_by_fetching(self, CorpAccessTokenAuth(self.tokens, creds, token_api))

    def diagnose(self, error: ConnectorError) -> str | None:
        """Name WeCom's channel problems: a bad secret or corp id, a missing API permission, an untrusted IP."""
        if isinstance(error, RequestRejected) and isinstance(error.code, int) and error.code in SETUP_PROBLEMS:
            found = FROM_IP.search(str(error))
            reason = SETUP_PROBLEMS[error.code].format(ip=f" {found.group(1)}" if found else "")
            return f"wecom: {reason} (errcode {error.code})"
        return super().diagnose(error)
