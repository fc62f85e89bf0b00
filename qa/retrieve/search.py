"""Find the passages for a question: dense and keyword (BM25) candidates from a passage store
(FAISS + bm25s, or Milvus), fused (by default the learned ranker of qa/retrieve/fusion.py;
``Settings.fusion`` also offers min-max weighted scores and weighted reciprocal rank), reranked
by their best sentence, near-duplicates collapsed, optionally restricted to documents."""
from __future__ import annotations

import numpy as np

from embeddings.passage_store import KeywordQuery, PassageStore
from qa.errors import BadQuestion
from qa.index.folder import IndexData, local_store
from qa.question.query import Query
from qa.records import Citation, Hit
from qa.retrieve.fusion import FusionModel, QuestionKind, fusion_features, load_model
from qa.settings import MODES, Settings
from qa.text.normalize import normalize
from qa.timing import stage

_DUPLICATE_JACCARD = 0.8


def rrf(ranks: list[tuple[float, dict[int, int]]], k: int) -> dict[int, float]:
    """Weighted reciprocal rank fusion (Cormack et al., SIGIR 2009): sum of w / (k + rank)."""
    fused: dict[int, float] = {}
    for weight, ranking in ranks:
        for pid, rank in ranking.items():
            fused[pid] = fused.get(pid, 0.0) + weight / (k + rank)
    return fused


def weighted_fusion(dense: np.ndarray, bm25: np.ndarray, dense_weight: float, bm25_weight: float) -> np.ndarray:
    """Convex combination of min-max normalised scores over the candidate pool."""

    def scaled(x: np.ndarray) -> np.ndarray:
        span = float(x.max() - x.min()) if len(x) else 0.0
        return (x - x.min()) / span if span > 0 else np.zeros_like(x)

    total = dense_weight + bm25_weight
    return (dense_weight * scaled(dense) + bm25_weight * scaled(bm25)) / total


def _shingles(text: str) -> set[str]:
    return {text[i : i + 4] for i in range(max(1, len(text) - 3))}


def _near_duplicate(a: set[str], b: set[str]) -> bool:
    # Jaccard >= t needs the smaller set to be at least t times the larger, and most of a
    # sample of a's shingles to be in b: both cheap, and they rule out almost every pair.
    if min(len(a), len(b)) < _DUPLICATE_JACCARD * max(len(a), len(b)):
        return False
    sample = [x for _, x in zip(range(8), a)]
    if sum(x in b for x in sample) < 0.6 * len(sample):
        return False
    return len(a & b) >= _DUPLICATE_JACCARD * len(a | b)


class Retriever:
    """Searches one loaded index with one encoder."""

    def __init__(self, data: IndexData, encoder, settings: Settings, store: PassageStore | None = None,
                 model: FusionModel | None = None) -> None:
        self.data = data
        self.model = model  # learned fusion's model; None: the one Settings.fusion_model names
        self.encoder = encoder
        self.settings = settings
        # Where candidates come from (FAISS + bm25s here, or Milvus); everything after
        # candidate search (fusion, evidence, snippets) reads the local index data.
        self.store = store if store is not None else local_store(data)

    def _rows(self, pids: np.ndarray) -> np.ndarray:
        """Rows of ``pids`` in the loaded index; a remote store being rewritten by another
        process may briefly answer with passages this generation does not have."""
        return np.array([self.data.row_of[p] for p in pids.tolist() if p in self.data.row_of], dtype=np.int64)

    def _duplicates(self, row: int, other: int) -> bool:
        """Whether passage ``row`` nearly repeats passage ``other`` (a property of the two
        texts alone, so it is cached on the loaded index, as are their shingles)."""
        cache = self.data.cache
        same = cache.near_duplicates.get((row, other))
        if same is None:
            shingles = []
            for r in (row, other):
                sh = cache.shingles.get(r)
                if sh is None:
                    sh = cache.shingles[r] = _shingles(self.data.passages[r].match_text)
                shingles.append(sh)
            same = cache.near_duplicates[(row, other)] = _near_duplicate(shingles[0], shingles[1])
        return same

    def _token_set(self, row: int) -> frozenset[str]:
        words = self.data.cache.token_sets.get(row)
        if words is None:
            words = self.data.cache.token_sets[row] = frozenset(self.data.tokens[row])
        return words

    def keyword_query(self, query: Query) -> KeywordQuery:
        return KeywordQuery(query.tokens, {t: self.data.bm25.idf(t) for t in dict.fromkeys(query.tokens) if self.data.bm25.knows(t)})

    def dense_parts(self, rows: np.ndarray, query_vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each passage's own cosine with the question, and its best sentence's."""
        passage = self.data.vectors[rows] @ query_vector
        if len(rows) == 0:
            return passage, passage
        starts, ends = self.data.sentence_start[rows], self.data.sentence_start[rows + 1]
        lengths = ends - starts
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])  # where each passage's run begins
        # Row indices of every sentence of every passage, without a Python loop.
        index = np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()))
        sims = self.data.sentence_vectors[index] @ query_vector
        return passage, np.maximum.reduceat(sims, offsets)

    def dense_evidence(self, rows: np.ndarray, query_vector: np.ndarray) -> np.ndarray:
        """Dense score of each passage: its own cosine, blended with its best sentence's
        (a passage whose one sentence matches the question closely is a good passage)."""
        weight = self.settings.sentence_weight
        if weight <= 0 or len(rows) == 0:
            return self.data.vectors[rows] @ query_vector
        passage, best = self.dense_parts(rows, query_vector)
        return (1 - weight) * passage + weight * best

    def _title_text(self, doc_id: str) -> str:
        title = self.data.cache.titles.get(doc_id)
        if title is None:
            title = self.data.cache.titles[doc_id] = normalize(self.data.documents[doc_id].title or "")
        return title

    def pool_features(self, query: Query, keywords: KeywordQuery, pool: np.ndarray, query_vector: np.ndarray,
                      bm25_pool: np.ndarray, dense_rank: dict[int, int], bm25_rank: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Learned fusion's features of every candidate (qa/retrieve/fusion.py), and the
        candidates' dense evidence (reused for the hits)."""
        passage, best = self.dense_parts(pool, query_vector)
        weight = self.settings.sentence_weight
        evidence = (1 - weight) * passage + weight * best
        weights = {t: max(w, 0.0) for t, w in keywords.idf.items()}
        total = sum(weights.values())
        rows = pool.tolist()
        if total > 0:
            terms = np.array([sum(w for t, w in weights.items() if t in self._token_set(r)) / total for r in rows])
            titles = [self._title_text(self.data.passages[r].doc_id) for r in rows]
            title_terms = np.array([sum(w for t, w in weights.items() if t in title) / total for title in titles])
        else:
            terms = title_terms = np.zeros(len(rows))
        kind = QuestionKind.of(query.text, len(weights))
        x = fusion_features(evidence, passage, best, bm25_pool, [dense_rank.get(r) for r in rows], [bm25_rank.get(r) for r in rows],
                            terms, title_terms, kind)
        return x, evidence

    def candidate_pool(self, query: Query, n: int, mode: str, doc_ids: list[str] | None, query_vector: np.ndarray
                       ) -> tuple[KeywordQuery, np.ndarray, dict[int, int], dict[int, int], dict[int, float]]:
        """The candidates a mode fuses: the rows of the first ``n`` dense and/or BM25
        matches (sorted), each retriever's rank of them, and the BM25 score of every one."""
        keywords = self.keyword_query(query)
        dense_rank: dict[int, int] = {}
        bm25_rank: dict[int, int] = {}
        if mode in ("hybrid", "dense"):
            with stage("dense"):
                found = self.store.dense_search(query_vector, n, doc_ids)
            dense_rank = {int(r): i + 1 for i, r in enumerate(self._rows(found.pids))}
        if mode in ("hybrid", "bm25"):
            with stage("bm25"):
                found = self.store.keyword_search(keywords, n, doc_ids)
            bm25_rank = {int(r): i + 1 for i, r in enumerate(self._rows(found.pids))}
        # BM25 of every candidate (a dense candidate may match some words too).
        candidates = np.array(sorted(set(dense_rank) | set(bm25_rank)), dtype=np.int64)
        with stage("bm25"):
            scores = self.store.keyword_scores(keywords, np.array([self.data.passages[r].pid for r in candidates], dtype=np.int64))
        bm25_of = dict(zip(candidates.tolist(), scores.tolist()))
        return keywords, candidates, dense_rank, bm25_rank, bm25_of

    def search(
        self,
        query: Query,
        k: int = 5,
        mode: str = "hybrid",
        doc_ids: list[str] | None = None,
        query_vector: np.ndarray | None = None,
    ) -> list[Hit]:
        if mode not in MODES:
            raise BadQuestion(f"Unknown retrieval mode {mode!r}; use one of {', '.join(MODES)}.")
        data, n_cand = self.data, max(self.settings.candidates, k * 4)
        if not data.passages:
            return []
        if doc_ids:
            wanted = set(doc_ids)
            if not any(p.doc_id in wanted for p in data.passages):
                return []
        if query_vector is None:
            query_vector = self.encoder.encode_queries([f"{query.normalized}"])[0]

        keywords, candidates, dense_rank, bm25_rank, bm25_of = self.candidate_pool(query, n_cand, mode, doc_ids, query_vector)
        dense_of: dict[int, float] = {}  # dense evidence of the pool, reused for the hits
        if mode == "hybrid" and self.settings.fusion == "rrf":
            fused = rrf([(self.settings.dense_weight, dense_rank), (self.settings.bm25_weight, bm25_rank)], self.settings.rrf_k)
        elif mode == "hybrid" and self.settings.fusion == "learned":
            pool = candidates
            bm25_pool = np.array([bm25_of[r] for r in pool.tolist()], dtype=np.float64)
            x, evidence = self.pool_features(query, keywords, pool, query_vector, bm25_pool, dense_rank, bm25_rank)
            dense_of = dict(zip(pool.tolist(), evidence.tolist()))
            model = self.model or load_model(str(self.settings.fusion_model))
            fused = dict(zip(pool.tolist(), model.fusion.score(x).tolist()))
        elif mode == "hybrid":
            pool = candidates
            bm25_pool = np.array([bm25_of[r] for r in pool.tolist()], dtype=np.float32)
            evidence = self.dense_evidence(pool, query_vector)
            dense_of = dict(zip(pool.tolist(), evidence.tolist()))
            fused = dict(zip(pool.tolist(), weighted_fusion(evidence, bm25_pool,
                                                            self.settings.dense_weight, self.settings.bm25_weight).tolist()))
        elif mode == "dense":
            pool = np.array(sorted(dense_rank), dtype=np.int64)
            fused = dense_of = dict(zip(pool.tolist(), self.dense_evidence(pool, query_vector).tolist()))
        else:
            fused = {r: bm25_of[r] for r in bm25_rank}
        ordered = sorted(fused, key=lambda r: (-fused[r], r))

        hits: list[Hit] = []
        kept: list[int] = []  # rows of the hits so far
        for r in ordered:
            passage = data.passages[r]
            if any(self._duplicates(r, other) for other in kept):
                continue
            kept.append(r)
            doc = data.documents[passage.doc_id]
            hits.append(Hit(
                passage=passage,
                citation=Citation.of(doc, passage.start, passage.end),
                score=float(fused[r]),
                rank=len(hits) + 1,
                dense_score=dense_of[r] if r in dense_of else float(self.dense_evidence(np.array([r]), query_vector)[0]),
                dense_rank=dense_rank.get(r),
                bm25_score=float(bm25_of[r]),
                bm25_rank=bm25_rank.get(r),
                matched_terms=tuple(t for t in dict.fromkeys(query.tokens) if t in self._token_set(r)),
            ))
            if len(hits) >= k:
                break
        return hits
