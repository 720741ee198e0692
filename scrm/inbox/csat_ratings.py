"""Reading a satisfaction rating (1-5) out of a customer's reply to the survey.

A reply is a rating only when it says nothing but a rating, give or take a few satisfaction words, so that a
customer who writes again about something else ("I have 2 more questions", "order 12345") is never mistaken
for one. Accepted, after Unicode NFKC (full-width ５ reads as 5):

- a digit 1-5 or a Chinese numeral 一 二 三 四 五, with words such as 分, 星, stars, points, out of 5, /5,
  满意, 非常满意, 谢谢, thanks around it: "5", "5分", "五星", "4/5", "非常满意 5分", "5 stars, thanks";
- stars alone, counted: ★★★★ or ⭐⭐⭐⭐ is 4 (☆ marks an empty star and is not counted);
- a thumb alone: 👍 is 5 (satisfied), 👎 is 1 (unsatisfied). Both in one reply say nothing.
"""

from __future__ import annotations

import re
import unicodedata

MAX_RATING_TEXT = 60
CHINESE_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5}
THUMB_UP, THUMB_DOWN = "👍", "👎"
FULL_STARS = ("★", "⭐")
EMPTY_STAR = "☆"
# Words that may stand around the number; longest first so that 非常不满意 goes before 满意 and 一般 before 一.
FILLERS = sorted(
    (
        "out of 5",
        "out of five",
        "/5",
        "stars",
        "star",
        "points",
        "point",
        "pts",
        "very satisfied",
        "satisfied",
        "very happy",
        "happy",
        "thank you",
        "thanks",
        "thx",
        "excellent",
        "great",
        "good",
        "rating",
        "满分",
        "非常满意",
        "很满意",
        "满意",
        "非常不满意",
        "很不满意",
        "不满意",
        "一般",
        "谢谢",
        "感谢",
        "好评",
        "评分",
        "分",
        "星",
        "颗",
        "给",
        "打",
    ),
    key=len,
    reverse=True,
)
_FILLER = re.compile("|".join(re.escape(word) for word in FILLERS))
_SKIN_TONES = re.compile("[\U0001f3fb-\U0001f3ff\ufe0f]")


def parse_rating(text: str) -> int | None:
    """The rating 1-5 a reply gives, or None when the reply is anything else (see the module's rules)."""
    cleaned = unicodedata.normalize("NFKC", text).strip().casefold()
    if not cleaned or len(cleaned) > MAX_RATING_TEXT:
        return None
    rest = _strip_marks(_FILLER.sub(" ", cleaned))
    if rest:
        if rest in CHINESE_DIGITS:
            return CHINESE_DIGITS[rest]
        return int(rest) if rest in {"1", "2", "3", "4", "5"} else None
    return _symbols(cleaned)


def _strip_marks(text: str) -> str:
    """Drop spaces, punctuation and symbols (stars, thumbs, emoji): what remains must be the rating itself."""
    return "".join(char for char in text if unicodedata.category(char)[0] not in "ZPSC")


def _symbols(text: str) -> int | None:
    """A rating told with stars or a thumb alone."""
    stars = sum(text.count(star) for star in FULL_STARS)
    if stars:
        return stars if stars + text.count(EMPTY_STAR) <= 5 else None
    bare = _SKIN_TONES.sub("", text)
    up, down = THUMB_UP in bare, THUMB_DOWN in bare
    if up != down:
        return 5 if up else 1
    return None


def is_bare_rating(text: str) -> bool:
    """Does the reply hold nothing but the rating (so there is no comment worth keeping)?"""
    return _strip_marks(unicodedata.normalize("NFKC", text)) in {"1", "2", "3", "4", "5", *CHINESE_DIGITS}
