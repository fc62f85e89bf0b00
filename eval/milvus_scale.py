"""Milvus Lite against the FAISS store at N passages (README "Scaling out").

Vectors are real: passages of the shared evaluation corpora and their questions, embedded
with the product's encoder; N passage vectors are made from them by adding gaussian noise
and renormalising (so neighbourhoods are as crowded as a large news archive's). Each engine
is measured in a fresh process, so memory is its own.

    python eval/milvus_scale.py [--passages 100000] [--queries 200] [--work /tmp/zhqa-scale]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "eval"
NOISE = 0.03  # per dimension; a 384-dimensional unit vector gets noise of norm ~0.6


def real_vectors(n_passages: int, n_questions: int) -> tuple[np.ndarray, np.ndarray]:
    from embeddings.encoder import Encoder

    texts, questions = [], []
    for corpus in sorted(SHARED.glob("*/corpus.jsonl")):
        for line in corpus.read_text(encoding="utf-8").splitlines():
            text = json.loads(line)["text"]
            texts += [text[i : i + 300] for i in range(0, len(text), 300)]
        questions += [json.loads(line)["question"] for line in (corpus.parent / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    rng = np.random.default_rng(0)
    texts = [texts[i] for i in rng.permutation(len(texts))[:n_passages]]
    questions = [questions[i] for i in rng.permutation(len(questions))[:n_questions]]
    encoder = Encoder()
    return encoder.encode_passages(texts), encoder.encode_queries(questions)


def make_set(work: Path, n: int, n_queries: int) -> Path:
    out = work / f"set-{n}.npz"
    if out.exists():
        return out
    base, queries = real_vectors(3000, n_queries)
    rng = np.random.default_rng(1)
    vectors = base[np.arange(n) % len(base)] + rng.normal(0, NOISE, (n, base.shape[1])).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    truth = np.vstack([np.argsort(-(vectors @ q), kind="stable")[:10] for q in queries])
    np.savez(out, vectors=vectors.astype(np.float32), queries=queries.astype(np.float32), truth=truth)
    return out


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def bench_faiss(vectors: np.ndarray, queries: np.ndarray, truth: np.ndarray, k: int = 10) -> dict:
    """The local store's VectorIndex, measured like bench_milvus_lite."""
    from embeddings.faiss_store import VectorIndex

    rss0 = _rss_mb()
    started = time.perf_counter()
    index = VectorIndex(vectors.shape[1])
    index.add(np.arange(len(vectors), dtype=np.int64), vectors)
    index.search(queries[0], k)
    build_s = time.perf_counter() - started
    times, hits = [], 0
    for q, want in zip(queries, truth):
        t = time.perf_counter()
        _, ids = index.search(q, k)
        times.append(time.perf_counter() - t)
        hits += len(set(ids.tolist()) & set(want[:k].tolist()))
    return {"passages": len(vectors), "index_type": f"FAISS {type(index._index).__name__}",
            "search_ms_p50": float(np.median(times) * 1000), "recall_at_10": hits / (len(queries) * k),
            "build_s": build_s, "memory_mb": _rss_mb() - rss0}


def _one(engine: str, data: Path) -> dict:
    arrays = np.load(data)
    vectors, queries, truth = arrays["vectors"], arrays["queries"], arrays["truth"]
    if engine == "faiss":
        return bench_faiss(vectors, queries, truth)
    from embeddings.milvus_store import bench_milvus_lite

    return bench_milvus_lite(vectors, queries, truth, index_type=engine.split(":")[1], path=data.parent / f"{engine.replace(':', '-')}.db")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--work", type=Path, default=Path("/tmp/zhqa-scale"))
    parser.add_argument("--engines", default="faiss,lite:FLAT,lite:HNSW")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    data = make_set(args.work, args.passages, args.queries)
    if args.one:
        print(json.dumps(_one(args.one, data)))
        return
    print("| engine | passages | search p50 (ms) | recall@10 vs exact | build (s) | memory (MB) |")
    print("|---|---|---|---|---|---|")
    for engine in args.engines.split(","):
        run = subprocess.run([sys.executable, __file__, "--passages", str(args.passages), "--queries", str(args.queries),
                              "--work", str(args.work), "--one", engine], capture_output=True, text=True, check=True)
        r = json.loads(run.stdout.strip().splitlines()[-1])
        print(f"| {r['index_type']} | {r['passages']:,} | {r['search_ms_p50']:.2f} | {r['recall_at_10']:.3f} | "
              f"{r['build_s']:.1f} | {r['memory_mb']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
