"""The reader's answer span, placed in its article. Only the chosen sentence's passage is
read, through one short window centred on that sentence, so reading costs one window per
answered question, and the answer it finds is a span of the article's original text."""
from __future__ import annotations

from typing import NamedTuple

from qa.question.query import Query
from qa.records import Hit


class ReadSpan(NamedTuple):
    """An answer span the reader found, in its document's original text."""

    hit: Hit
    start: int
    end: int
    score: float  # log P(start) + log P(end) in the reader's window
    margin: float  # score minus the passage's no-answer score


def read_around(reader, query: Query, hit: Hit, start: int, end: int, tokens: int) -> list[ReadSpan]:
    """The reader's best spans in ``hit``'s passage, read through one window of ``tokens``
    tokens centred on the document range ``start:end`` (a sentence)."""
    passage = hit.passage
    reading = reader.read(query.text, [passage.text], max_tokens=tokens, focus=[(start - passage.start, end - passage.start)])[0]
    return [ReadSpan(hit, passage.start + s.start, passage.start + s.end, s.score, s.score - reading.no_answer)
            for s in reading.spans if s.end > s.start]


def best_span_in(spans: list[ReadSpan], doc_id: str, start: int, end: int) -> ReadSpan | None:
    """The reader's most probable span inside ``doc_id[start:end]`` (ties: the earlier)."""
    inside = [s for s in spans if s.hit.passage.doc_id == doc_id and start <= s.start and s.end <= end]
    return min(inside, key=lambda s: (-s.score, s.start), default=None)
