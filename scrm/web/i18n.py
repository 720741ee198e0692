"""UI text in English and Simplified Chinese.

Each language is a folder of JSON files (one per area of the product: `core.json`, `teams.json`, ...) merged
into one catalog; every language has the same keys.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

LANGUAGES: dict[str, str] = {"en": "English", "zh-CN": "简体中文"}
DEFAULT_LANGUAGE = "en"
COOKIE = "scrm_lang"
_LOCALES = Path(__file__).parent / "locales"


@cache
def catalog(language: str) -> Mapping[str, str]:
    """The UI strings of one language (read once per process)."""
    data: dict[str, str] = {}
    for path in sorted((_LOCALES / language).glob("*.json")):
        part: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        clash = sorted(set(part) & set(data))
        if clash:
            raise ValueError(f"{path.name} repeats UI keys of another {language} file: {', '.join(clash)}")
        data.update(part)
    return data


@dataclass(frozen=True, slots=True)
class Translator:
    """Looks up UI strings for one language; `t("key", n=3)` formats named placeholders."""

    language: str

    def __call__(self, key: str, **values: object) -> str:
        text = catalog(self.language).get(key) or catalog(DEFAULT_LANGUAGE).get(key) or key
        return text.format(**values) if values else text


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The language to show: the user's choice (cookie), else the browser's preference, else English."""
    if cookie in LANGUAGES:
        return cookie
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LANGUAGE
