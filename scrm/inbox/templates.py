"""Message templates: the WhatsApp templates a channel may send outside the 24-hour window, and sending one.

Templates are listed from Meta (``GET /{waba-id}/message_templates``) and kept for ``CACHE_SECONDS`` per
channel, so opening the picker twice asks Meta once. Only an approved template in the chosen language can go
out; its body's ``{{1}}``, ``{{2}}``... placeholders take the parameters in order, and the filled-in body is
what the conversation shows of the message.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from beanie import PydanticObjectId

from scrm.auth.roles import Principal
from scrm.channel_health import mark_unhealthy
from scrm.channels import find_visible_channel
from scrm.connectors.errors import ConnectorError
from scrm.connectors.meta import Meta
from scrm.connectors.meta.streams import TemplateInfo
from scrm.inbox.conversations import InboxInputError
from scrm.models import ChannelCredentials, Conversation
from scrm.models.sealed import SecretBox
from scrm.outbox import TemplateRef
from scrm.platform_state import MongoTokenStore

CACHE_SECONDS = 60.0
"""How long a channel's template list is reused: a template approved at Meta shows within a minute."""
MAX_PARAMETERS = 20
MAX_PARAMETER_LENGTH = 1024
PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")
WHATSAPP_PREFIX = "whatsapp:"


CATALOG_STATE = "template_catalog"


def catalog_of(state: Any) -> TemplateCatalog:
    """The app's template catalog (one cache per process, on the app's ``state``), made on first use."""
    catalog: TemplateCatalog | None = state.get(CATALOG_STATE)
    if catalog is None:
        catalog = TemplateCatalog(SecretBox.from_secret_key(state.settings.secret_key))
        state[CATALOG_STATE] = catalog
    return catalog


class TemplatesUnavailable(Exception):
    """Meta would not list the channel's templates (its answer says why), or the channel has none to list."""


@dataclass(frozen=True, slots=True)
class TemplateView:
    """A template as the inbox offers it: name, language, status, category, body and how many parameters."""

    name: str
    language: str
    status: str
    category: str
    body: str
    parameters: int

    @property
    def approved(self) -> bool:
        """Can it be sent (Meta reviewed and approved it)?"""
        return self.status == "APPROVED"


def view_of(info: TemplateInfo) -> TemplateView:
    """The inbox's view of a template Meta listed."""
    body = next((str(c.get("text", "")) for c in info.components if str(c.get("type", "")).upper() == "BODY"), "")
    numbers = {int(n) for n in PLACEHOLDER.findall(body)}
    return TemplateView(info.name, info.language, info.status, info.category, body, max(numbers, default=0))


def render(template: TemplateView, parameters: tuple[str, ...]) -> str:
    """The body with each ``{{n}}`` replaced by the n-th parameter."""
    return PLACEHOLDER.sub(lambda match: parameters[int(match.group(1)) - 1], template.body)


class TemplateCatalog:
    """Lists channels' templates from Meta, each list reused for ``CACHE_SECONDS``."""

    def __init__(self, box: SecretBox, clock: Callable[[], float] = time.monotonic) -> None:
        self._box = box
        self._clock = clock
        self._cache: dict[PydanticObjectId, tuple[float, list[TemplateView]]] = {}

    async def templates(
        self, principal: Principal, channel_id: str, http: httpx.AsyncClient, now: datetime
    ) -> list[TemplateView]:
        """The templates of a channel the principal may see (NotInWorkspace otherwise), approved or not.

        Raises TemplatesUnavailable for a channel that is not a WhatsApp channel, and when Meta refuses the
        list (a refused token also marks the channel unhealthy, as a refused send does).
        """
        channel = await find_visible_channel(principal, channel_id)
        assert channel.id is not None
        cached = self._cache.get(channel.id)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        if channel.platform != Meta.platform:
            raise TemplatesUnavailable("Only WhatsApp channels (Meta) have message templates")
        stored = await principal.scope.find_one(ChannelCredentials, {"channel_id": channel.id})
        creds = stored.reveal(self._box) if stored is not None else {}
        if not creds.get("whatsapp_business_account_id") or not creds.get("whatsapp_token"):
            raise TemplatesUnavailable(
                "The channel needs the whatsapp_business_account_id and whatsapp_token credentials to list templates"
            )
        meta = Meta(MongoTokenStore(self._box))
        try:
            found = [view_of(info) for info in await meta.list_templates(http, creds)]
        except ConnectorError as exc:
            problem = meta.diagnose(exc)
            if problem is not None:
                await mark_unhealthy(channel.id, problem, now)
            raise TemplatesUnavailable(f"Meta did not list the templates: {exc}") from exc
        if len(self._cache) > 1000:
            self._cache.clear()
        self._cache[channel.id] = (self._clock() + CACHE_SECONDS, found)
        return found

    async def prepare(
        self,
        principal: Principal,
        conversation: Conversation,
        name: str,
        language: str,
        parameters: tuple[str, ...],
        http: httpx.AsyncClient,
        now: datetime,
    ) -> tuple[TemplateRef, str]:
        """Check a template reply for a conversation and return it with the text the conversation shows.

        Raises InboxInputError for a conversation that is not on WhatsApp, a template that is not approved in
        that language, or the wrong number of parameters; TemplatesUnavailable when Meta does not list them.
        """
        if conversation.platform != Meta.platform or not conversation.external_id.startswith(WHATSAPP_PREFIX):
            raise InboxInputError("Templates can be sent in WhatsApp conversations only")
        found = await self.templates(principal, str(conversation.channel_id), http, now)
        template = next((t for t in found if t.name == name and t.language == language), None)
        if template is None or not template.approved:
            raise InboxInputError(f"The channel has no approved template {name!r} in language {language!r}")
        if len(parameters) != template.parameters:
            raise InboxInputError(
                f"Template {name!r} takes {template.parameters} parameter(s), {len(parameters)} given"
            )
        if any(not p.strip() or len(p) > MAX_PARAMETER_LENGTH for p in parameters):
            raise InboxInputError(f"Each template parameter has 1 to {MAX_PARAMETER_LENGTH} characters")
        return TemplateRef(name, language, parameters), render(template, parameters)
