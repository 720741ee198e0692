"""WeCom (企业微信): customer contact (客户联系) and customer service (微信客服) through the corp API."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import httpx

from scrm.connectors.base import Capability, Connector, Credentials, Reply, ReplyKind
from scrm.connectors.errors import ConnectorError, RequestRejected
from scrm.connectors.http import ApiClient
from scrm.connectors.items import Inbound
from scrm.connectors.outcomes import Outcome, Verdict
from scrm.connectors.ratelimit import RateLimit, TokenBucket
from scrm.connectors.wechat.connector import AccessTokenAuth, classify_errcode
from scrm.connectors.wechat.crypto import MessageCrypto
from scrm.connectors.wecom.payloads import decrypt_callback, parse_callback, verify_url
from scrm.connectors.wecom.streams import ExternalContacts, KfMessages

API_URL = "https://qyapi.weixin.qq.com/cgi-bin"
# errcode in an HTTP 200 body (wecom.md d; the global error-code page, document/path/90313, seen in copies):
# 40014 invalid access_token and 42001 access_token expired → fetch a new token once and retry; -1 system
# busy; 45009 call frequency and 45033 concurrency limits → slow down [unverified: 45033]. Unlike WeChat,
# 40001 here means an invalid secret (不合法的secret参数), which a new token cannot fix.
ERRCODE_OUTCOMES: Mapping[int, Outcome] = {
    40014: Outcome.REAUTH,
    42001: Outcome.REAUTH,
    -1: Outcome.RETRY,
    45009: Outcome.RATE_LIMITED,
    45033: Outcome.RATE_LIMITED,
}
# errcodes that mean the channel's setup needs a person (same page; 40013, 48002, 60020 [unverified]).
SETUP_PROBLEMS: Mapping[int, str] = {
    40001: "the app secret is invalid",
    40013: "the corp id is invalid",
    48002: "the app has no permission for this API (grant 客户联系 / 微信客服 API access to the app)",
    60020: "the calling server's IP is not in the app's trusted IP list",
}


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
    the callback's ``token`` and ``encoding_aes_key``; ``open_kfid``, the customer-service account replies are
    sent from (kf/send_msg requires it) and whose messages are read.
    """

    platform = "wecom"
    capabilities = frozenset({Capability.MESSAGES, Capability.REPLY, Capability.FOLLOWS, Capability.PULL})
    # No per-second figure is documented for these APIs here (wecom.md d [unverified]); our own pace.
    rate_limit = RateLimit(calls=10, per=timedelta(seconds=1))
    streams = (ExternalContacts, KfMessages)
    credential_keys = frozenset({"corp_id", "secret", "token", "encoding_aes_key", "open_kfid"})

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

    async def send(self, http: httpx.AsyncClient, creds: Credentials, reply: Reply) -> str:
        """Send a customer-service text (``kf/send_msg``) to ``reply.to``, an ``external_userid``; return ``msgid``.

        The customer must have written to the account within 48 hours, 5 messages at most (sync_msg and
        send_msg references, seen in copies). Not retried after a lost answer, since a retry could send twice.
        """
        if reply.kind is not ReplyKind.MESSAGE:
            raise RequestRejected(f"wecom cannot send a {reply.kind} reply", status=0, code="unsendable")
        payload = {
            "touser": reply.to,
            "open_kfid": creds["open_kfid"],
            "msgtype": "text",
            "text": {"content": reply.text},
        }
        response = await self.api(http, creds).call("POST", "/kf/send_msg", json=payload, idempotent=False)
        return str(response.json()["msgid"])

    def diagnose(self, error: ConnectorError) -> str | None:
        """Name WeCom's channel problems: a bad secret or corp id, a missing API permission, an untrusted IP."""
        if isinstance(error, RequestRejected) and isinstance(error.code, int) and error.code in SETUP_PROBLEMS:
            return f"wecom: {SETUP_PROBLEMS[error.code]} (errcode {error.code})"
        return super().diagnose(error)
