"""Which Chinese script a text is written in, and a question put into a passage's script.

The reader learnt each reading set in its own script (CMRC simplified, DRCD traditional): a
question in the other script than its passage reads about 5 (CMRC) and 6.5 (DRCD) EM
points worse than the same question in the passage's script (`eval/script_reading.py`). The
question is therefore read in its passage's script; the passage, and every offset into it,
stays as written."""
from __future__ import annotations

from functools import lru_cache
from typing import Literal

from qa.text.normalize import converter

Script = Literal["simplified", "traditional"]

# OpenCC's simplified → traditional conversions: its own standard forms, Taiwan's and Hong
# Kong's (峰/峯, 裡/裏, 台/臺 differ between them). A character only simplified text uses is
# one all three rewrite; a question is converted by the one whose characters its passage uses
# (the first on a tie). OpenCC's time per character falls along this tuple (measured), so
# `script_of` runs it backwards, cheapest first.
TO_TRADITIONAL = ("s2t", "s2tw", "s2hk")


def _convert(text: str, config: str) -> str:
    return converter(config).convert(text)


def _rewritten(text: str, config: str) -> list[bool]:
    """Per character of ``text``: whether OpenCC ``config`` rewrites it."""
    converted = _convert(text, config)
    if len(converted) != len(text):  # a phrase of another length: character by character
        return [_convert(ch, config) != ch for ch in text]
    return [a != b for a, b in zip(text, converted)]


@lru_cache(maxsize=4096)  # about 0.4 ms for a 600-character passage; passages recur
def script_of(text: str) -> Script | None:
    """"traditional" when more of its characters are traditional-only than simplified-only,
    "simplified" for the reverse, None when neither (no Chinese, only characters the two
    scripts share, or a tie). Japanese kanji count like Chinese characters (日本語 reads as
    traditional), so a Japanese question may be converted; the reader is not trained on
    Japanese either way."""
    if not text:
        return None
    traditional = sum(_rewritten(text, "t2s"))
    rewritten_by_all: list[bool] | None = None
    for config in reversed(TO_TRADITIONAL):  # the cheapest first
        flags = _rewritten(text, config)
        rewritten_by_all = flags if rewritten_by_all is None else [a and b for a, b in zip(rewritten_by_all, flags)]
        if sum(rewritten_by_all) < traditional:  # an upper bound on the simplified-only count
            return "traditional"
    simplified = sum(rewritten_by_all or [])
    if traditional > simplified:
        return "traditional"
    if simplified > traditional:
        return "simplified"
    return None


def in_script(text: str, script: Script | None, like: str = "") -> str:
    """``text`` converted into ``script`` when it is written in the other one, unchanged
    otherwise (and for a ``script`` that is neither). Into traditional, of OpenCC's three
    conversions the one whose characters ``like`` (the passage) holds most of, OpenCC's own
    standard on a tie."""
    text = text or ""
    if script not in ("simplified", "traditional"):
        return text
    own = script_of(text)
    if own is None or own == script:
        return text
    if script == "simplified":
        return _convert(text, "t2s")
    seen = set(like or "")
    candidates = [_convert(text, config) for config in TO_TRADITIONAL]
    return max(candidates, key=lambda c: sum(ch in seen for ch in c))  # max keeps the first of a tie
