"""Search at scale. Embedding a million passages on two cores is impossible, so the large
vector sets are real passage embeddings plus Gaussian noise (each a near-copy of a real
passage, at cosine about 0.9 from it), searched with real question embeddings; the BM25 sets
are real passages' tokens drawn with replacement. Each index type is measured for search
latency (one query at a time, one thread, as the product searches), recall@10 against exact
search, build time and memory."""
from __future__ import annotations

import json

import faiss
import numpy as np

from embeddings.faiss_store import (
    IVF_PROBE,
    KINDS,
    VectorIndex,
    choose_kind,
    ivf_cells,
    threads,
    training_sample,
)
from qa.bench.stats import cores, ms, stopwatch
from qa.index.bm25 import Bm25Index

NOISE_COSINE = 0.9  # cosine of a synthetic vector to the real passage it was drawn from
PQ_BYTES = 48  # bytes per vector in IVF-PQ (384 dims / 48 = 8 per sub-quantiser)


def build_index(kind: str, ids: np.ndarray, vectors: np.ndarray) -> VectorIndex:
    """The product's index kinds (exact, ivf) as the product builds them, and two it only
    measures: IVF-PQ (25x less memory, approximate distances) and HNSW (fast search, slow
    build, no removal)."""
    if kind in KINDS:
        return VectorIndex.build(ids, vectors, kind)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dim = vectors.shape[1]
    if kind == "ivfpq":
        train = training_sample(vectors, ivf_cells(len(vectors)))
        cells = max(1, min(ivf_cells(len(vectors)), len(train) // 39))  # k-means wants >= 39 per cell
        index = faiss.IndexIVFPQ(faiss.IndexFlatIP(dim), dim, cells, PQ_BYTES, 8, faiss.METRIC_INNER_PRODUCT)
        with threads(cores()):
            index.train(train)
        index.nprobe = min(IVF_PROBE, cells)
    elif kind == "hnsw":
        graph = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction = 80
        graph.hnsw.efSearch = 64
        index = faiss.IndexIDMap(graph)
    else:
        raise ValueError(f"unknown index kind {kind!r}; use exact, ivf, ivfpq or hnsw")
    built = VectorIndex(dim, index)
    with threads(cores()):
        built.add(ids, vectors)
    return built


def exact_truth(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """The exact top-``k`` rows of ``vectors`` for each query (all queries at once)."""
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(np.ascontiguousarray(vectors, dtype=np.float32))
    with threads(cores()):
        return flat.search(np.ascontiguousarray(queries, dtype=np.float32), k)[1]


def synthetic_vectors(base: np.ndarray, n: int, seed: int = 0, chunk: int = 100_000) -> np.ndarray:
    """``n`` unit vectors, each a real one plus isotropic noise scaled to NOISE_COSINE."""
    rng = np.random.default_rng(seed)
    dim = base.shape[1]
    sigma = np.sqrt((1.0 / NOISE_COSINE**2 - 1.0) / dim)  # |noise|^2 = dim sigma^2 = 1/c^2 - 1
    out = np.empty((n, dim), dtype=np.float32)
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        rows = base[rng.integers(0, len(base), hi - lo)] + rng.normal(0.0, sigma, (hi - lo, dim)).astype(np.float32)
        out[lo:hi] = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return out


def _memory_mb(index: VectorIndex) -> float:
    """The index's size as FAISS writes it, which is what it holds in memory (vectors or
    codes, ids, lists, graph), measured without a second copy in memory."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="zhqa-bench-") as scratch:
        path = Path(scratch) / "index.faiss"
        index.save(path)
        return path.stat().st_size / 2**20


def _search(index: VectorIndex, queries: np.ndarray, k: int) -> tuple[list[float], np.ndarray]:
    times, found = [], np.full((len(queries), k), -1, dtype=np.int64)
    for i, q in enumerate(queries):
        with stopwatch() as t:
            _, ids = index.search(q, k)
        times.append(t())
        found[i, : len(ids)] = ids
    return times, found


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def bench_vectors(base: np.ndarray, queries: np.ndarray, sizes: list[int], kinds: tuple[str, ...] = ("exact", "ivf", "ivfpq", "hnsw"),
                  hnsw_limit: int = 100_000, k: int = 10, progress=print) -> list[dict]:
    rows = []
    for n in sizes:
        vectors = synthetic_vectors(base, n)
        ids = np.arange(n, dtype=np.int64)
        truth = None
        for kind in kinds:
            if kind == "hnsw" and n > hnsw_limit:
                continue
            with stopwatch() as built:
                index = build_index(kind, ids, vectors)
            times, found = _search(index, queries, k)
            if kind == "exact":
                truth = found
            elif truth is None:
                truth = exact_truth(vectors, queries, k)
            row = {
                "kind": "vectors", "passages": n, "index_type": kind, "chosen": kind == choose_kind(n),
                "search_ms_p50": ms(times)["p50"], "search_ms_p95": ms(times)["p95"],
                "recall_at_10": round(_recall(found, truth), 4), "build_s": built(),
                "memory_mb": round(_memory_mb(index), 1),
            }
            rows.append(row)
            progress(f"  vectors {n:>9,} {kind:5}  p50 {row['search_ms_p50']:.2f} ms  recall@10 {row['recall_at_10']:.3f}  "
                     f"build {row['build_s']:.1f} s  {row['memory_mb']:.0f} MB")
            del index
        del vectors
    return rows


def _bm25_memory_mb(index: Bm25Index) -> float:
    scores = getattr(index._retriever, "scores", {}) or {}
    return sum(getattr(v, "nbytes", 0) for v in scores.values()) / 2**20


def bench_bm25(token_lists: list[list[str]], query_tokens: list[list[str]], sizes: list[int], k: int = 10,
               progress=print) -> list[dict]:
    """Our BM25 (bm25s over jieba tokens) at each size: top-k latency, build time, memory."""
    rows = []
    rng = np.random.default_rng(0)
    for n in sizes:
        picks = rng.integers(0, len(token_lists), n)
        docs = [token_lists[i] for i in picks]
        with stopwatch() as built:
            index = Bm25Index.build(docs, np.arange(n, dtype=np.int64))
        times = []
        for tokens in query_tokens:
            with stopwatch() as t:
                scores = index.scores(tokens)
                top = np.argpartition(-scores, min(k, n - 1))[:k]
                top[np.argsort(-scores[top])]
            times.append(t())
        row = {"kind": "bm25", "passages": n, "index_type": "bm25s", "chosen": True,
               "search_ms_p50": ms(times)["p50"], "search_ms_p95": ms(times)["p95"], "recall_at_10": 1.0,
               "build_s": built(), "memory_mb": round(_bm25_memory_mb(index), 1)}
        rows.append(row)
        progress(f"  bm25    {n:>9,} bm25s  p50 {row['search_ms_p50']:.2f} ms  build {row['build_s']:.1f} s  {row['memory_mb']:.0f} MB")
        del index, docs
    return rows


_MILVUS_CHILD = (
    "import json, sys\n"
    "import numpy as np\n"
    "from pathlib import Path\n"
    "from qa.bench.milvus_lite import bench_milvus_lite\n"
    "data = np.load(sys.argv[1])\n"
    "row = bench_milvus_lite(data['vectors'], data['queries'], data['truth'], path=Path(sys.argv[2]), index_type=sys.argv[3])\n"
    "print(json.dumps(row))\n"
)


def bench_milvus_lite_rows(base: np.ndarray, queries: np.ndarray, n: int, work, index_types=("FLAT", "HNSW"),
                           k: int = 10, progress=print) -> list[dict]:
    """Milvus Lite on the same ``n`` synthetic vectors and questions as the FAISS rows, each
    index type in a fresh process so its memory is its own (Lite runs in-process)."""
    import subprocess
    import sys
    from pathlib import Path

    vectors = synthetic_vectors(base, n)  # the same seed, so the same vectors as bench_vectors
    truth = exact_truth(vectors, queries, k)
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    data = work / f"milvus-{n}.npz"
    np.savez(data, vectors=vectors, queries=queries, truth=truth)
    del vectors
    rows = []
    for index_type in index_types:
        run = subprocess.run([sys.executable, "-c", _MILVUS_CHILD, str(data), str(work / f"milvus-{index_type}.db"), index_type],
                             capture_output=True, text=True, timeout=3600)
        if run.returncode != 0:
            progress(f"  Milvus Lite {index_type} failed: {run.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(run.stdout.strip().splitlines()[-1])
        row = {"kind": "milvus-lite", "passages": n, "index_type": r["index_type"], "chosen": False,
               "search_ms_p50": round(r["search_ms_p50"], 3), "recall_at_10": round(r["recall_at_10"], 4),
               "build_s": round(r["build_s"], 2), "memory_mb": round(r["memory_mb"], 1)}
        rows.append(row)
        progress(f"  {row['index_type']:<22} {n:>9,}  p50 {row['search_ms_p50']:.2f} ms  recall@10 {row['recall_at_10']:.3f}  "
                 f"build {row['build_s']:.1f} s  {row['memory_mb']:.0f} MB")
    data.unlink(missing_ok=True)
    return rows
