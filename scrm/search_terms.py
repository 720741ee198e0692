"""The terms a text is searched by: words, and for Han and kana character bigrams and single characters.

Pure (no database, no other module of the project), so that the `Message` model can fill `search_terms` when
it is built; `scrm.inbox.search` explains the choices and runs the queries.
"""

from __future__ import annotations

import re
import unicodedata

MAX_QUERY_TERMS = 32
"""A query's terms beyond this are left out (each one is an index lookup)."""

_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
"""Kana and Han (CJK unified ideographs and their extensions, compatibility ideographs)."""
_RUN = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+(?:['’][^\W_{_CJK}]+)*")
_APOSTROPHE = re.compile("['’]")


def _terms(text: str) -> list[str]:
    """The terms of `text` in order of appearance, each once."""
    normal = unicodedata.normalize("NFKC", text).casefold()
    terms: dict[str, None] = {}
    for found in _RUN.finditer(normal):
        run = found.group()
        if re.match(rf"[{_CJK}]", run):
            for index in range(len(run)):
                terms.setdefault(run[index])
                if index + 1 < len(run):
                    terms.setdefault(run[index : index + 2])
        else:
            terms.setdefault(_APOSTROPHE.sub("", run))
    return list(terms)


def search_terms(text: str) -> list[str]:
    """The terms a message's text is indexed by, each once (the value of `Message.search_terms`)."""
    return _terms(text)


def search_tokens(text: str) -> str:
    """The same terms separated by spaces, as one string (to read them, and in tests)."""
    return " ".join(_terms(text))


def query_terms(query: str) -> list[str]:
    """The terms a query requires: its words, and for Han the bigrams (a one-character run: the character)."""
    normal = unicodedata.normalize("NFKC", query).casefold()
    terms: dict[str, None] = {}
    for found in _RUN.finditer(normal):
        run = found.group()
        if re.match(rf"[{_CJK}]", run):
            if len(run) == 1:
                terms.setdefault(run)
            for index in range(len(run) - 1):
                terms.setdefault(run[index : index + 2])
        else:
            terms.setdefault(_APOSTROPHE.sub("", run))
    return list(terms)[:MAX_QUERY_TERMS]
