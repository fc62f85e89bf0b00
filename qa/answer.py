"""Extractive answers: the one to three sentences of the top passages that best match the
question, copied verbatim from the original text, each with its citation; or, when the
best evidence is too weak, an honest "the corpus has no answer to this"."""
from __future__ import annotations

import math
from dataclasses import dataclass

from .chunk import sentences
from .clean import strip_glosses
from .normalize import normalize
from .records import Answer, Citation, Hit, Snippet
from .retrieve import Query
from .store import IndexData
from .tokenize import tokens as bm25_tokens

SNIPPET_PASSAGES = 3  # passages whose sentences compete for the snippets
MAX_SNIPPETS = 3
SHORT_SENTENCE = 16  # a sentence shorter than this is extended by its successor
SECONDARY_RATIO = 0.75  # further snippets need this share of the best snippet's score


@dataclass(frozen=True)
class _Candidate:
    start: int
    end: int
    score: float
    coverage: float
    hit: Hit


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1) if not text[i : i + 2].isspace()}


def _term_weights(query: Query, data: IndexData) -> dict[str, float]:
    return {t: data.bm25.idf(t) for t in dict.fromkeys(query.tokens)}


def coverage(query: Query, weights: dict[str, float], text: str) -> float:
    """How much of the question ``text`` (normalised) contains: idf-weighted share of the
    question's words, blended with the share of its character bigrams."""
    total = sum(weights.values())
    words = set(bm25_tokens(text))
    word_cov = sum(w for t, w in weights.items() if t in words) / total if total else 0.0
    qgrams = _bigrams(query.normalized)
    gram_cov = len(qgrams & _bigrams(text)) / len(qgrams) if qgrams else 0.0
    return 0.7 * word_cov + 0.3 * gram_cov


def _candidates(query: Query, hits: list[Hit], data: IndexData) -> list[_Candidate]:
    weights = _term_weights(query, data)
    out = []
    for hit_index, hit in enumerate(hits[:SNIPPET_PASSAGES]):
        doc = data.documents[hit.passage.doc_id]
        spans = sentences(doc.text, hit.passage.start, hit.passage.end)
        prior = 1.0 / (1.0 + hit_index)  # the retriever's own judgement, by rank
        for i, (s, e) in enumerate(spans):
            if e - s < SHORT_SENTENCE and i + 1 < len(spans):
                e = spans[i + 1][1]
            cov = coverage(query, weights, normalize(strip_glosses(doc.text[s:e])))
            # Long sentences cover more by chance; damp by length beyond ~60 characters.
            length_penalty = 1.0 / (1.0 + max(0, e - s - 60) / 200)
            out.append(_Candidate(s, e, (0.65 * cov * length_penalty) + 0.35 * prior, cov, hit))
    return out


def confidence(query: Query, hits: list[Hit], best_coverage: float) -> float:
    """How sure we are that the corpus answers the question, in [0, 1]: the top passage's
    dense similarity and the question's coverage by the best sentence (see calibrate.py)."""
    if not hits:
        return 0.0
    dense = hits[0].dense_score or 0.0
    z = 28.0 * (dense - 0.83) + 4.0 * (best_coverage - 0.45)
    return 1.0 / (1.0 + math.exp(-z))


def answer(query: Query, hits: list[Hit], data: IndexData, threshold: float, mode: str = "hybrid") -> Answer:
    """Choose the snippets for ``query`` from ``hits`` (best first)."""
    cands = sorted(_candidates(query, hits, data), key=lambda c: (-c.score, c.hit.rank, c.start))
    best_cov = max((c.coverage for c in cands[:1]), default=0.0)
    if not cands or confidence(query, hits, best_cov) < threshold:
        return Answer(query.text, False, (), tuple(hits), mode)
    chosen: list[_Candidate] = []
    for c in cands:
        if len(chosen) >= MAX_SNIPPETS or c.score < SECONDARY_RATIO * cands[0].score:
            break
        if any(c.hit.passage.doc_id == o.hit.passage.doc_id and c.start < o.end and o.start < c.end for o in chosen):
            continue
        chosen.append(c)
    snippets = []
    for c in chosen:
        doc = data.documents[c.hit.passage.doc_id]
        snippets.append(Snippet(
            text=doc.text[c.start : c.end],
            citation=Citation(doc.id, doc.title, doc.source, doc.date, c.start, c.end),
            score=c.score,
        ))
    return Answer(query.text, True, tuple(snippets), tuple(hits), mode)
