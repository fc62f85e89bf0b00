"""The same work done the way common stacks do it, in the same run: BM25 with rank_bm25
(what LangChain's BM25Retriever uses) on our tokens and passages, and dense search as a
plain sentence-transformers encode followed by a FAISS IndexFlatIP search."""
from __future__ import annotations

import faiss
import numpy as np

from qa.bench.stats import ms, stopwatch
from qa.errors import ZhqaError


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    k = min(k, len(scores))
    top = np.argpartition(-scores, k - 1)[:k]
    return top[np.argsort(-scores[top], kind="stable")]


def bench_peers(data, encoder, questions: list[str], query_tokens: list[list[str]], k: int = 10) -> dict:
    """``data`` is a loaded IndexData; questions are normalised question texts."""
    try:
        from rank_bm25 import BM25Okapi
    except ImportError:
        raise ZhqaError("qa bench compares with rank_bm25, which is not installed; install it with "
                        "`pip install -e \".[bench]\"`.") from None

    ours_bm25, peer_bm25, overlap = [], [], []
    peer = BM25Okapi(data.tokens)
    for tokens in query_tokens:
        with stopwatch() as t:
            a = _top(data.bm25.scores(tokens), k)
        ours_bm25.append(t())
        with stopwatch() as t:
            b = _top(np.asarray(peer.get_scores(tokens)), k)
        peer_bm25.append(t())
        overlap.append(len(set(a.tolist()) & set(b.tolist())) / max(1, len(a)))

    plain_model = encoder.model
    flat = faiss.IndexFlatIP(data.vectors.shape[1])
    flat.add(np.ascontiguousarray(data.vectors, dtype=np.float32))
    plain_model.encode(questions[:3], prompt_name=encoder.query_prompt)  # warm up both
    encoder.encode_queries(questions[:3])
    ours_dense, plain_dense = [], []
    for text in questions:
        with stopwatch() as t:
            data.dense.search(encoder.encode_queries([text])[0], k)
        ours_dense.append(t())
        with stopwatch() as t:
            v = plain_model.encode([text], prompt_name=encoder.query_prompt, normalize_embeddings=True)
            flat.search(np.ascontiguousarray(v, dtype=np.float32), k)
        plain_dense.append(t())
    return {
        "passages": len(data.passages),
        "questions": len(questions),
        "bm25_ours_ms_p50": ms(ours_bm25)["p50"],
        "bm25_rank_bm25_ms_p50": ms(peer_bm25)["p50"],
        "bm25_top10_overlap": round(float(np.mean(overlap)), 3),
        "dense_ours_ms_p50": ms(ours_dense)["p50"],
        "dense_plain_flat_ms_p50": ms(plain_dense)["p50"],
    }
