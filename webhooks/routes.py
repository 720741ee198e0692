"""The ingress routes: `GET` (handshake) and `POST` (delivery) on `/webhooks/{platform}/{channel_id}`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.params import FromPath

from scrm.channel_access import ChannelAccess
from webhooks.api_channel import inbound_router
from webhooks.ingress import raw_event_document
from webhooks.line import LineHook
from webhooks.meta import MetaHook
from webhooks.platforms import Delivery, PlatformHook
from webhooks.state import channel_directory, raw_event_writer
from webhooks.telegram import TelegramHook
from webhooks.wechat import WeChatHook
from webhooks.wecom import WeComHook
from webhooks.x import XHook

HOOKS: dict[str, PlatformHook] = {
    hook.platform: hook for hook in (TelegramHook(), WeChatHook(), MetaHook(), LineHook(), XHook(), WeComHook())
}


@get("/{platform:str}/{channel_id:str}", summary="A platform's subscription handshake", tags=["webhooks"])
async def handshake(
    request: Request[Any, Any, Any], platform: FromPath[str], channel_id: FromPath[str]
) -> Response[str]:
    """Answer the platform's check of the webhook address (WeChat `echostr`, Meta `hub.challenge`, …)."""
    hook, channel = await _resolve(request, platform, channel_id)
    return hook.handshake(_query(request), channel)


@post("/{platform:str}/{channel_id:str}", summary="A platform's delivery", tags=["webhooks"], status_code=200)
async def receive(request: Request[Any, Any, Any], platform: FromPath[str], channel_id: FromPath[str]) -> Response[str]:
    """Verify the delivery, store it raw and durably (a redelivery is a quiet no-op), answer as the platform expects."""
    hook, channel = await _resolve(request, platform, channel_id)
    body = await request.body()
    delivery = Delivery(body=body, headers=request.headers, query=_query(request))
    if not hook.verify(delivery, channel):
        raise NotAuthorizedException("The delivery's signature does not verify; nothing was stored")
    kept = {name: value for name, value in request.headers.items() if name in hook.kept_headers}
    document = raw_event_document(channel, hook.event_id(delivery, channel), body, kept, datetime.now(UTC))
    await raw_event_writer(request).write(document)
    return hook.acknowledge(delivery)


def ingress_router() -> Router:
    """All webhook endpoints: `/webhooks/{platform}/{channel_id}` and the generic API channel's inbound."""
    return Router(
        path="/", route_handlers=[Router(path="/webhooks", route_handlers=[handshake, receive]), inbound_router()]
    )


async def _resolve(
    request: Request[Any, Any, Any], platform: str, channel_id: str
) -> tuple[PlatformHook, ChannelAccess]:
    hook = HOOKS.get(platform)
    if hook is None:
        raise NotFoundException(f"No webhook for platform {platform!r}")
    channel = await channel_directory(request).find(channel_id)
    if channel is None or channel.platform != platform or channel.is_disabled:
        raise NotFoundException(f"No {platform} channel {channel_id!r} (or it is disabled)")
    return hook, channel


def _query(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in request.query_params.items()}
