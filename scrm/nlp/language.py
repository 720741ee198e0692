"""Tell English, Chinese and other languages apart in short, often mixed, social-media texts.

The decision weighs the writing systems of a text (Han characters against Latin words, kana,
Hangul and other scripts) and, for Latin-script words, a small lexical classifier: English function
and chat words against those of the other common Latin-script languages, with accented letters
counting against English.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from scrm.nlp.tags import LANGUAGES

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")
_LATIN = re.compile(r"[A-Za-z]")
_ACCENTED = re.compile(r"[\u00c0-\u024f]")
_OTHER_SCRIPT = re.compile(r"[\u0370-\u03ff\u0400-\u04ff\u0590-\u06ff\u0900-\u0dff\u0e00-\u0e7f]")
_WORD = re.compile(r"[a-z\u00c0-\u024f']+")
_ENGLISH_WORDS = (
    "the a an and or but is are was were be been am i you he she it we they me my your our their this that "
    "to of in on for with at from by not no do does did have has had will would can could should what "
    "when where why how who if so just very really please thanks thank hi hello lol omg u ur im dont "
    "cant get got want need buy order price love like hate good bad great"
)
_ENGLISH = frozenset(_ENGLISH_WORDS.split())
_OTHER_LATIN_WORDS = (
    "je tu il elle nous vous ils suis ce ces du au aux très mais oui merci bonjour de "
    "este esta muy mi tu gracias hola pero como ich du wir sie nein danke hallo sehr "
    "le la les des est et une dans pour pas que qui sur avec el los las es y un una por para con del "
    "der die das und ist nicht ein eine mit zu auf den dem il di che non per sono della em um uma "
    "não com para os ao het een niet dat ik je ya dan yang tidak ini itu saya"
)
_OTHER_LATIN = frozenset(_OTHER_LATIN_WORDS.split())


@dataclass(frozen=True)
class ScriptCounts:
    """How many letters of each writing system a text holds."""

    han: int
    kana: int
    hangul: int
    latin: int
    accented: int
    other: int

    @classmethod
    def of(cls, text: str) -> ScriptCounts:
        """Count the letters of each writing system in a text."""
        return cls(
            han=len(_HAN.findall(text)),
            kana=len(_KANA.findall(text)),
            hangul=len(_HANGUL.findall(text)),
            latin=len(_LATIN.findall(text)),
            accented=len(_ACCENTED.findall(text)),
            other=len(_OTHER_SCRIPT.findall(text)),
        )


def english_share(words: list[str], accented: int) -> float:
    """Return the probability that Latin-script words are English rather than another language."""
    if not words:
        return 0.5
    english = sum(word in _ENGLISH for word in words)
    other = sum(word in _OTHER_LATIN for word in words)
    logit = 1.0 + 3.0 * (english - other) / math.sqrt(len(words)) - 3.0 * accented / len(words)
    return 1.0 / (1.0 + math.exp(-logit))


def language_scores(text: str) -> dict[str, float]:
    """Return the probability that a text is English, Chinese or another language.

    Each language gets a mass: Han characters count 1.5 each, Latin words 1 each (split between
    English and other by :func:`english_share`), kana, Hangul and other scripts go to other. Text
    with kana is Japanese, so its Han characters go to other too. Texts without letters lean to other.
    """
    counts = ScriptCounts.of(text)
    words = _WORD.findall(text.lower()) if counts.latin or counts.accented else []
    share = english_share(words, counts.accented)
    han = 1.5 * counts.han
    japanese = counts.kana > 0 and counts.kana * 5 >= counts.han
    masses = {
        "en": len(words) * share,
        "zh": 0.0 if japanese else han,
        "other": len(words) * (1 - share)
        + 1.5 * counts.kana
        + counts.hangul
        + counts.other / 4
        + (han if japanese else 0.0),
    }
    masses["other"] += 0.05
    total = sum(masses.values()) + 0.15
    return {name: (masses[name] + 0.05) / total for name in LANGUAGES}


def best_language(scores: dict[str, float]) -> str:
    """Return the language with the highest score; ties (texts without letters) go to other."""
    best = max(scores.values())
    return next(name for name in ("other", "en", "zh") if scores[name] == best)


def detect_language(text: str) -> str:
    """Return the most likely language code of a text: en, zh or other."""
    return best_language(language_scores(text))
