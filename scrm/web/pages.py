"""The server-rendered pages: the overview and the language switch every page reuses."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.datastructures import Cookie
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from scrm import __version__
from scrm.models import Workspace
from scrm.web import i18n
from scrm.web.overview import find_overview

ONE_YEAR = 365 * 24 * 3600


def page_context(request: Request[Any, Any, Any], page: str, **extra: Any) -> dict[str, Any]:
    """What every page template needs: the language, its translator, the version, where we are."""
    lang = i18n.negotiate(request.cookies.get(i18n.COOKIE), request.headers.get("accept-language"))
    return {
        "lang": lang,
        "t": i18n.Translator(lang),
        "languages": i18n.LANGUAGES,
        "version": __version__,
        "page": page,
        "path": request.url.path,
        "htmx": bool(request.app.state.get("htmx_available")),
        **extra,
    }


def _workspace(request: Request[Any, Any, Any]) -> Workspace | None:
    """The workspace of the signed-in user: pages never show another tenant's data."""
    signed_in = request.scope.get("user")
    return getattr(signed_in, "workspace", None)


class PagesController(Controller):
    """The UI shell."""

    include_in_schema = False

    @get("/", name="overview")
    async def overview(self, request: Request[Any, Any, Any]) -> Template:
        """The overview of the workspace: counts, channels, recent conversations and comments."""
        context = page_context(request, "overview", overview=await find_overview(_workspace(request)))
        return Template(template_name="overview.html", context=context)

    @get("/overview/live", name="overview_live")
    async def overview_live(self, request: Request[Any, Any, Any]) -> Template:
        """The live part of the overview, refreshed by htmx."""
        overview = await find_overview(_workspace(request))
        if overview is None:
            raise NotFoundException("No workspace yet")
        return Template(
            template_name="overview_live.html", context=page_context(request, "overview", overview=overview)
        )

    @get("/lang/{code:str}", name="set_language")
    async def set_language(self, code: FromPath[str], next: FromQuery[str] = "/") -> Redirect:
        """Remember the chosen UI language in a cookie and go back to the page the user was on."""
        if code not in i18n.LANGUAGES:
            raise NotFoundException(f"Unknown language {code!r}; choose one of {', '.join(i18n.LANGUAGES)}")
        target = next if next.startswith("/") and not next.startswith("//") else "/"
        cookie = Cookie(key=i18n.COOKIE, value=code, max_age=ONE_YEAR, httponly=True, samesite="lax", path="/")
        return Redirect(path=target, cookies=[cookie])
