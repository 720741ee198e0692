"""Find lead-capture entities in a text: phones, emails, WeChat ids, order numbers, URLs, money."""

from __future__ import annotations

import re
from collections.abc import Iterator

import phonenumbers

from scrm.nlp.tags import Entity

PHONE_REGIONS = ("CN", "US")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"'，。！？、）】」]+"
    r"|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|cn|net|org|io|co|me|ly|gl|top|xyz|info|biz|site|link|shop|app)(?:/[^\s<>\"'，。！？、]*)?",
    re.IGNORECASE,
)
_WECHAT = re.compile(
    r"(?:微信号?|威信|薇信|v信|weixin|wechat|wx|vx)\s*(?:号|id)?\s*(?:[:：是]\s*|\s)\s*([A-Za-z][-_A-Za-z0-9]{5,19})"
    r"(?![-_A-Za-z0-9])",
    re.IGNORECASE,
)
_ORDER = re.compile(
    r"(?:订单编?号|订单|单号|order\s*(?:no\.?|number|num|id|#)?|#)\s*[:：#]?\s*([A-Z0-9][-A-Z0-9]{5,31})"
    r"(?![-A-Z0-9])",
    re.IGNORECASE,
)
_NUMBER = r"(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
_MONEY_BEFORE = re.compile(r"(¥|￥|\$|€|£|RMB|CNY|USD|EUR|GBP|HKD|US\$|HK\$)\s?" + _NUMBER, re.IGNORECASE)
_MONEY_AFTER = re.compile(
    _NUMBER + r"\s?(万元|元|块钱|块|rmb|cny|usd|eur|gbp|美元|美金|人民币|港币|欧元|dollars?|bucks|euros?)",
    re.IGNORECASE,
)
_CURRENCIES = {
    "¥": "CNY", "￥": "CNY", "rmb": "CNY", "cny": "CNY", "元": "CNY", "块": "CNY", "块钱": "CNY",
    "人民币": "CNY", "万元": "CNY", "$": "USD", "us$": "USD", "usd": "USD", "美元": "USD", "美金": "USD",
    "dollar": "USD", "dollars": "USD", "bucks": "USD", "€": "EUR", "eur": "EUR", "euro": "EUR",
    "euros": "EUR", "欧元": "EUR", "£": "GBP", "gbp": "GBP", "hkd": "HKD", "hk$": "HKD", "港币": "HKD",
}  # fmt: skip


_HAN = re.compile(r"[\u4e00-\u9fff]")
_DIGIT = re.compile(r"\d")
_WECHAT_KEYS = ("微信", "威信", "薇信", "v信", "weixin", "wechat", "wx", "vx")
_PHONE_HINT = re.compile(r"\d(?:[\s().-]{0,3}\d){6}")


def _phones(text: str) -> Iterator[Entity]:
    """Yield valid phone numbers; national numbers are read as Chinese in Chinese text, else as American.

    The other region is tried only when the first finds nothing.
    """
    if not _PHONE_HINT.search(text):
        return
    regions = PHONE_REGIONS if _HAN.search(text) else PHONE_REGIONS[::-1]
    for region in regions:
        found = False
        for match in phonenumbers.PhoneNumberMatcher(text, region):
            found = True
            value = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            yield Entity("phone", match.raw_string, match.start, match.end, value)
        if found:
            return


def _money(text: str) -> Iterator[Entity]:
    """Yield amounts written with a currency sign or code before or a currency word after."""
    for match in _MONEY_BEFORE.finditer(text):
        currency = _CURRENCIES[match.group(1).lower()]
        yield Entity(
            "money", match.group(0), match.start(), match.end(), f"{match.group(2).replace(',', '')} {currency}"
        )
    for match in _MONEY_AFTER.finditer(text):
        unit = match.group(2).lower()
        amount = float(match.group(1).replace(",", "")) * (10_000 if unit == "万元" else 1)
        value = f"{amount:g}" if unit == "万元" else match.group(1).replace(",", "")
        yield Entity("money", match.group(0), match.start(), match.end(), f"{value} {_CURRENCIES[unit]}")


def _written(text: str) -> Iterator[Entity]:
    """Yield emails, URLs, WeChat ids and order numbers found by their written patterns.

    Cheap substring checks skip the patterns that cannot match (no "@", no ".", no keyword).
    """
    if "@" in text:
        for match in _EMAIL.finditer(text):
            yield Entity("email", match.group(0), match.start(), match.end(), match.group(0).lower())
    if "." in text:
        for match in _URL.finditer(text):
            if "@" not in text[max(0, match.start() - 1) : match.start()]:
                yield Entity("url", match.group(0), match.start(), match.end(), match.group(0))
    lowered = text.lower()
    if any(key in lowered for key in _WECHAT_KEYS):
        for match in _WECHAT.finditer(text):
            yield Entity("wechat", match.group(1), match.start(1), match.end(1), match.group(1))
    if _DIGIT.search(text):
        for match in _ORDER.finditer(text):
            if any(char.isdigit() for char in match.group(1)):
                yield Entity("order_number", match.group(1), match.start(1), match.end(1), match.group(1).upper())


def _overlaps(entity: Entity, taken: list[Entity]) -> bool:
    """Tell whether an entity shares characters with any already accepted one."""
    return any(entity.start < other.end and other.start < entity.end for other in taken)


def _mask(text: str, entities: list[Entity]) -> str:
    """Blank out the characters of entities already found, keeping every other offset."""
    chars = list(text)
    for entity in entities:
        chars[entity.start : entity.end] = " " * (entity.end - entity.start)
    return "".join(chars)


def extract_entities(text: str) -> tuple[Entity, ...]:
    """Return the entities of a text in reading order.

    Written patterns go first (emails before URLs, so an address is not also a link); phone
    numbers are then looked for in the rest, so order numbers and amounts are never read as phones.
    """
    accepted: list[Entity] = []
    candidates = [*_written(text), *_money(text)] if _DIGIT.search(text) else list(_written(text))
    for entity in candidates:
        inside_email = entity.kind == "url" and any(
            e.kind == "email" and e.start <= entity.start < e.end for e in candidates
        )
        if not inside_email and not _overlaps(entity, accepted):
            accepted.append(entity)
    accepted.extend(_phones(_mask(text, accepted) if accepted else text))
    return tuple(sorted(accepted, key=lambda entity: entity.start))
