"""Channel health: what a refused Graph call says about the channel's token, and asking Meta about a token.

A Page or WhatsApp token that Meta refuses will not come back by itself (these long-lived tokens cannot be
refreshed by the connector), so the channel needs a person: reconnect, or grant a permission again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from scrm.connectors.errors import AuthRejected, ConnectorError
from scrm.connectors.http import ApiClient
from scrm.connectors.meta.graph import parse_error_key


class TokenProblem(StrEnum):
    """Why a channel's token no longer works."""

    EXPIRED = "expired"
    REVOKED = "revoked"
    PERMISSION_MISSING = "permission_missing"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class ChannelProblem:
    """A token problem and a sentence saying what happened, to show on the channel."""

    problem: TokenProblem
    reason: str


# Authentication error subcodes of code 190, Handling Errors page (graph-api/guides/error-handling) [doc-excerpt:
# 458, 459, 460 seen; 463, 464, 467 and 492 listed there too, unverified in the retrieved excerpt].
TOKEN_SUBCODES: Mapping[int, ChannelProblem] = {
    458: ChannelProblem(TokenProblem.REVOKED, "the person who granted the token removed the app"),
    459: ChannelProblem(TokenProblem.INVALID, "the account is checkpointed: its owner must log in on Facebook"),
    460: ChannelProblem(TokenProblem.REVOKED, "the password of the account that granted the token changed"),
    463: ChannelProblem(TokenProblem.EXPIRED, "the access token expired"),
    464: ChannelProblem(TokenProblem.INVALID, "the account that granted the token is unconfirmed"),
    467: ChannelProblem(TokenProblem.INVALID, "the access token is invalid (logged out or revoked)"),
    492: ChannelProblem(TokenProblem.REVOKED, "the role of the account that granted the token on the Page changed"),
}


def token_problem(code: int | None, subcode: int | None = None) -> ChannelProblem | None:
    """Say what a Graph error code means for the channel's token, or None when it says nothing about it.

    190 (access token expired) and 102 (API session) without a known subcode mean "expired, revoked or
    otherwise invalid: get a new token"; 3, 10 and 200-299 mean a permission was never granted or was removed
    (Handling Errors page). 10/2018278 is the messaging window, not a permission.
    """
    if code in {190, 102}:
        generic = ChannelProblem(TokenProblem.INVALID, "the access token expired, was revoked or is invalid")
        return TOKEN_SUBCODES.get(subcode or 0, generic)
    if (code, subcode) == (10, 2018278):
        return None
    if code in {3, 10} or (code is not None and 200 <= code <= 299):
        return ChannelProblem(TokenProblem.PERMISSION_MISSING, f"a permission the channel needs is missing (#{code})")
    return None


def problem_of(error: ConnectorError) -> ChannelProblem | None:
    """Say what a refused call means for the channel, from the Graph code the error carries."""
    if not isinstance(error, AuthRejected):
        return None
    return token_problem(*parse_error_key(error.code))


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What ``debug_token`` says about a token: valid or not, until when, with which permissions."""

    is_valid: bool
    expires_at: datetime | None = None
    scopes: tuple[str, ...] = ()
    problem: ChannelProblem | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


async def debug_token(api: ApiClient, token: str) -> TokenInfo:
    """Ask Meta about ``token`` with ``GET /debug_token``; ``api`` must carry the app access token.

    The app token is ``<app id>|<app secret>``; ``data`` holds ``is_valid``, ``expires_at`` (0 = never),
    ``scopes`` and, for a bad token, ``error.{code,subcode}`` (debug_token reference) [unverified: recalled,
    not in a retrieved excerpt].
    """
    data = (await api.call("GET", "/debug_token", params={"input_token": token})).json().get("data", {})
    expires = int(data.get("expires_at") or 0)
    error = data.get("error") or {}
    problem = token_problem(error.get("code"), error.get("subcode")) if error else None
    return TokenInfo(
        is_valid=bool(data.get("is_valid")),
        expires_at=datetime.fromtimestamp(expires, UTC) if expires else None,
        scopes=tuple(data.get("scopes", [])),
        problem=problem,
        raw=data,
    )


EXPIRY_WARNING = timedelta(days=7)
"""A token (or its data access) ending within this period is reported as a warning, not as a problem."""

# The permissions each product of a channel needs on its token. meta.md a [doc-excerpt, webhooks-for-pages]: the
# Page's webhooks need ``pages_manage_metadata`` and messaging needs ``pages_messaging``; reading the Page's posts
# and comments needs ``pages_read_engagement``, Instagram Direct ``instagram_manage_messages``, WhatsApp sends
# ``whatsapp_business_messaging`` and its templates ``whatsapp_business_management`` [unverified: permission
# reference pages, not in meta.md].
PAGE_PERMISSIONS = ("pages_messaging", "pages_manage_metadata", "pages_read_engagement")
INSTAGRAM_PERMISSIONS = ("instagram_manage_messages",)
WHATSAPP_PERMISSIONS = ("whatsapp_business_messaging",)
TEMPLATE_PERMISSIONS = ("whatsapp_business_management",)


def needed_permissions(creds: Mapping[str, str], key: str) -> tuple[str, ...]:
    """The permissions the token under ``key`` must carry for the products the channel has keys for."""
    if key == "whatsapp_token":
        templates = TEMPLATE_PERMISSIONS if creds.get("whatsapp_business_account_id") else ()
        return WHATSAPP_PERMISSIONS + templates
    return PAGE_PERMISSIONS + (INSTAGRAM_PERMISSIONS if creds.get("instagram_account_id") else ())


@dataclass(frozen=True, slots=True)
class TokenVerdict:
    """What a ``debug_token`` answer means for the channel: a problem (unhealthy), or only a warning."""

    problem: str | None = None
    warning: str | None = None
    ends_at: datetime | None = None
    """With a warning: the soonest time the token (or its data access) ends."""


def judge_token(info: TokenInfo, needed: tuple[str, ...], now: datetime, label: str) -> TokenVerdict:
    """Judge one token: invalid, expired or missing a permission is a problem; ending within 7 days a warning.

    ``data_access_expires_at`` (epoch seconds, 0 = never) ends the token's access to people's data: past it the
    token is as good as expired.
    """
    if not info.is_valid:
        reason = info.problem.reason if info.problem else "the access token is invalid"
        kind = info.problem.problem if info.problem else TokenProblem.INVALID
        return TokenVerdict(problem=f"meta: the {label}: {reason} ({kind})")
    data_access = int(info.raw.get("data_access_expires_at") or 0)
    ends = [("expire", info.expires_at), ("lose data access", _at(data_access))]
    for what, at in ends:
        if at is not None and at <= now:
            when = f"{at:%Y-%m-%d %H:%M} UTC"
            return TokenVerdict(problem=f"meta: the {label} did {what} on {when} ({TokenProblem.EXPIRED})")
    missing = [name for name in needed if name not in info.scopes]
    if missing:
        names = ", ".join(missing)
        return TokenVerdict(problem=f"meta: the {label} lacks {names} ({TokenProblem.PERMISSION_MISSING})")
    ending = [(what, at) for what, at in ends if at is not None and at - now <= EXPIRY_WARNING]
    if not ending:
        return TokenVerdict()
    soon = " and ".join(f"will {what} on {at:%Y-%m-%d %H:%M} UTC" for what, at in ending)
    return TokenVerdict(warning=f"meta: the {label} {soon}", ends_at=min(at for _, at in ending))


def _at(epoch: int) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch else None
