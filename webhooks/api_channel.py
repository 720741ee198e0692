"""`POST /api/v1/channels/{channel_id}/inbound`: the generic API channel's ingress, for sources without a connector.

Authenticated by the channel's own `inbound_token` (not a user's API token), validated against the documented
shape (`scrm.connectors.api.payloads`) so that a bad request gets a 400 naming what is wrong, then stored raw
and processed by the worker like any platform's delivery. `Idempotency-Key` makes a retried request a no-op.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Request, Router, post
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, JSONBody

from scrm.connectors.api.payloads import InboundBatch
from webhooks.ingress import raw_event_document
from webhooks.platforms import body_digest
from webhooks.state import channel_directory, raw_event_writer

PLATFORM = "api"


class InboundAccepted(msgspec.Struct):
    """The answer: how many events were taken, under which delivery id, and whether it was new."""

    accepted: int
    event_id: str
    duplicate: bool


async def channel_token_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Admit only a request bearing the channel's `inbound_token` (constant-time compare)."""
    channel_id = str(connection.path_params.get("channel_id", ""))
    channel = await channel_directory(connection).find(channel_id)
    if channel is None or channel.platform != PLATFORM or channel.is_disabled:
        raise NotFoundException(f"No API channel {channel_id!r} (or it is disabled)")
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    expected = channel.credentials.get("inbound_token", "")
    if scheme.lower() != "bearer" or not expected or not hmac.compare_digest(token.strip(), expected):
        raise NotAuthorizedException("Send the channel's inbound token as `Authorization: Bearer <token>`")


@post(
    "/{channel_id:str}/inbound",
    guards=[channel_token_guard],
    status_code=202,
    tags=["channels"],
    summary="Send events into a generic API channel",
    security=[{"channel_token": []}],
)
async def receive_inbound(
    request: Request[Any, Any, Any], channel_id: FromPath[str], data: JSONBody[InboundBatch]
) -> InboundAccepted:
    """Store a batch of messages, posts, comments and follows for the worker; 202 once it is durable."""
    channel = await channel_directory(request).find(channel_id)
    assert channel is not None, "the guard admitted it"
    body = await request.body()
    event_id = request.headers.get("idempotency-key") or body_digest(body)
    document = raw_event_document(channel, event_id, body, {"content-type": "application/json"}, datetime.now(UTC))
    new = await raw_event_writer(request).write(document)
    return InboundAccepted(accepted=len(data.events), event_id=event_id, duplicate=not new)


def inbound_router() -> Router:
    """The generic API channel's ingress, beside (not inside) the token-protected `/api/v1` router."""
    return Router(path="/api/v1/channels", route_handlers=[receive_inbound])
