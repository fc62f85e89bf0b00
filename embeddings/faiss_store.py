"""Dense vectors in FAISS: inner product over L2-normalised vectors (= cosine), under
stable int64 ids so passages can be removed without touching the others.

The index type follows the corpus size (``choose_kind``), from ``qa bench``'s scale table
on a 2-core machine (docs/performance.md): exact search up to ``EXACT_LIMIT`` passages
(one query on one thread: 4.7 ms at 100k, 55 ms at 1M), an inverted file over exact vectors
(IVF-Flat, 4 sqrt(n) cells, 32 probed) beyond it: 0.75 ms at 1M with recall@10 0.997
against exact search. HNSW and IVF-PQ are measured by
``qa bench`` (qa/bench/scale.py), not used: HNSW's build is the slowest and it cannot remove
ids; IVF-PQ kept recall@10 at 0.17-0.52 on these vectors."""
from __future__ import annotations

import math
import os
import threading
from pathlib import Path

import faiss
import numpy as np

from .atomic import replacing

# One query at a time: OpenMP's thread start-up costs more than the search itself. FAISS
# parallelises over queries, so a single query runs on one thread in any case; this setting
# (per thread) also keeps the main thread's batch work from claiming every core unasked.
faiss.omp_set_num_threads(1)
_searching = threading.local()


def _one_thread() -> None:
    """The setting above, for the thread about to search: OpenMP keeps it per thread, and a
    search from a worker thread (every question of the chat and the API runs in one) would
    otherwise start a team of every core, 12 ms of a loaded machine for a 0.1 ms search."""
    if not getattr(_searching, "single", False):
        faiss.omp_set_num_threads(1)
        _searching.single = True


EXACT_LIMIT = 200_000  # passages; exact search there takes about 10 ms on one core
IVF_PROBE = 32  # cells probed per query: recall@10 0.997 against exact at 1M in qa bench
KINDS = ("exact", "ivf")


def choose_kind(n: int) -> str:
    """The index type for ``n`` passages."""
    return "exact" if n <= EXACT_LIMIT else "ivf"


def ivf_cells(n: int) -> int:
    """Inverted-file cells for ``n`` vectors: about 4 sqrt(n), FAISS's usual rule."""
    return max(1, int(4 * math.sqrt(n)))


def new_index(kind: str, dim: int, train: np.ndarray | None = None, cells: int = 0) -> faiss.Index:
    """An empty index of ``kind`` that takes our int64 ids; IVF gets ``cells`` cells trained
    on ``train`` (a sample of the vectors to come)."""
    if kind == "exact":
        # IndexIDMap2 keeps our passage ids and allows remove_ids().
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    if kind == "ivf":
        if train is None or len(train) == 0:
            raise ValueError("an ivf index needs training vectors")
        cells = max(1, min(cells or ivf_cells(len(train)), len(train) // 39))  # k-means wants >= 39 per cell
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, cells, faiss.METRIC_INNER_PRODUCT)
        with threads(os.cpu_count() or 1):  # k-means over the sample uses every core
            index.train(np.ascontiguousarray(train, dtype=np.float32))
        index.nprobe = min(IVF_PROBE, cells)
        return index
    raise ValueError(f"unknown index kind {kind!r}; use one of {', '.join(KINDS)}")


def training_sample(vectors: np.ndarray, cells: int) -> np.ndarray:
    """A fixed sample of ``vectors`` to train ``cells`` IVF cells on: the same corpus gives
    the same index."""
    rng = np.random.default_rng(0)
    size = min(len(vectors), 64 * cells)
    return vectors[np.sort(rng.choice(len(vectors), size, replace=False))]


class threads:
    """``with threads(n):`` FAISS uses n OpenMP threads inside the block (bulk builds)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __enter__(self):
        self.before = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(self.n)

    def __exit__(self, *exc) -> None:
        faiss.omp_set_num_threads(self.before)


class VectorIndex:
    """A small verb set (add, remove, search, count, save, load) over a FAISS index."""

    def __init__(self, dim: int, index: faiss.Index | None = None) -> None:
        self.dim = dim
        self._index = index if index is not None else new_index("exact", dim)

    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, kind: str | None = None) -> "VectorIndex":
        """An index over ``vectors`` of the type their number calls for (or ``kind``)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        dim = vectors.shape[1]
        kind = kind or choose_kind(len(vectors))
        cells = ivf_cells(len(vectors))
        train = training_sample(vectors, cells) if kind == "ivf" else None
        index = cls(dim, new_index(kind, dim, train, cells))
        with threads(os.cpu_count() or 1):
            index.add(ids, vectors)
        return index

    @property
    def kind(self) -> str:
        return "ivf" if isinstance(self._index, faiss.IndexIVF) else "exact"

    @property
    def probes(self) -> int:
        """Inverted-file cells searched per query (0 for exact search)."""
        return int(self._index.nprobe) if isinstance(self._index, faiss.IndexIVF) else 0

    def count(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape[1] != self.dim:
            raise ValueError(f"vectors have dimension {vectors.shape[1]}, the index {self.dim}")
        self._index.add_with_ids(vectors, np.ascontiguousarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> int:
        return int(self._index.remove_ids(np.ascontiguousarray(ids, dtype=np.int64)))

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) for one query vector; an empty index returns empty arrays."""
        if self.count() == 0 or k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        _one_thread()
        scores, ids = self._index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), min(k, self.count()))
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    def save(self, path: Path) -> None:
        """Write to a temporary file, then rename: a crash never leaves half an index."""
        with replacing(path) as tmp:
            faiss.write_index(self._index, str(tmp))

    @classmethod
    def load(cls, path: Path) -> "VectorIndex":
        index = faiss.read_index(str(path))
        return cls(index.d, index)
