"""WeChat Official Accounts (公众号) through the official API."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx

from scrm.connectors.base import Capability, Connector, Credentials, Reply
from scrm.connectors.errors import (
    ConnectorError,
    MessageLimitReached,
    MessagingWindowClosed,
    RequestRejected,
    TemporaryFailure,
)
from scrm.connectors.http import ApiClient
from scrm.connectors.items import Inbound
from scrm.connectors.outcomes import Outcome, Verdict, classify_status
from scrm.connectors.ratelimit import RateLimit, TokenBucket
from scrm.connectors.stores import AccessToken
from scrm.connectors.tokens import AccessTokens
from scrm.connectors.wechat.crypto import MessageCrypto
from scrm.connectors.wechat.payloads import parse_message, parse_xml
from scrm.connectors.wechat.streams import Followers

API_URL = "https://api.weixin.qq.com/cgi-bin"
# errcode in an HTTP 200 body (wechat.md d). 40001 invalid credential, 42001 access_token expired,
# 40014 invalid access_token: fetch a new token once and retry. -1 "system busy", 45009 daily quota reached.
ERRCODE_OUTCOMES: Mapping[int, Outcome] = {
    40001: Outcome.REAUTH,
    42001: Outcome.REAUTH,
    40014: Outcome.REAUTH,
    -1: Outcome.RETRY,
    45009: Outcome.RATE_LIMITED,
}
# What each errcode that needs a person means, and what to do. Meanings from the return codes of the
# access-token reference (developers.weixin.qq.com/doc/offiaccount/Basic_Information/Get_access_token.html) and the
# global return-code table, read in verbatim copies: 40001 AppSecret错误或者access_token无效, 40013 不合法的AppID,
# 40164 调用接口的IP地址不在白名单中, 48001 api功能未授权, 42001 access_token超时. (45009 接口调用超过限制, the daily
# quota, is not one: it renews by itself, see `classify_wechat`.)
SETUP_PROBLEMS: Mapping[int, str] = {
    40001: "the AppSecret is wrong or was reset (copy AppID and AppSecret again from 设置与开发 → 基本配置)",
    40013: "the AppID is invalid (copy it from 设置与开发 → 基本配置; it starts with wx and is case-sensitive)",
    40164: "this server's IP{ip} is not in the account's IP whitelist (add it under 设置与开发 → 基本配置 → IP白名单)",
    48001: "this account type is not authorised for the API (customer-service messages and the follower list need "
    "a verified service or subscription account)",
    42001: "the access token expired and a new one was refused; check the AppSecret and the IP whitelist",
}
INVALID_IP = re.compile(r"invalid ip ([0-9A-Fa-f:.]+)")
"""40164's errmsg names the caller: "invalid ip 101.45.43.1 ipv6 ::ffff:101.45.43.1, not in whitelist rid: …"
(as reported verbatim in overtrue/laravel-wechat#367 and binarywang/WxJava#3199)."""
# Send refusals (wechat.md c): 45015 reply time limit exceeded (48 h window), 45047 message count limit
SEND_ERRORS: Mapping[int, type[RequestRejected]] = {45015: MessagingWindowClosed, 45047: MessageLimitReached}


DAILY_QUOTA = 45009
BEIJING = ZoneInfo("Asia/Shanghai")


def seconds_to_quota_renewal(now: datetime) -> float:
    """Seconds until the daily API quota renews: the next midnight, Beijing time (45009's errmsg, wechat.md d)."""
    local = now.astimezone(BEIJING)
    midnight = datetime.combine(local.date() + timedelta(days=1), time.min, tzinfo=BEIJING)
    return (midnight - local).total_seconds()


def classify_wechat(response: httpx.Response, now: datetime) -> Verdict:
    """Judge an API answer: the status table, then any non-zero ``errcode`` in a 200 body.

    45009 (the daily quota is used up) is a limit that passes by itself: wait until the quota renews at
    midnight Beijing time rather than stop the channel, so queued replies go out then without anyone's help.
    """
    verdict = classify_errcode(response, now, ERRCODE_OUTCOMES)
    if verdict.code == DAILY_QUOTA:
        return replace(verdict, retry_after=seconds_to_quota_renewal(now))
    return verdict


def classify_errcode(response: httpx.Response, now: datetime, errcodes: Mapping[int, Outcome]) -> Verdict:
    """Judge an answer of the WeChat family (Official Accounts, WeCom): the status table, then ``errcode``.

    A non-zero ``errcode`` in a 200 body is looked up in ``errcodes``; codes not listed there fail.
    """
    verdict = classify_status(response, now)
    if verdict.outcome is not Outcome.OK:
        return verdict
    try:
        body = response.json()
    except ValueError:
        return verdict
    code = body.get("errcode", 0) if isinstance(body, dict) else 0
    if not code:
        return verdict
    return Verdict(errcodes.get(code, Outcome.FAIL), None, code, str(body.get("errmsg", "")))


@dataclass
class AccessTokenAuth:
    """Adds the app's ``access_token`` to each call; a refused token is replaced once for all callers."""

    tokens: AccessTokens
    creds: Credentials
    token_api: ApiClient
    """A client without authentication, for the token endpoint itself."""

    @property
    def key(self) -> str:
        """The token's key in the store: one token per app, whichever channel uses it."""
        return f"wechat:{self.creds['app_id']}"

    async def params(self) -> Mapping[str, str]:
        """Return ``access_token=<token>``."""
        return {"access_token": await self.tokens.get(self.key, self.fetch)}

    async def renew(self, rejected: Mapping[str, str]) -> None:
        """Replace the refused token unless another caller already did."""
        await self.tokens.refresh(self.key, rejected.get("access_token", ""), self.fetch)

    def token_request(self) -> tuple[str, dict[str, str]]:
        """Return the token endpoint's path and query (wechat.md d: ``GET cgi-bin/token``)."""
        creds = self.creds
        return "/token", {"grant_type": "client_credential", "appid": creds["app_id"], "secret": creds["app_secret"]}

    async def fetch(self) -> AccessToken:
        """Ask for a new token (wechat.md d: ``access_token`` and ``expires_in``, 7200 s when absent)."""
        path, params = self.token_request()
        body = (await self.token_api.call("GET", path, params=params)).json()
        expires_at = self.token_api.clock.now() + timedelta(seconds=int(body.get("expires_in", 7200)))
        return AccessToken(body["access_token"], expires_at)


class WeChat(Connector):
    """WeChat Official Accounts: pushed messages and events, followers, customer-service messages."""

    platform = "wechat"
    capabilities = frozenset({Capability.MESSAGES, Capability.REPLY, Capability.FOLLOWS, Capability.PULL})
    # No per-second limit is documented, only daily quotas per API (wechat.md d); this pace is our choice.
    rate_limit = RateLimit(calls=10, per=timedelta(seconds=1))
    streams = (Followers,)
    credential_keys = frozenset({"app_id", "app_secret", "token"})

    def api(self, http: httpx.AsyncClient, creds: Credentials, bucket: TokenBucket | None = None) -> ApiClient:
        """Return a client that adds the app's access token and reads ``errcode`` answers."""
        token_api = ApiClient(http, API_URL, self.clock, classify=classify_wechat)
        auth = AccessTokenAuth(self.tokens, creds, token_api)
        return ApiClient(http, API_URL, self.clock, classify=classify_wechat, bucket=bucket, auth=auth)

    def parse_webhook(self, body: bytes, creds: Credentials) -> Sequence[Inbound]:
        """Turn a push into items, decrypting it when the channel is in safe or compatible mode.

        With ``encoding_aes_key`` set, the ``Encrypt`` field is authoritative (the clear fields of compatible
        mode are not covered by ``msg_signature``); the ingress has already checked the signature.
        """
        fields = parse_xml(body)
        if creds.get("encoding_aes_key") and "Encrypt" in fields:
            crypto = MessageCrypto(creds["token"], creds["encoding_aes_key"], creds["app_id"])
            fields = parse_xml(crypto.decrypt(fields["Encrypt"]))
        item = parse_message(fields)
        return [item] if item is not None else []

    async def send(self, http: httpx.AsyncClient, creds: Credentials, reply: Reply) -> str:
        """Send a customer-service text message (``message/custom/send``, wechat.md c).

        Returns an empty string: this API answers only ``{"errcode":0,"errmsg":"ok"}``, with no message id.
        The 48-hour window is checked before sending; a closed window still surfaces as ``MessagingWindowClosed``.
        """
        payload = {"touser": reply.to, "msgtype": "text", "text": {"content": reply.text}}
        try:
            await self.api(http, creds).call("POST", "/message/custom/send", json=payload, idempotent=False)
        except RequestRejected as exc:
            error = SEND_ERRORS.get(exc.code) if isinstance(exc.code, int) else None
            if error is None:
                raise
            raise error(str(exc), status=exc.status, code=exc.code) from exc
        return ""

    async def check_credentials(self, http: httpx.AsyncClient, creds: Credentials) -> str | None:
        """Fetch a fresh access token with the AppID and AppSecret: the token endpoint is the credential check.

        ``GET cgi-bin/token`` answers 40001 (wrong or reset AppSecret), 40013 (invalid AppID) or 40164 (this
        server's IP is not whitelisted, named in ``errmsg``); ``diagnose`` says what to fix for each. A cached
        token proves nothing about the secret, so one token is always fetched, and saved for every caller.
        """
        token_api = ApiClient(http, API_URL, self.clock, classify=classify_wechat)
        return await check_by_fetching(self, AccessTokenAuth(self.tokens, creds, token_api))

    def diagnose(self, error: ConnectorError) -> str | None:
        """Say what a person must fix: wrong AppSecret or AppID, an IP to whitelist, an unauthorised API, the quota."""
        code = getattr(error, "code", None)
        if isinstance(code, int) and code in SETUP_PROBLEMS:
            found = INVALID_IP.search(str(error))
            reason = SETUP_PROBLEMS[code].format(ip=f" {found.group(1)}" if found else "")
            return f"wechat: {reason} (errcode {code})"
        return super().diagnose(error)


async def check_by_fetching(connector: Connector, auth: AccessTokenAuth) -> str | None:
    """Fetch one new access token through ``auth`` and save it: the problem the answer names, or None.

    The new token replaces the stored one by compare-and-set (``AccessTokens``), so other callers use it rather
    than the one the platform may now retire. Outages and quotas (``TemporaryFailure``) propagate: they say
    nothing about the credentials.
    """
    fetched = False

    async def fetch() -> AccessToken:
        nonlocal fetched
        fetched = True
        return await auth.fetch()

    try:
        token = await connector.tokens.get(auth.key, fetch)
        if not fetched:
            await connector.tokens.refresh(auth.key, token, fetch)
    except TemporaryFailure:
        raise
    except ConnectorError as exc:
        return connector.diagnose(exc) or f"{connector.platform}: no access token was issued: {exc}"
    return None
