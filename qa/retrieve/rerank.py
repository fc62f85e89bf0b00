"""Second look at the first passages: a passage that holds a sentence answering the
question well (close to it in meaning, covering its words, able to hold the kind of answer
asked for) moves up. The sentence scores are the ones snippet selection uses, so this
costs no encoding."""
from __future__ import annotations

from dataclasses import replace

from qa.records import Hit
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
