"""The typed records that flow between the stages: load → clean → chunk → embed → index →
retrieve → answer. Each is frozen: a stage makes new records, it never edits old ones."""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

UPLOAD_NAMESPACE = "upload/"  # ids of documents added through the web chat begin so


@dataclass(frozen=True)
class Document:
    """One article, its original text untouched, with what the page says about itself.

    ``author`` and ``credits`` come from its byline lines ("記者 王明", "新媒體工作室 出品"),
    which are metadata, not passages. ``url`` is where a fetched page came from.
    ``pages`` holds the offset in ``text`` where each page of a PDF starts (page 1 at
    ``pages[0]``); empty for documents without pages. Rows written by an older zhqa lack
    these fields and load with their defaults.
    A document uploaded through the web chat has an id of its own namespace
    (``upload/<sha256 prefix>/<name>``), so it can never replace an article of the corpus;
    ``original_id`` keeps the id or file name it was uploaded with, ``uploaded_at`` (UTC,
    ISO 8601) and ``uploaded_by`` (the login, under --auth) say when and by whom."""

    id: str
    text: str
    title: str = ""
    source: str = ""
    date: str = ""
    path: str = ""
    sha256: str = ""
    author: str = ""
    credits: str = ""
    url: str = ""
    pages: tuple[int, ...] = ()
    original_id: str = ""
    uploaded_at: str = ""
    uploaded_by: str = ""

    def __post_init__(self) -> None:
        # documents.jsonl stores tuples as JSON lists
        if not isinstance(self.pages, tuple):
            object.__setattr__(self, "pages", tuple(int(p) for p in self.pages))

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding character ``offset``, or None for a document without pages."""
        if not self.pages:
            return None
        return max(1, bisect_right(self.pages, offset))

    def row(self) -> dict:
        """The row of documents.jsonl (read back as ``Document(**row)``): the upload fields
        only when set, so an index without uploads is written as before they existed."""
        row = dict(self.__dict__)
        for name in ("original_id", "uploaded_at", "uploaded_by"):
            if not row[name]:
                del row[name]
        return row

    @property
    def uploaded(self) -> bool:
        """Added through the web chat (and so removable there)."""
        return bool(self.uploaded_at)


@dataclass(frozen=True)
class Passage:
    """A span [start, end) of a document's original text; ``doc.text[start:end] == text``.

    ``match_text`` is what retrieval sees: boilerplate and glosses removed, normalised.
    """

    pid: int
    doc_id: str
    start: int
    end: int
    text: str
    match_text: str


@dataclass(frozen=True)
class Citation:
    """Where a piece of text comes from: the article and the character span in it."""

    doc_id: str
    title: str
    source: str
    date: str
    start: int
    end: int
    author: str = ""
    url: str = ""
    page: int | None = None  # the PDF page where the span starts

    @classmethod
    def of(cls, doc: Document, start: int, end: int) -> "Citation":
        """The citation of ``doc.text[start:end]``, with everything the document knows."""
        return cls(doc.id, doc.title, doc.source, doc.date, start, end, doc.author, doc.url, doc.page_at(start))


@dataclass(frozen=True)
class Hit:
    """A retrieved passage with every score that put it where it is."""

    passage: Passage
    citation: Citation
    score: float
    rank: int
    dense_score: float | None = None
    dense_rank: int | None = None
    bm25_score: float | None = None
    bm25_rank: int | None = None
    matched_terms: tuple[str, ...] = ()
    moved_first: bool = False  # put first, ahead of passages retrieval scored higher, because the answer shown is in it
    fused_rank: int | None = None  # where fusion and reranking had put it, when moving the answer's passage first changed ``rank``


@dataclass(frozen=True)
class Snippet:
    """An extract copied verbatim from an article; it cannot exist without its citation."""

    text: str
    citation: Citation
    score: float


@dataclass(frozen=True)
class AnswerSpan:
    """The answer itself, as the reader found it: a span of one article's original text
    (``citation.start:citation.end``), always inside the first snippet."""

    text: str
    citation: Citation
    score: float  # the reader's span score, log P(start) + log P(end)


@dataclass(frozen=True)
class Answer:
    """What ``ask`` returns: the answer span and the extracts around it (none when the
    corpus has no answer), and the passages they were chosen from."""

    question: str
    answered: bool
    snippets: tuple[Snippet, ...]
    hits: tuple[Hit, ...]
    mode: str = "hybrid"
    asked: str = ""  # what retrieval was asked, when a follow-up was rewritten ("" otherwise)
    span: AnswerSpan | None = None  # None when unanswered or when no reader ran
    # Whether the span is claimed as the answer (shown in bold): False when the learned
    # confidence (qa/answer/confidence.py) trusts the sentence but not the span in it.
    span_shown: bool = True
    # The learned confidence in what is shown: the span's expected F1 when it is claimed, else
    # the probability that the first snippet holds the answer; None without the learned model.
    confidence: float | None = None
    # The span model's expected F1 of the span, claimed or not (orders `qa eval`'s risk-coverage table).
    span_confidence: float | None = None

    @property
    def claimed_span(self) -> AnswerSpan | None:
        """The span shown as the answer, or None (unanswered, no reader, or not trusted)."""
        return self.span if self.answered and self.span_shown else None

    def to_json(self) -> dict:
        """The ``qa ask --json`` contract."""
        return {
            "question": self.question,
            **({"asked": self.asked} if self.asked and self.asked != self.question else {}),
            "answered": self.answered,
            "span_shown": self.claimed_span is not None,
            "confidence": None if self.confidence is None else round(float(self.confidence), 4),
            "answer": None if self.claimed_span is None else {
                "text": self.span.text,
                "doc_id": self.span.citation.doc_id,
                "start": self.span.citation.start,
                "end": self.span.citation.end,
                "score": round(float(self.span.score), 6),
            },
            "snippets": [
                {
                    "text": s.text,
                    "doc_id": s.citation.doc_id,
                    "title": s.citation.title,
                    "start": s.citation.start,
                    "end": s.citation.end,
                    "score": round(float(s.score), 6),
                    **_extra(s.citation),
                }
                for s in self.snippets
            ],
            "passages": [
                {
                    "text": h.passage.text,
                    "doc_id": h.passage.doc_id,
                    "title": h.citation.title,
                    "start": h.passage.start,
                    "end": h.passage.end,
                    "score": round(float(h.score), 6),
                    **({"moved_first": True, "fused_rank": h.fused_rank} if h.moved_first else {}),
                }
                for h in self.hits
            ],
        }


def _extra(c: Citation) -> dict:
    """The citation fields only some documents have (a byline, a URL, a PDF page)."""
    return {k: v for k, v in (("author", c.author), ("url", c.url), ("page", c.page)) if v}
