"""The terms a text is searched by: words, and for Han and kana character bigrams and single characters.

Pure (no database, no other module of the project), so that the `Message` and `Contact` models can fill
`search_terms` when they are built; `scrm.inbox.search` explains the choices and runs the queries.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import phonenumbers

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


# --- contacts: names and handles cut like text; emails and phone numbers as whole tokens --------------------------

MIN_PHONE_DIGITS = 5
"""A query of digits (and `+ - . ( )` and spaces) with at least this many digits is read as a phone number."""
_EMAIL = re.compile(r"[^\s@<>,;]+@[^\s@<>,;]+\.[^\s@<>,;]+")
_PHONE = re.compile(r"\+?[\d\s().\-]+")


def email_term(email: str) -> str:
    """An email address as one term: normalised, case-folded, trimmed (`Jenny@Example.com` → `jenny@example.com`)."""
    return unicodedata.normalize("NFKC", email).strip().casefold()


def phone_terms(phone: str) -> list[str]:
    """A phone number's terms: its digits, and without the country code its national spellings' digits.

    `+86 138 0013 8000` → `8613800138000`, `13800138000`; a number `phonenumbers` cannot read keeps its digits.
    """
    text = unicodedata.normalize("NFKC", phone).strip()
    digits = re.sub(r"\D", "", text)
    if len(digits) < MIN_PHONE_DIGITS:
        return []
    terms: dict[str, None] = {digits: None}
    international = "+" + (digits[2:] if text.startswith("00") else digits)
    try:
        number = phonenumbers.parse(text if text.startswith("+") else international, None)
    except phonenumbers.NumberParseException:
        return list(terms)
    if phonenumbers.is_valid_number(number):
        terms.setdefault(str(number.national_number))
        national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        terms.setdefault(re.sub(r"\D", "", national))
    return list(terms)


def contact_search_terms(names: Iterable[str], emails: Iterable[str], phones: Iterable[str]) -> list[str]:
    """The terms a contact is found by (the value of `Contact.search_terms`), each once.

    `names`: the contact's name and its identities' display names and usernames, cut like message text
    (Chinese into characters and bigrams, `jenny_w` into `jenny` and `w`); `emails` and `phones`: whole.
    """
    terms: dict[str, None] = {}
    for name in names:
        terms.update(dict.fromkeys(_terms(name)))
    for email in emails:
        if email.strip():
            terms.setdefault(email_term(email))
    for phone in phones:
        terms.update(dict.fromkeys(phone_terms(phone)))
    return list(terms)


def contact_query_terms(query: str) -> list[str]:
    """The terms a contact must have to match `query`: a phone number's digits, an email whole, else its words.

    `138 0013 8000` → `13800138000`; `Jenny@Example.com` → `jenny@example.com`; `@jenny_w` → `jenny`, `w`.
    """
    normal = unicodedata.normalize("NFKC", query).strip()
    digits = re.sub(r"\D", "", normal)
    if _PHONE.fullmatch(normal) and len(digits) >= MIN_PHONE_DIGITS:
        return [digits]
    terms: dict[str, None] = {}
    for chunk in normal.split():
        if _EMAIL.fullmatch(chunk):
            terms.setdefault(email_term(chunk))
        else:
            terms.update(dict.fromkeys(query_terms(chunk)))
    return list(terms)[:MAX_QUERY_TERMS]


def match_spans(text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    """Where `text` holds the query's terms, as (start, end) offsets into `text` itself, merged and in order.

    Words match whole words (case-folded, NFKC, apostrophes ignored, as they were indexed); Han and kana terms
    (characters, bigrams) mark every place they occur; an email or a phone number marks its whole occurrence.
    """
    wanted = set(terms)
    marks: list[tuple[int, int]] = []
    for found in _RUN.finditer(text):  # on the text as written, so that offsets are its own
        run, start = found.group(), found.start()
        if re.match(rf"[{_CJK}]", run):
            chars = [unicodedata.normalize("NFKC", char).casefold() for char in run]
            for index, char in enumerate(chars):
                if char in wanted:
                    marks.append((start + index, start + index + 1))
                if index + 1 < len(chars) and char + chars[index + 1] in wanted:
                    marks.append((start + index, start + index + 2))
        elif _APOSTROPHE.sub("", unicodedata.normalize("NFKC", run).casefold()) in wanted:
            marks.append((start, found.end()))
    for term in wanted:
        if "@" in term or (term.isdigit() and len(term) >= MIN_PHONE_DIGITS):
            marks += [(m.start(), m.end()) for m in re.finditer(re.escape(term), text, re.IGNORECASE)]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(marks):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
