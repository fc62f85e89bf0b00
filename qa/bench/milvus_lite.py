"""Milvus Lite timed the way the product searches it, for ``qa bench``'s scale table: a
collection of given vectors built with one index type, searched one query at a time."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from embeddings.milvus_store import connect
from embeddings.passage_store import StoreAddress


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def bench_milvus_lite(vectors: np.ndarray, queries: np.ndarray, truth: np.ndarray, k: int = 10,
                      path: Path | None = None, index_type: str = "HNSW") -> dict:
    """Build a Milvus Lite collection of ``vectors`` (row i gets id i) with ``index_type``
    (HNSW, FLAT, IVF_FLAT, ...) and search it one query at a time, as the product does.
    ``truth[q]`` holds the exact top-k ids of query q. Memory is this process's resident
    growth (Milvus Lite runs in-process), so run each measurement in a fresh process.

    Returns {"passages", "index_type", "search_ms_p50", "recall_at_10", "build_s", "memory_mb"}."""
    import tempfile

    from pymilvus import DataType, MilvusClient

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    tmp = None
    if path is None:
        tmp = tempfile.TemporaryDirectory(prefix="zhqa-bench-milvus-")
        path = Path(tmp.name) / "bench.db"
    address = StoreAddress("milvus-lite", str(path), "bench", "jieba", index_type.upper())
    import milvus_lite.server_manager  # noqa: F401 - the engine's code is not the index's memory

    rss0 = _rss_mb()
    started = time.perf_counter()
    client = connect(address)
    if client.has_collection("bench"):
        client.drop_collection("bench")
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pid", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=vectors.shape[1])
    params = client.prepare_index_params()
    dense = {"HNSW": {"M": 16, "efConstruction": 200}, "IVF_FLAT": {"nlist": 1024}, "IVF_SQ8": {"nlist": 1024}}
    params.add_index(field_name="vector", index_type=address.index_type, metric_type="IP", params=dense.get(address.index_type, {}))
    client.create_collection("bench", schema=schema, index_params=params)
    for lo in range(0, len(vectors), 5000):
        client.insert("bench", [{"pid": lo + i, "vector": v} for i, v in enumerate(vectors[lo : lo + 5000].tolist())])
    client.flush("bench")
    # Milvus Lite builds a segment's index when the collection is loaded: reload so the
    # flushed segments get theirs (else they are searched by brute force).
    # Lite writes a flushed segment's file in the background: a load right after the flush
    # can read it half-written ("Failed to read all data for array"); retry for a while.
    for attempt in range(30):
        try:
            client.release_collection("bench")
            client.load_collection("bench")
            break
        except Exception:  # noqa: BLE001 - pymilvus raises MilvusException for this race
            if attempt == 29:
                raise
            time.sleep(1.0)
    search_params = {"metric_type": "IP"}
    if address.index_type == "HNSW":
        search_params["params"] = {"ef": max(64, k)}
    elif address.index_type.startswith("IVF"):
        search_params["params"] = {"nprobe": 32}
    client.search("bench", data=[queries[0].tolist()], anns_field="vector", limit=k, search_params=search_params)
    build_s = time.perf_counter() - started
    times, hits = [], 0
    for q, want in zip(queries, truth):
        t = time.perf_counter()
        found = client.search("bench", data=[q.tolist()], anns_field="vector", limit=k, search_params=search_params)[0]
        times.append(time.perf_counter() - t)
        hits += len({int(h["pid"]) for h in found} & {int(x) for x in want[:k]})
    memory_mb = _rss_mb() - rss0
    client.drop_collection("bench")
    client.close()
    if tmp is not None:
        tmp.cleanup()
    return {"passages": int(len(vectors)), "index_type": f"Milvus Lite {address.index_type}",
            "search_ms_p50": float(np.median(times) * 1000), "recall_at_10": hits / (len(queries) * k),
            "build_s": build_s, "memory_mb": memory_mb}
