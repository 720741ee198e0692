"""OAuth 1.0a request signing (HMAC-SHA1) for X's user-context endpoints, such as sending a DM.

The rules are RFC 5849 §3.4 as X's "Creating a signature" page spells them out
(docs.x.com/fundamentals/authentication/oauth-1-0a/creating-a-signature): percent-encode every key and value
(RFC 3986 unreserved characters only), sort by encoded key then value, join as ``k=v`` with ``&``; the base
string is ``METHOD&enc(base URL)&enc(parameter string)``; the key is ``enc(consumer secret)&enc(token secret)``.
Query parameters and form-encoded body parameters are signed; a JSON body is not (RFC 5849 §3.4.1.3.1).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote

import httpx

from scrm.connectors.ratelimit import Clock

FORM = "application/x-www-form-urlencoded"


def percent(value: str) -> str:
    """Percent-encode as RFC 5849 §3.6 asks: everything but ``A-Z a-z 0-9 - . _ ~``, upper-case hex."""
    return quote(value, safe="-._~")


def base_url(url: httpx.URL) -> str:
    """Return the URL without query or fragment, scheme and host in lower case, default port dropped (§3.4.1.2)."""
    default = {"http": 80, "https": 443}.get(url.scheme)
    port = f":{url.port}" if url.port is not None and url.port != default else ""
    return f"{url.scheme.lower()}://{url.host.lower()}{port}{url.raw_path.decode().split('?', 1)[0]}"


def parameter_string(params: Iterable[tuple[str, str]]) -> str:
    """Return the normalised parameters: encoded, sorted by key then value, joined with ``&``."""
    encoded = sorted((percent(key), percent(value)) for key, value in params)
    return "&".join(f"{key}={value}" for key, value in encoded)


def signature_base_string(method: str, url: httpx.URL, params: Iterable[tuple[str, str]]) -> str:
    """Return ``METHOD&enc(base URL)&enc(parameter string)``."""
    return "&".join([method.upper(), percent(base_url(url)), percent(parameter_string(params))])


def hmac_sha1_signature(base: str, consumer_secret: str, token_secret: str) -> str:
    """Return the base64 HMAC-SHA1 of the base string under ``enc(consumer secret)&enc(token secret)``."""
    key = f"{percent(consumer_secret)}&{percent(token_secret)}"
    digest = hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass
class OAuth1(httpx.Auth):
    """Signs each outgoing request with the app's consumer key and the account's access token."""

    consumer_key: str
    consumer_secret: str
    token: str
    token_secret: str
    clock: Clock
    nonce: Callable[[], str] = field(default=lambda: secrets.token_hex(16))
    requires_request_body = True

    def oauth_params(self) -> dict[str, str]:
        """Return the ``oauth_*`` protocol parameters of one request, before signing."""
        return {
            "oauth_consumer_key": self.consumer_key,
            "oauth_nonce": self.nonce(),
            "oauth_signature_method": "HMAC-SHA1",
            "oauth_timestamp": str(int(self.clock.now().timestamp())),
            "oauth_token": self.token,
            "oauth_version": "1.0",
        }

    def authorization(self, request: httpx.Request) -> str:
        """Return the ``Authorization: OAuth ...`` header value for ``request``."""
        oauth = self.oauth_params()
        signed = [*request.url.params.multi_items(), *oauth.items(), *_form_params(request)]
        base = signature_base_string(request.method, request.url, signed)
        oauth["oauth_signature"] = hmac_sha1_signature(base, self.consumer_secret, self.token_secret)
        return "OAuth " + ", ".join(f'{percent(key)}="{percent(value)}"' for key, value in sorted(oauth.items()))

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the signed header and send the request once."""
        request.headers["Authorization"] = self.authorization(request)
        yield request


def _form_params(request: httpx.Request) -> list[tuple[str, str]]:
    if request.headers.get("content-type", "").split(";")[0].strip() != FORM:
        return []
    return parse_qsl(request.content.decode(), keep_blank_values=True)
