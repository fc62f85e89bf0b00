"""Learned fusion: how hybrid mode orders its candidates, from features of each candidate
passage, in two linear stages trained on the train folds of the visible evaluation sets
(``qa train-fusion``, qa_train/train_fusion.py; the numbers are in model/FUSION_CARD.md).

1. **fusion** scores every candidate of the pool (the union of the dense and BM25
   candidates) from its dense and BM25 scores and ranks, raw and relative to the pool, their
   agreement, how much of the question's weighted words the passage and its title hold, and
   the kind of question (a keyword query or a natural question; mostly Chinese or not),
   crossed with the scores so the model can lean on the stronger retriever for each kind.
2. **rerank** reorders the first passages of stage 1 by their best answering sentence
   (similarity, coverage of the question, whether it can hold the kind of answer asked for),
   beside their stage-1 score.

Both stages are a linear score over standardised features, fitted with a listwise softmax
loss (the relevant passages' share of the probability over a question's candidates): a few
dozen numbers in a small JSON file, no new dependency, microseconds per question."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from qa.ranker import LinearRanker
from qa.settings import FUSION_MODEL as MODEL_PATH
from qa.text.charstats import cjk_share

FORMAT = 1

FUSION_FEATURES = (
    "dense", "dense_gap", "dense_z", "passage_cos", "sentence_cos",
    "bm25_share", "bm25_log", "dense_rr", "bm25_rr", "both",
    "terms", "title_terms",
    "keyword_q*dense_gap", "keyword_q*bm25_share", "foreign_q*dense_gap", "foreign_q*bm25_share",
    "long_q*bm25_share",
)
RERANK_FEATURES = (
    "fusion_gap", "fusion_rr", "best_sim", "best_sim_gap", "best_cov", "best_cov_gap", "best_fits", "best_score_gap",
)

# A question in words ("谁", "多少", "吗" …) rather than a string of keywords; general
# interrogatives of Chinese, not phrases of any one evaluation set.
_INTERROGATIVE = re.compile(r"[?？吗呢谁哪几]|什么|多少|怎|为何|为什么|何时|何地|如何|是否|多久|多大|多长|多远|多高|\b(?:what|who|when|where|which|how|why)\b",
                            re.IGNORECASE)


@dataclass(frozen=True)
class QuestionKind:
    """What the features need to know about the question itself."""

    keyword: bool  # no interrogative word: a keyword query such as "清徐县 核酸 阳性"
    foreign: bool  # mostly not Chinese: BM25 over Chinese words finds little
    long: bool  # many weighted words: BM25 has more to go on

    @classmethod
    def of(cls, text: str, n_terms: int) -> QuestionKind:
        return cls(keyword=not _INTERROGATIVE.search(text), foreign=cjk_share(text) < 0.3, long=n_terms >= 8)


def _gap(x: np.ndarray) -> np.ndarray:
    return x - x.max() if len(x) else x


def fusion_features(dense: np.ndarray, passage_cos: np.ndarray, sentence_cos: np.ndarray, bm25: np.ndarray,
                    dense_rank: list[int | None], bm25_rank: list[int | None], terms: np.ndarray, title_terms: np.ndarray,
                    kind: QuestionKind) -> np.ndarray:
    """One row of FUSION_FEATURES per candidate of one question's pool."""
    n = len(dense)
    std = float(dense.std()) if n > 1 else 0.0
    dense_z = (dense - dense.mean()) / std if std > 1e-6 else np.zeros(n)
    top = float(bm25.max()) if n else 0.0
    bm25_share = bm25 / top if top > 0 else np.zeros(n)
    dense_rr = np.array([1.0 / r if r else 0.0 for r in dense_rank])
    bm25_rr = np.array([1.0 / r if r else 0.0 for r in bm25_rank])
    both = np.array([1.0 if a and b else 0.0 for a, b in zip(dense_rank, bm25_rank)])
    gap = _gap(dense)
    columns = [dense, gap, dense_z, passage_cos, sentence_cos, bm25_share, np.log1p(np.maximum(bm25, 0.0)), dense_rr, bm25_rr,
               both, terms, title_terms, kind.keyword * gap, kind.keyword * bm25_share, kind.foreign * gap,
               kind.foreign * bm25_share, kind.long * bm25_share]
    return np.stack([np.asarray(c, dtype=np.float64) for c in columns], axis=1) if n else np.zeros((0, len(FUSION_FEATURES)))


def rerank_features(fusion_scores: np.ndarray, best_sim: np.ndarray, best_cov: np.ndarray, best_fits: np.ndarray) -> np.ndarray:
    """One row of RERANK_FEATURES per passage reranked (in stage-1 order): its stage-1
    score and its best sentence (the one with the highest similarity + half coverage)."""
    n = len(fusion_scores)
    if not n:
        return np.zeros((0, len(RERANK_FEATURES)))
    best = best_sim + 0.5 * best_cov
    columns = [_gap(fusion_scores), 1.0 / np.arange(1, n + 1), best_sim, _gap(best_sim), best_cov, _gap(best_cov),
               best_fits.astype(np.float64), _gap(best)]
    return np.stack([np.asarray(c, dtype=np.float64) for c in columns], axis=1)


@dataclass(frozen=True)
class FusionModel:
    """The two stages, as shipped in model/fusion.json."""

    fusion: LinearRanker
    rerank: LinearRanker

    def to_json(self, **about) -> dict:
        return {"format": FORMAT, "fusion": self.fusion.to_json(), "rerank": self.rerank.to_json(), **about}

    @classmethod
    def from_json(cls, row: dict) -> FusionModel:
        if row.get("format") != FORMAT:
            raise ValueError("the fusion model file is of another format; retrain it with `qa train-fusion`")
        return cls(LinearRanker.from_json(row["fusion"], FUSION_FEATURES), LinearRanker.from_json(row["rerank"], RERANK_FEATURES))


@lru_cache(maxsize=4)
def load_model(path: str = str(MODEL_PATH)) -> FusionModel:
    return FusionModel.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
