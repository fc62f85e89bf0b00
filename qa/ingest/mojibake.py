"""Find mojibake runs: stretches where a double-byte (GBK) text lost a byte, so that every
character after the loss is made of the second half of one character and the first half
of the next, until a single-byte character puts the bytes back in step.

The tell is exact, not statistical: re-read the run's GB18030 bytes one byte later and it
becomes ordinary Chinese ("焙诔菭I" → "黑城營"). Losses are marked in the text by the "?"
a decoder put where it gave up, or by private-use / U+FFFD characters.
"""
from __future__ import annotations

import re

from qa.text.charstats import commonness

_LOSS = re.compile(r"\?!?|[\ue000-\uf8ff\ufffd]+")
_MAX_RUN = 80  # characters examined after one loss marker
_MIN_GAIN = 1.0  # commonness gained by the shifted reading (log10 frequency units)


def _gbk_bytes(ch: str) -> bytes:
    try:
        return ch.encode("gb18030")
    except UnicodeEncodeError:
        return b"?"


def _shifted_run(text: str, start: int, limit: int) -> tuple[int, str]:
    """Re-read text[start:limit] one byte late. Returns the character index where the bytes
    fall back in step with the original characters, and the text read on the way."""
    data = bytearray()
    bounds = set()  # byte offsets of original character boundaries
    for ch in text[start:limit]:
        data += _gbk_bytes(ch)
        bounds.add(len(data))
    boundary_to_char = {}
    offset = 0
    for i, ch in enumerate(text[start:limit]):
        offset += len(_gbk_bytes(ch))
        boundary_to_char[offset] = start + i + 1
    pos, out = 1, []
    while pos < len(data):
        b = data[pos]
        width = 1 if b < 0x80 else 4 if pos + 1 < len(data) and 0x30 <= data[pos + 1] <= 0x39 else 2
        piece = bytes(data[pos : pos + width])
        out.append(piece.decode("gb18030", errors="replace"))
        pos += width
        if pos in bounds:
            return boundary_to_char[pos], "".join(out)
    return limit, "".join(out)


def _is_misread(original: str, shifted: str) -> bool:
    cjk = sum(1 for c in original if "\u4e00" <= c <= "\u9fff")
    return cjk >= 1 and len(original) >= 2 and commonness(shifted) - commonness(original) >= _MIN_GAIN


def find_mojibake(text: str) -> list[tuple[int, int]]:
    """Character spans [start, end) of ``text`` that are mojibake (loss markers included)."""
    spans: list[tuple[int, int]] = []
    for marker in _LOSS.finditer(text):
        if marker.group()[0] != "?":
            spans.append((marker.start(), marker.end()))
        newline = text.find("\n", marker.end())
        line_end = newline if newline >= 0 else len(text)
        start = marker.end()
        # One loss can leave several misaligned stretches in a row, separated by the
        # single-byte characters that briefly put the bytes back in step.
        while start < line_end:
            limit = min(line_end, start + _MAX_RUN)
            end, shifted = _shifted_run(text, start, limit)
            if not _is_misread(text[start:end], shifted):
                break
            spans.append((marker.start() if start == marker.end() else start, end))
            start = end + 1 if end < line_end and text[end] == " " else end
    spans.sort()
    merged: list[list[int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]
