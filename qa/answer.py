"""Extractive answers: the one to three sentences of the top passages that best answer the
question, copied verbatim from the original text, each with its citation; or, when the
evidence is too weak, an honest "the corpus has no answer to this".

Sentences are scored by their own vectors (pooled from their passage's token embeddings
at index time, so this costs no encoding at question time), by how much of the question
they cover, and by whether they can hold the kind of answer asked for (answer_type.py).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .answer_type import asked_type, can_answer, missing_entities
from .clean import strip_glosses
from .normalize import normalize
from .records import Answer, Citation, Hit, Snippet
from .retrieve import Query
from .store import IndexData

SNIPPET_PASSAGES = 3  # passages whose sentences compete for the snippets
MAX_SNIPPETS = 3
SHORT_SENTENCE = 16  # a sentence shorter than this is shown with its successor
SECONDARY_MARGIN = 0.04  # further snippets must score within this of the best


class _Candidate(NamedTuple):
    """A sentence scored as an answer (a NamedTuple: some hundred are made per question)."""

    start: int
    end: int
    score: float
    similarity: float
    coverage: float
    fits_type: bool
    hit: Hit


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1) if not text[i : i + 2].isspace()}


def _sentence_text(data: IndexData, doc, start: int, end: int) -> tuple[str, set[str]]:
    """A sentence's normalised text and bigrams, cached on the loaded index: the same
    sentences come back question after question."""
    key = (doc.id, start, end)
    cached = data.cache.get(key)
    if cached is None:
        text = normalize(strip_glosses(doc.text[start:end]))
        cached = data.cache[key] = (text, _bigrams(text))
    return cached


def coverage(query: Query, weights: dict[str, float], text: str, grams: set[str] | None = None,
             qgrams: set[str] | None = None, weights_total: float | None = None) -> float:
    """How much of the question ``text`` (normalised) contains: idf-weighted share of the
    question's words (found as substrings, so no segmentation of the sentence is needed),
    blended with the share of its character bigrams. ``qgrams`` (the question's bigrams) and
    ``weights_total`` may be passed in when many sentences are scored against one question."""
    total = weights_total if weights_total is not None else sum(weights.values())
    word_cov = sum(w for t, w in weights.items() if t in text) / total if total else 0.0
    if qgrams is None:
        qgrams = _bigrams(query.normalized)
    gram_cov = len(qgrams & (grams if grams is not None else _bigrams(text))) / len(qgrams) if qgrams else 0.0
    return 0.7 * word_cov + 0.3 * gram_cov


def sentence_candidates(query: Query, hits: list[Hit], data: IndexData, query_vector: np.ndarray | None,
                        depth: int = SNIPPET_PASSAGES, memo: dict | None = None) -> list[_Candidate]:
    """Every sentence of the first ``depth`` hits, scored as an answer to ``query``.
    ``memo`` (one dict per question) keeps each passage's sentence scores, so reranking and
    snippet selection score a sentence once."""
    weights = {t: data.bm25.idf(t) for t in dict.fromkeys(query.tokens)}
    kind = asked_type(query.normalized)
    qgrams = _bigrams(query.normalized)
    memo = {} if memo is None else memo
    out = []
    for hit_index, hit in enumerate(hits[:depth]):
        row = data.row_of[hit.passage.pid]
        scored = memo.get(row)
        if scored is None:
            scored = memo[row] = _score_sentences(query, weights, kind, qgrams, data, row, query_vector)
        prior = 1.0 / (1.0 + hit_index)  # the retriever's own judgement, by rank
        for s, e, sim, cov, fits in scored:
            score = sim + 0.5 * cov + 0.1 * prior + (0.0 if fits else -0.1)
            out.append(_Candidate(s, e, score, sim, cov, fits, hit))
    return out


def _score_sentences(query: Query, weights: dict[str, float], kind, qgrams: set[str], data: IndexData, row: int,
                     query_vector: np.ndarray | None) -> list[tuple[int, int, float, float, bool]]:
    """(start, end, similarity, coverage, fits the answer type) of each sentence of one passage."""
    passage = data.passages[row]
    doc = data.documents[passage.doc_id]
    spans = data.sentences[row]
    sims = data.sentence_vectors_of(row) @ query_vector if query_vector is not None else np.zeros(len(spans))
    total = sum(weights.values())
    scored = []
    for i, (s, e) in enumerate(spans):
        if e - s < SHORT_SENTENCE and i + 1 < len(spans):
            e = spans[i + 1][1]  # a heading or a fragment is shown with what follows it
        text, grams = _sentence_text(data, doc, s, e)
        scored.append((s, e, float(sims[i]), coverage(query, weights, text, grams, qgrams, total), can_answer(kind, text)))
    return scored


def confidence(hits: list[Hit], best: _Candidate | None, cjk_share: float, missing: list[str]) -> float:
    """How sure we are that the corpus answers the question, in [0, 1].

    A logistic model over the top passage's dense similarity, the question's coverage by
    the best sentence, whether that sentence can hold the kind of answer asked for, and
    whether the question names a place, person or organisation the evidence never mentions;
    fitted on the seed questions and on questions from one evaluation set asked of
    another corpus (see README, "Abstention"). Questions in other languages have no
    lexical evidence, so for them only the dense similarity counts."""
    if not hits or best is None:
        return 0.0
    dense = hits[0].dense_score or 0.0
    if cjk_share < 0.3:
        z = 40.0 * (dense - 0.74)
    else:
        z = 39.5 * (dense - 0.86) + 5.0 * (best.coverage - 0.3) + 2.1 * best.fits_type - 1.5 * bool(missing) - 2.7
    return 1.0 / (1.0 + math.exp(-z))


def _cjk_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum(1 for c in letters if "\u3400" <= c <= "\u9fff") / len(letters) if letters else 0.0


def answer(query: Query, hits: list[Hit], data: IndexData, threshold: float, mode: str = "hybrid",
           query_vector: np.ndarray | None = None, memo: dict | None = None) -> Answer:
    """Choose the snippets for ``query`` from ``hits`` (best first); ``memo`` as in
    sentence_candidates."""
    cands = sorted(sentence_candidates(query, hits, data, query_vector if mode != "bm25" else None, memo=memo),
                   key=lambda c: (-c.score, c.hit.rank, c.start))
    best = cands[0] if cands else None
    evidence = " ".join(normalize(h.citation.title) + " " + h.passage.match_text for h in hits)
    missing = missing_entities(query.tokens, evidence)
    if best is None or confidence(hits, best, _cjk_share(query.text), missing) < threshold:
        return Answer(query.text, False, (), tuple(hits), mode)
    chosen: list[_Candidate] = []
    for c in cands:
        if len(chosen) >= MAX_SNIPPETS or c.score < best.score - SECONDARY_MARGIN:
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
