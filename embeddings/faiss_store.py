"""Dense vectors in FAISS: inner product over L2-normalised vectors (= cosine), under
stable int64 ids so passages can be removed without touching the others."""
from __future__ import annotations

import os
from pathlib import Path

import faiss
import numpy as np

# One query at a time: OpenMP's thread start-up costs more than the search itself, and
# under load (a web server, a concurrent indexer) it oversubscribes the cores.
faiss.omp_set_num_threads(1)


class VectorIndex:
    """A small verb set (add, remove, search, count, save, load) over a FAISS index."""

    def __init__(self, dim: int, index: faiss.Index | None = None) -> None:
        self.dim = dim
        # Exact search; IndexIDMap2 keeps our passage ids and allows remove_ids().
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

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
        scores, ids = self._index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), min(k, self.count()))
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    def save(self, path: Path) -> None:
        """Write to a temporary file, then rename: a crash never leaves half an index."""
        tmp = Path(f"{path}.tmp-{os.getpid()}")
        faiss.write_index(self._index, str(tmp))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> "VectorIndex":
        index = faiss.read_index(str(path))
        return cls(index.d, index)
