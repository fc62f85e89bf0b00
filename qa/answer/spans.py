"""The reader's answer spans, placed in the articles. The first passages are read in one
batch, each through one window centred on its best sentence (so reading costs a few short
windows, not whole passages), and each passage's best span becomes a span of its article's
original text."""
from __future__ import annotations

from typing import NamedTuple

from qa.index.folder import IndexData
from qa.question.query import Query
from qa.records import Hit
from qa.retrieve.sentences import SHORT_SENTENCE, SentenceEvidence


class ReadSpan(NamedTuple):
    """A passage's best answer span, in its document's original text."""

    hit: Hit
    start: int
    end: int
    score: float  # log P(start) + log P(end) in the reader's window
    margin: float  # score minus the passage's no-answer score


def read_hits(reader, query: Query, hits: list[Hit], evidence: SentenceEvidence, passages: int,
              tokens: int) -> list[ReadSpan]:
    """The best spans of each of the first ``passages`` hits, as ``reader`` reads them."""
    top = hits[:passages]
    if not top:
        return []
    best: dict[int, tuple[float, int, int]] = {}
    for c in evidence.candidates(top, depth=len(top)):
        pid = c.hit.passage.pid
        if pid not in best or c.score > best[pid][0]:
            best[pid] = (c.score, c.start, c.end)
    focus = [(best[h.passage.pid][1] - h.passage.start, best[h.passage.pid][2] - h.passage.start)
             if h.passage.pid in best else None for h in top]
    readings = reader.read(query.text, [h.passage.text for h in top], max_tokens=tokens, focus=focus)
    out = []
    for hit, reading in zip(top, readings):
        for span in reading.spans:  # each passage's few best spans, best first
            if span.end > span.start:
                out.append(ReadSpan(hit, hit.passage.start + span.start, hit.passage.start + span.end, span.score,
                                    span.score - reading.no_answer))
    return out


def best_span(spans: list[ReadSpan]) -> ReadSpan | None:
    """The span shown as the answer: the reader's most probable one (ties: the better-ranked
    passage, then the earlier span)."""
    return min(spans, key=lambda s: (-s.score, s.hit.rank, s.start), default=None)


def sentence_around(data: IndexData, span: ReadSpan) -> tuple[int, int]:
    """The sentence(s) of the span's passage that hold it, in document offsets; a short
    sentence (a heading, a fragment) is shown with the one after it, as snippets are."""
    row = data.row_of[span.hit.passage.pid]
    spans = data.sentences[row]
    inside = [i for i, (s, e) in enumerate(spans) if s < span.end and e > span.start]
    if not inside:
        return span.hit.passage.start, span.hit.passage.end
    first, last = inside[0], inside[-1]
    start, end = spans[first][0], spans[last][1]
    if end - start < SHORT_SENTENCE and last + 1 < len(spans):
        end = spans[last + 1][1]
    return min(start, span.start), max(end, span.end)


def best_span_in(spans: list[ReadSpan], doc_id: str, start: int, end: int) -> ReadSpan | None:
    """The reader's most probable span inside ``doc_id[start:end]`` (a chosen sentence)."""
    inside = [s for s in spans if s.hit.passage.doc_id == doc_id and start <= s.start and s.end <= end]
    return best_span(inside)
