"""The ingress routes, `/webhooks/{platform}/{channel_id}`, and the ingress-only app of `scrm webhooks`."""

from __future__ import annotations

from litestar import Router


def ingress_router() -> Router:
    """All webhook endpoints; one small module per platform adds its handshake and verification."""
    return Router(path="/webhooks", route_handlers=[])
