"""BM25 as sparse vectors, for an engine that only does inner products: a passage's vector
holds each term's saturated frequency tf / (tf + k1 (1 - b + b dl / avgdl)), a query's
holds each term's idf (times its count), and their inner product is the Lucene BM25 score
that bm25s computes (same k1, b and idf)."""
from __future__ import annotations

import hashlib
from collections import Counter

K1 = 1.2
B = 0.75
_ID_SPACE = 2**32 - 1  # Milvus sparse dimensions are uint32 below 2^32 - 1


def term_id(term: str) -> int:
    """A stable dimension for a term: 4 bytes of BLAKE2b. Milvus takes sparse indices below
    2^32 - 1 only, so a wider hash is refused. Two terms of a vocabulary of V share one with
    the birthday probability: about V^2 / 2^33 colliding pairs (measured: none among the
    37,572 terms of drcd-test, 1 among the 66,866 of the three evaluation corpora together,
    134 among 1,000,000 terms). Colliding terms add to each other's BM25 scores, so those
    scores drift from bm25s's for questions that hold one of them (about V / 2^32 a term)."""
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest(), "little") % _ID_SPACE


def passage_vector(tokens: list[str] | tuple[str, ...], avgdl: float) -> dict[int, float]:
    """The BM25 term-frequency side of one passage."""
    if not tokens:
        return {}
    norm = K1 * ((1 - B) + B * len(tokens) / avgdl)
    return {term_id(t): tf / (tf + norm) for t, tf in Counter(tokens).items()}


def query_vector(tokens: list[str] | tuple[str, ...], idf: dict[str, float]) -> dict[int, float]:
    """The idf side of a question: each known term's idf, counted as often as it occurs."""
    out: dict[int, float] = {}
    for t, n in Counter(t for t in tokens if t in idf).items():
        out[term_id(t)] = out.get(term_id(t), 0.0) + n * idf[t]
    return out


def mean_length(token_lists) -> float:
    lengths = [len(t) for t in token_lists]
    return sum(lengths) / len(lengths) if lengths else 1.0
