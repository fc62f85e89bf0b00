"""Ask latency by stage over a question set, with the raw encode time of the same questions
by our encoder and by plain sentence-transformers on torch, measured in the same run."""
from __future__ import annotations

import time

from qa.bench.stats import ms, stopwatch
from qa.question.query import make_query
from qa.timing import recording

STAGES = ("normalise", "encode", "dense", "bm25", "fusion", "read", "snippets")
SETTLE_S = 0.5  # after torch, before timing our own path again


def time_asks(qa, questions: list[str], totals: list[float], stages: dict[str, list[float]]) -> None:
    """Ask each question once; add its total time to ``totals`` and each stage's to ``stages``."""
    for q in questions:
        with recording() as seconds, stopwatch() as total:
            qa.ask(q)
        totals.append(total())
        for s in STAGES:
            stages[s].append(seconds.get(s, 0.0))


def bench_ask(qa, questions: list[str], repeats: int = 3, warmup: int = 5) -> dict:
    """Each round asks every question, then encodes each alone with our encoder, then with
    plain sentence-transformers, in separate passes: torch's worker threads keep spinning
    for a moment after a call, and would slow whatever ran right after it."""
    encoder = qa.encoder
    plain = encoder.model  # plain SentenceTransformer on torch, same weights
    texts = [make_query(q).normalized for q in questions]
    for q, text in list(zip(questions, texts))[:warmup]:
        qa.ask(q)
        plain.encode([text], prompt_name=encoder.query_prompt, normalize_embeddings=True)
    totals, encodes, plains = [], [], []
    stages: dict[str, list[float]] = {s: [] for s in STAGES}
    for _ in range(repeats):
        time.sleep(SETTLE_S)
        time_asks(qa, questions, totals, stages)
        for text in texts:
            with stopwatch() as enc:
                encoder.encode_queries([text])
            encodes.append(enc())
        for text in texts:
            with stopwatch() as raw:
                plain.encode([text], prompt_name=encoder.query_prompt, normalize_embeddings=True)
            plains.append(raw())
    ours = encoder.encode_queries(texts)
    reference = plain.encode(texts, prompt_name=encoder.query_prompt, normalize_embeddings=True)
    total_ms, encode_ms, plain_ms = ms(totals), ms(encodes), ms(plains)
    return {
        "questions": len(questions),
        "repeats": repeats,
        "backend": encoder.backend,
        "total_ms": total_ms,
        "encode_ms": encode_ms,
        "plain_st_encode_ms": plain_ms,
        "stages_ms": {s: ms(v) for s, v in stages.items()},
        "read_ms": ms(stages["read"]),  # the reader, inside total_ms
        "total_over_encode_p50": round(total_ms["p50"] / encode_ms["p50"], 3),
        "total_over_encode_p95": round(total_ms["p95"] / encode_ms["p95"], 3),
        # the reader's budget (issue 35): reading at most 4 x the question's encoding, p50
        "read_over_encode_p50": round(ms(stages["read"])["p50"] / encode_ms["p50"], 3),
        "encode_speedup_vs_plain_st_p50": round(plain_ms["p50"] / encode_ms["p50"], 3),
        "encode_cosine_min_vs_plain_st": round(float((ours * reference).sum(1).min()), 5),
    }
