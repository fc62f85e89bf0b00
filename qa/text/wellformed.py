"""Well-formed Unicode at the boundary: what a user, a file or an API call sends may hold
lone surrogates ("\\ud800" in JSON, undecodable bytes of a command line), which no encoder
(UTF-8, OpenCC, jieba) accepts. Each becomes U+FFFD, the replacement character."""
from __future__ import annotations

import re
import unicodedata

_SURROGATE = re.compile(r"[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def well_formed(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def visible(text: str) -> str:
    """``text`` well formed, without control characters (line breaks and tabs kept) and
    without format characters (bidi overrides such as U+202E, zero-width spaces, soft
    hyphens): they change how a line looks, never what it says."""
    text = _CONTROL.sub("", well_formed(text))
    return "".join(c for c in text if unicodedata.category(c) != "Cf")
