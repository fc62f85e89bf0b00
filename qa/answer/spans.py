"""The reader's answer spans, placed in their article: a span of the article's original
text (qa/answer/choice.py reads the candidate sentences)."""
from __future__ import annotations

from typing import NamedTuple

from qa.records import Hit
from qa.retrieve.sentences import SentenceCandidate


class ReadSpan(NamedTuple):
    """An answer span the reader found, in its document's original text."""

    hit: Hit
    start: int
    end: int
    score: float  # log P(start) + log P(end) in the reader's window
    margin: float  # score minus the passage's no-answer score


def best_span_in(spans: list[ReadSpan], doc_id: str, start: int, end: int) -> ReadSpan | None:
    """The reader's most probable span inside ``doc_id[start:end]`` (ties: the earlier)."""
    inside = [s for s in spans if s.hit.passage.doc_id == doc_id and start <= s.start and s.end <= end]
    return min(inside, key=lambda s: (-s.score, s.start), default=None)


def span_within(span: ReadSpan, sentence: SentenceCandidate) -> bool:
    """Whether ``span`` lies inside the candidate ``sentence`` (same article, within its bounds)."""
    return span.hit.passage.doc_id == sentence.hit.passage.doc_id and sentence.start <= span.start and span.end <= sentence.end
