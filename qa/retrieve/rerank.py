"""Second look at the first passages: a passage that holds a sentence answering the
question well (close to it in meaning, covering its words, able to hold the kind of answer
asked for) moves up. The sentence scores are the ones snippet selection uses, so this
costs no encoding."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from qa.records import Hit
from qa.ranker import LinearRanker
from qa.retrieve.fusion import rerank_features
from qa.retrieve.sentences import SentenceEvidence


def rerank(hits: list[Hit], evidence: SentenceEvidence, weight: float) -> list[Hit]:
    """``hits`` reordered by their score plus ``weight`` times their best sentence's score."""
    if weight <= 0 or len(hits) < 2:
        return hits
    best: dict[int, float] = {}
    for c in evidence.candidates(hits, depth=len(hits)):
        pid = c.hit.passage.pid
        best[pid] = max(best.get(pid, float("-inf")), c.score)
    scored = sorted(hits, key=lambda h: (-(h.score + weight * best.get(h.passage.pid, 0.0)), h.rank))
    return [replace(h, score=h.score + weight * best.get(h.passage.pid, 0.0), rank=i + 1) for i, h in enumerate(scored)]


def best_sentences(hits: list[Hit], evidence: SentenceEvidence) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per hit, its best answering sentence (highest similarity + half coverage): that
    sentence's similarity, coverage and whether it can hold the kind of answer asked for."""
    best: dict[int, tuple[float, float, float, bool]] = {}
    for c in evidence.candidates(hits, depth=len(hits)):
        pid, value = c.hit.passage.pid, c.similarity + 0.5 * c.coverage
        if pid not in best or value > best[pid][0]:
            best[pid] = (value, c.similarity, c.coverage, c.fits_type)
    rows = [best.get(h.passage.pid, (0.0, 0.0, 0.0, False)) for h in hits]
    return (np.array([r[1] for r in rows]), np.array([r[2] for r in rows]), np.array([r[3] for r in rows], dtype=bool))


def learned_rerank(hits: list[Hit], evidence: SentenceEvidence, model: LinearRanker) -> list[Hit]:
    """``hits`` (in learned-fusion order) reordered by the second stage of the learned
    fusion (qa/retrieve/fusion.py): stage-1 score beside the best sentence's evidence."""
    if len(hits) < 2:
        return hits
    sim, cov, fits = best_sentences(hits, evidence)
    scores = model.score(rerank_features(np.array([h.score for h in hits]), sim, cov, fits))
    order = sorted(range(len(hits)), key=lambda i: (-scores[i], i))
    return [replace(hits[i], score=float(scores[i]), rank=n + 1) for n, i in enumerate(order)]
