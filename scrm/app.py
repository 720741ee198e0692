"""create_app(): the Litestar application — UI, API and (in `scrm up`) webhooks and the worker in one process."""

from __future__ import annotations

import logging
from pathlib import Path

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig
from litestar.types import ControllerRouterHandler

from scrm import __version__
from scrm.api.router import SECURITY_SCHEME, v1_router
from scrm.auth.ui.account import AccountController
from scrm.auth.ui.login import LoginController
from scrm.auth.ui.middleware import SignedInMiddleware
from scrm.health import health
from scrm.lifespan import resources_lifespan
from scrm.settings import Settings
from scrm.web.channel_checks import ChannelCheckPageController
from scrm.web.errors import handle_error
from scrm.web.inbox.canned_settings import CannedSettingsController
from scrm.web.inbox.contact_panel import ContactPanelController, ThreadHistoryController
from scrm.web.inbox.controller import InboxController
from scrm.web.inbox.live_events import InboxEventsController, live_lifespan
from scrm.web.pages import PagesController
from scrm.web.teams import AvailabilityPageController, TeamsPageController
from scrm.worker import running_worker
from webhooks.routes import ingress_router

log = logging.getLogger(__name__)
WEB_DIR = Path(__file__).parent / "web"
API_PREFIX = "/api/v1"
# Front-end libraries installed from the npm registry (package.json) and served from node_modules.
VENDOR_ASSETS = {
    "htmx": Path("htmx.org/dist"),
    "htmx-ext-sse": Path("htmx-ext-sse/dist"),
    "swagger-ui": Path("swagger-ui-dist"),
}


def create_app(settings: Settings, *, webhooks: bool = False, worker: bool = False) -> Litestar:
    """The web app (UI + `/api/v1`); with `webhooks` it also takes deliveries, with `worker` it runs the clock."""
    handlers: list[ControllerRouterHandler] = [
        health,
        PagesController,
        ChannelCheckPageController,
        LoginController,
        AccountController,
        CannedSettingsController,
        InboxController,
        InboxEventsController,
        ContactPanelController,
        ThreadHistoryController,
        TeamsPageController,
        AvailabilityPageController,
        api_router(),
        *_static_routers(settings),
    ]
    if webhooks:
        handlers.append(ingress_router())
    return Litestar(
        route_handlers=handlers,
        lifespan=[
            resources_lifespan(settings, also=(lambda: running_worker("up", settings)) if worker else None),
            live_lifespan,
        ],
        template_config=TemplateConfig(directory=WEB_DIR / "templates", engine=JinjaTemplateEngine),
        openapi_config=_openapi_config(),
        exception_handlers={Exception: handle_error},
        middleware=[SignedInMiddleware()],
        request_max_body_size=settings.max_webhook_body,
        state=State({"settings": settings, "htmx_available": _vendor_dir(settings, "htmx").is_dir()}),
    )


def api_router() -> Router:
    """Everything under `/api/v1`; each feature adds its controllers to `scrm.api.router.RESOURCES`."""
    return v1_router(API_PREFIX)


def _openapi_config() -> OpenAPIConfig:
    swagger = SwaggerRenderPlugin(
        js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
        css_url="/static/vendor/swagger-ui/swagger-ui.css",
        standalone_preset_js_url="/static/vendor/swagger-ui/swagger-ui-standalone-preset.js",
        path="/",
    )
    return OpenAPIConfig(
        title="scrm API",
        version=__version__,
        description="The REST API of scrm, a social CRM. Every path is under /api/v1.",
        path=f"{API_PREFIX}/schema",
        render_plugins=[swagger],
        components=Components(
            security_schemes={
                SECURITY_SCHEME: SecurityScheme(
                    type="http", scheme="bearer", description="An API token: `scrm tokens create` prints one."
                )
            }
        ),
    )


def _vendor_dir(settings: Settings, name: str) -> Path:
    return settings.assets_dir / VENDOR_ASSETS[name]


def _static_routers(settings: Settings) -> list[Router]:
    routers = [create_static_files_router(path="/static", directories=[WEB_DIR / "static"], include_in_schema=False)]
    for name in VENDOR_ASSETS:
        directory = _vendor_dir(settings, name)
        if not directory.is_dir():
            log.warning("Front-end assets missing at %s: run `npm ci` (make run does it).", directory)
            continue
        routers.append(
            create_static_files_router(
                path=f"/static/vendor/{name}",
                directories=[directory],
                include_in_schema=False,
                name=f"vendor-{name}",
            )
        )
    return routers
