"""Sentence-aware Chinese chunking. Passages are runs of whole sentences inside one
section of article content, at most ``max_chars`` long, each starting with the last
sentences of the one before (up to ``overlap_chars``). A sentence longer than the limit
is cut at clause punctuation, and only a clause longer than the limit is cut blindly."""
from __future__ import annotations

import re
from collections.abc import Iterator

# A sentence ends at 。！？!?；; or an ellipsis, with any closing quotes and brackets after
# it, or at a line break.
_SENTENCE_END = re.compile(r"(?:[。！？!?；;]+|…+|\.{3,})[”’」』》\"')）]*|\n")
_CLAUSE_END = re.compile(r"[，,、：:]")


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if end > start else None


def sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Spans [s, e) of the sentences of text[start:end], whitespace trimmed."""
    end = len(text) if end is None else end
    spans, pos = [], start
    for m in _SENTENCE_END.finditer(text, start, end):
        span = _trimmed(text, pos, m.end())
        if span:
            spans.append(span)
        pos = m.end()
    span = _trimmed(text, pos, end)
    if span:
        spans.append(span)
    return spans


def _split_long(text: str, start: int, end: int, limit: int) -> Iterator[tuple[int, int]]:
    """Cut one over-long sentence into pieces of at most ``limit`` characters, preferring
    clause punctuation as the cut point."""
    while end - start > limit:
        window = text[start : start + limit]
        cuts = [m.end() for m in _CLAUSE_END.finditer(window)]
        cut = start + (cuts[-1] if cuts and cuts[-1] > limit // 3 else limit)
        yield start, cut
        start = cut
    if end > start:
        yield start, end


def passage_spans(
    text: str, sections: tuple[tuple[int, int], ...], max_chars: int, overlap_chars: int
) -> list[tuple[int, int]]:
    """The [start, end) spans of the passages of a document."""
    if max_chars < 20 or not 0 <= overlap_chars < max_chars:
        raise ValueError("max_chars must be at least 20 and overlap_chars between 0 and max_chars - 1")
    out: list[tuple[int, int]] = []
    for sec_start, sec_end in sections:
        units: list[tuple[int, int]] = []
        for s, e in sentences(text, sec_start, sec_end):
            units.extend(_split_long(text, s, e, max_chars))
        i = 0
        while i < len(units):
            j = i
            while j + 1 < len(units) and units[j + 1][1] - units[i][0] <= max_chars:
                j += 1
            out.append((units[i][0], units[j][1]))
            if j + 1 >= len(units):
                break
            # Next passage starts with the trailing sentences of this one that fit in
            # the overlap, but always moves forward by at least one sentence.
            k = j + 1
            while k - 1 > i and units[j][1] - units[k - 1][0] <= overlap_chars:
                k -= 1
            # ... and the overlap must leave room for that new sentence, or the next
            # passage would only repeat the tail of this one.
            while k <= j and units[j + 1][1] - units[k][0] > max_chars:
                k += 1
            i = k
    return out
