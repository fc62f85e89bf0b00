"""The default store: the index folder's own FAISS vectors (faiss_store.VectorIndex) and
bm25s keyword index, searched in this process. It is written as part of each index
generation (qa/index/folder.py), so it has no write verbs of its own."""
from __future__ import annotations

from typing import Protocol

import numpy as np

from .faiss_store import VectorIndex
from .passage_store import LOCAL, KeywordQuery, Matches


class KeywordScorer(Protocol):
    """BM25 over the passages in row order (qa.index.bm25.Bm25Index)."""

    def scores(self, query_tokens: list[str]) -> np.ndarray: ...


class LocalStore:
    """Search over one loaded index generation. Row i is passage ``pids[i]`` of ``doc_ids[i]``."""

    def __init__(self, dense: VectorIndex, vectors: np.ndarray, keywords: KeywordScorer, pids: np.ndarray, doc_ids: list[str]) -> None:
        self.dense = dense
        self.vectors = vectors
        self.keywords = keywords
        self.pids = np.asarray(pids, dtype=np.int64)
        self.doc_ids = doc_ids
        self.row_of = {int(p): i for i, p in enumerate(self.pids)}
        self._last: tuple[tuple[str, ...], np.ndarray] | None = None

    def count(self) -> int:
        return len(self.pids)

    def _rows_of(self, doc_ids: list[str] | None) -> np.ndarray | None:
        if not doc_ids:
            return None
        wanted = set(doc_ids)
        return np.array([i for i, d in enumerate(self.doc_ids) if d in wanted], dtype=np.int64)

    def dense_search(self, vector: np.ndarray, n: int, doc_ids: list[str] | None = None) -> Matches:
        rows = self._rows_of(doc_ids)
        if rows is None:
            scores, pids = self.dense.search(vector, n)
            return Matches(np.asarray(pids, dtype=np.int64), scores)
        # A document filter: exact scores over the allowed passages only.
        scores = self.vectors[rows] @ vector
        order = np.argsort(-scores, kind="stable")[:n]
        return Matches(self.pids[rows[order]], scores[order])

    def _all_scores(self, query: KeywordQuery) -> np.ndarray:
        """BM25 of every row; the last query's is kept (search, then scores of the pool)."""
        last = self._last  # read once: another thread's question may replace it meanwhile
        if last is None or last[0] != query.tokens:
            last = self._last = (query.tokens, self.keywords.scores(list(query.tokens)))
        return last[1]

    def keyword_search(self, query: KeywordQuery, n: int, doc_ids: list[str] | None = None) -> Matches:
        scores = self._all_scores(query)
        rows = self._rows_of(doc_ids)
        pool = rows if rows is not None else np.arange(len(self.pids))
        pool_scores = scores[pool]
        order = np.argsort(-pool_scores, kind="stable")[:n]
        order = order[pool_scores[order] > 0]
        return Matches(self.pids[pool[order]], pool_scores[order])

    def keyword_scores(self, query: KeywordQuery, pids: np.ndarray) -> np.ndarray:
        scores = self._all_scores(query)
        return scores[np.array([self.row_of[int(p)] for p in pids], dtype=np.int64)] if len(pids) else np.zeros(0, np.float32)

    def describe(self) -> dict:
        return {"kind": LOCAL, "address": LOCAL, "keywords": "bm25s over jieba terms", "dense": "FAISS"}
