"""Pinyin glosses inside Chinese text, and a view of a text without them.

Some pages gloss characters with their toned pinyin in brackets ("戰(zhàn)“疫”", "發(fā)現"). What
is shown is always the original text, but matching and reading must not see the glosses: a
gloss splits a word ("發(fā)現" is 發現) and the reader, which never saw one in training, ends
its spans inside them. A gloss is toned pinyin (at least one tone mark) of at most 7 letters
in ASCII brackets right after a character of the CJK blocks U+3400-U+9FFF; "(COVID)",
"(zhan)" and full-width "（xiāng）" are not glosses.
"""
from __future__ import annotations

import re

import numpy as np

TONE_MARKS = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
PINYIN_GLOSS = re.compile(
    rf"(?<=[\u3400-\u9fff])\((?=[a-zü]*[{TONE_MARKS}])[a-zü{TONE_MARKS}]{{1,7}}\)"
)
_GLOSS_AT_END = re.compile(PINYIN_GLOSS.pattern + "$")


def gloss_spans(text: str) -> tuple[tuple[int, int], ...]:
    """(start, end) of every pinyin gloss in ``text``."""
    return tuple((m.start(), m.end()) for m in PINYIN_GLOSS.finditer(text))


def strip_glosses(text: str) -> str:
    """``text`` without pinyin glosses: "戰(zhàn)“疫”" → "戰“疫”"."""
    return PINYIN_GLOSS.sub("", text)


def without_glosses(text: str) -> tuple[str, np.ndarray | None]:
    """(``text`` without its glosses, where each of its characters is in ``text``).

    The index array has one entry per character of the view plus one for its end
    (``len(text)``), so a view range [a, b) is the original range [index[a], index[b - 1] + 1).
    None when ``text`` has no gloss (the view is ``text`` itself)."""
    spans = gloss_spans(text)
    if not spans:
        return text, None
    keep = np.ones(len(text) + 1, dtype=bool)
    for s, e in spans:
        keep[s:e] = False
    index = np.nonzero(keep)[0].astype(np.int32)  # the end (len(text)) is always kept
    return strip_glosses(text), index


def before_gloss(text: str, start: int, end: int) -> int:
    """``end``, moved back before a gloss that ``text[start:end]`` ends with: a span that
    ends on a glossed character ends at the character ("…物流園發", not "…物流園發(fā)")."""
    found = _GLOSS_AT_END.search(text, max(start, end - 9), end)
    return found.start() if found else end
