"""How common a Chinese character is, from jieba's word-frequency dictionary. Used to tell
a right decoding from a wrong one and real text from mojibake."""
from __future__ import annotations

import math
import os
from functools import cache


@cache
def char_log_freq() -> dict[str, float]:
    """log10 of each character's frequency in jieba's dictionary (simplified script)."""
    import jieba

    counts: dict[str, int] = {}
    path = os.path.join(os.path.dirname(jieba.__file__), "dict.txt")
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split(" ")
            if len(parts) < 2:
                continue
            word, freq = parts[0], int(parts[1])
            for ch in word:
                counts[ch] = counts.get(ch, 0) + freq
    return {ch: math.log10(n) for ch, n in counts.items()}


def is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0xF900 <= cp <= 0xFAFF or 0x20000 <= cp <= 0x2FFFF


def cjk_share(text: str) -> float:
    """The share of Chinese characters among the letters of ``text`` (0 without letters):
    below 0.3 a question is mostly not Chinese (abstention and fusion read it so)."""
    letters = [c for c in text if c.isalpha()]
    return sum(1 for c in letters if "\u3400" <= c <= "\u9fff") / len(letters) if letters else 0.0


def commonness(text: str) -> float:
    """Mean log-frequency of the CJK characters of ``text`` after conversion to simplified
    script (0 when it has none). Real Chinese scores about 5–6; decoding garbage about 2–3."""
    from qa.text.normalize import to_simplified

    table = char_log_freq()
    chars = [c for c in to_simplified(text) if is_cjk(c)]
    if not chars:
        return 0.0
    return sum(table.get(c, 0.0) for c in chars) / len(chars)
