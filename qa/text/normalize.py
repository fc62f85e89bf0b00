"""Normalisation for matching only: traditional → simplified (OpenCC), full-width →
half-width, case folding. What is shown to a user is never normalised text."""
from __future__ import annotations

import re
import unicodedata
from functools import cache

_SPACES = re.compile(r"\s+")


@cache
def converter(config: str):
    """OpenCC's converter ``config`` ("t2s", "s2t", ...), one per process."""
    import opencc

    return opencc.OpenCC(config)


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese, character and phrase level (OpenCC t2s)."""
    return converter("t2s").convert(text)


def normalize(text: str) -> str:
    """The form both questions and passages are compared in.

    NFKC turns full-width letters, digits and punctuation into their ASCII forms and
    compatibility ideographs into the unified ones; runs of whitespace become one space.
    """
    text = unicodedata.normalize("NFKC", text)
    text = to_simplified(text).casefold()
    return _SPACES.sub(" ", text).strip()
