"""A conversation's messaging window, and why a reply was refused, in the reader's language.

Shared by the inbox page (next to the reply box) and the API's refusal (`Accept-Language: zh-CN` gets the
Chinese detail; the stable `code` is the same in every language).
"""

from __future__ import annotations

from collections.abc import Callable

from scrm.inbox.replies import ReplyRefused, WindowState
from scrm.web import i18n

Translate = Callable[..., str]


def window_name(t: Translate, state: WindowState) -> str:
    """What people call the window (`WeChat 48 h`, `微信 48 小时窗口`)."""
    return t(f"panel.window.name.{state.key}") if state.key else ""


def refusal_detail(language: str, refused: ReplyRefused) -> str:
    """Why a reply was refused, in `language`: English keeps the delivery's own words (they name the window and
    its exceptions); other languages say it from the window's code and name."""
    state = refused.window
    if language == i18n.DEFAULT_LANGUAGE or state is None or not state.key or not refused.code:
        return str(refused)
    t = i18n.Translator(language)
    return t(
        f"panel.window.refused.{refused.code}",
        window=window_name(t, state),
        hours=state.hours_since or 0,
        limit=state.message_limit or 0,  # `messaging_window_message_limit`: WeChat, WeCom 5 per window
    )


def request_language(cookie: str | None, accept_language: str | None) -> str:
    """The language of a request: the user's choice, else the browser's preference, else English."""
    return i18n.negotiate(cookie, accept_language)
