"""The ingress-only app of `scrm webhooks`: health and the webhook routes, without the UI and without spaCy."""

from __future__ import annotations

from litestar import Litestar
from litestar.datastructures import State

from scrm.health import health
from scrm.lifespan import resources_lifespan
from scrm.problems import handle_problem
from scrm.settings import Settings
from webhooks.routes import ingress_router


def create_ingress_app(settings: Settings) -> Litestar:
    """An app that only takes platform deliveries; run as many of them as the traffic needs."""
    return Litestar(
        route_handlers=[health, ingress_router()],
        lifespan=[resources_lifespan(settings)],
        exception_handlers={Exception: handle_problem},
        request_max_body_size=settings.max_webhook_body,
        state=State({"settings": settings}),
        openapi_config=None,
    )
