"""Second look at the first passages: a passage that holds a sentence answering the
question well (close to it in meaning, covering its words, able to hold the kind of answer
asked for) moves up. The sentence scores are the ones snippet selection uses, so this
costs no encoding."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from qa.index.folder import IndexData
from qa.question.query import Query
from qa.records import Hit
from qa.retrieve.sentences import sentence_candidates


def rerank(query: Query, hits: list[Hit], data: IndexData, query_vector: np.ndarray, weight: float,
           memo: dict | None = None) -> list[Hit]:
    """``hits`` reordered by their score plus ``weight`` times their best sentence's score
    (``memo``: see sentence_candidates)."""
    if weight <= 0 or len(hits) < 2:
        return hits
    best: dict[int, float] = {}
    for c in sentence_candidates(query, hits, data, query_vector, depth=len(hits), memo=memo):
        pid = c.hit.passage.pid
        best[pid] = max(best.get(pid, float("-inf")), c.score)
    scored = sorted(hits, key=lambda h: (-(h.score + weight * best.get(h.passage.pid, 0.0)), h.rank))
    return [replace(h, score=h.score + weight * best.get(h.passage.pid, 0.0), rank=i + 1) for i, h in enumerate(scored)]
