"""Sentence evidence: every sentence of the first passages scored as an answer to the
question, by its own vector (pooled from its passage's token embeddings at index time, so
this costs no encoding at question time), by how much of the question it covers, and by
whether it can hold the kind of answer asked for. Reranking uses the best sentence of each
passage; snippet selection (qa.answer) picks among the same scored sentences."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from qa.index.folder import IndexData
from qa.question.answer_type import asked_type, asks_list, can_answer, enumerates
from qa.question.query import Query
from qa.records import Hit
from qa.text.gloss import strip_glosses
from qa.text.normalize import normalize

SNIPPET_PASSAGES = 3  # passages whose sentences compete for the snippets
SHORT_SENTENCE = 16  # a sentence shorter than this is shown with its successor


class SentenceCandidate(NamedTuple):
    """A sentence scored as an answer (a NamedTuple: some hundred are made per question)."""

    start: int
    end: int
    score: float
    similarity: float
    coverage: float
    fits_type: bool
    hit: Hit
    fits_list: bool = False  # the question asks for several things and the sentence lists some (甲、乙)


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1) if not text[i : i + 2].isspace()}


def _sentence_text(data: IndexData, doc, start: int, end: int) -> tuple[str, set[str]]:
    """A sentence's normalised text and bigrams, cached on the loaded index: the same
    sentences come back question after question."""
    key = (doc.id, start, end)
    cached = data.cache.sentence_texts.get(key)
    if cached is None:
        text = normalize(strip_glosses(doc.text[start:end]))
        cached = data.cache.sentence_texts[key] = (text, _bigrams(text))
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


class SentenceEvidence:
    """The sentences of one question's passages, scored as answers to it. Made once per
    question: each passage's sentences are scored once, whether reranking or snippet
    selection asks first. ``query_vector`` None (keyword-only mode) scores by words alone."""

    def __init__(self, query: Query, data: IndexData, query_vector: np.ndarray | None) -> None:
        self.query, self.data, self.query_vector = query, data, query_vector
        self.weights = {t: data.bm25.idf(t) for t in dict.fromkeys(query.tokens)}
        self.kind = asked_type(query.normalized)
        self.asks_list = asks_list(query.normalized)
        self.qgrams = _bigrams(query.normalized)
        self._scored: dict[int, list[tuple[int, int, float, float, bool, bool]]] = {}  # passage row -> its sentences

    def candidates(self, hits: list[Hit], depth: int = SNIPPET_PASSAGES) -> list[SentenceCandidate]:
        """Every sentence of the first ``depth`` hits, scored."""
        out = []
        for hit_index, hit in enumerate(hits[:depth]):
            row = self.data.row_of[hit.passage.pid]
            scored = self._scored.get(row)
            if scored is None:
                scored = self._scored[row] = self._score_sentences(row)
            prior = 1.0 / (1.0 + hit_index)  # the retriever's own judgement, by rank
            for s, e, sim, cov, fits, lists in scored:
                score = sim + 0.5 * cov + 0.1 * prior + (0.0 if fits else -0.1)
                out.append(SentenceCandidate(s, e, score, sim, cov, fits, hit, lists))
        return out

    def _score_sentences(self, row: int) -> list[tuple[int, int, float, float, bool, bool]]:
        """(start, end, similarity, coverage, fits the answer type, lists what a list question
        asks for) of each sentence of one passage."""
        data = self.data
        doc = data.documents[data.passages[row].doc_id]
        spans = data.sentences[row]
        sims = data.sentence_vectors_of(row) @ self.query_vector if self.query_vector is not None else np.zeros(len(spans))
        total = sum(self.weights.values())
        scored = []
        for i, (s, e) in enumerate(spans):
            if e - s < SHORT_SENTENCE and i + 1 < len(spans):
                e = spans[i + 1][1]  # a heading or a fragment is shown with what follows it
            text, grams = _sentence_text(data, doc, s, e)
            scored.append((s, e, float(sims[i]), coverage(self.query, self.weights, text, grams, self.qgrams, total),
                           can_answer(self.kind, text), self.asks_list and enumerates(text)))
        return scored
