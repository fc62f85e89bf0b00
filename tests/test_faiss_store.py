"""Index types chosen by size: exact and IVF both add, search, remove, save and load."""
from __future__ import annotations

import numpy as np
import pytest

from embeddings import faiss_store
from embeddings.faiss_store import VectorIndex, choose_kind


def _unit(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_choose_kind_by_size():
    assert choose_kind(0) == "exact"
    assert choose_kind(faiss_store.EXACT_LIMIT) == "exact"
    assert choose_kind(faiss_store.EXACT_LIMIT + 1) == "ivf"


@pytest.mark.parametrize("kind", ["exact", "ivf"])
def test_each_kind_finds_removes_and_round_trips(tmp_path, kind):
    vectors = _unit(5000)
    ids = np.arange(5000, dtype=np.int64) * 7 + 3
    index = VectorIndex.build(ids, vectors, kind)
    assert index.kind == kind and index.count() == 5000
    scores, found = index.search(vectors[123], 5)
    assert found[0] == ids[123] and scores[0] == pytest.approx(1.0, abs=1e-5)
    assert index.remove(ids[:100]) == 100 and index.count() == 4900
    _, found = index.search(vectors[10], 5)
    assert ids[10] not in found
    index.save(tmp_path / "dense.faiss")
    loaded = VectorIndex.load(tmp_path / "dense.faiss")
    assert loaded.kind == kind and loaded.count() == 4900
    assert loaded.search(vectors[4000], 1)[1][0] == ids[4000]
    if kind == "ivf":
        assert 0 < loaded.probes <= faiss_store.IVF_PROBE
    else:
        assert loaded.probes == 0


def test_build_picks_exact_for_a_small_corpus():
    assert VectorIndex.build(np.arange(10, dtype=np.int64), _unit(10)).kind == "exact"


def test_build_of_nothing_is_an_empty_exact_index():
    index = VectorIndex.build(np.zeros(0, dtype=np.int64), np.zeros((0, 16), dtype=np.float32))
    assert index.count() == 0 and index.search(_unit(1, 16)[0], 3)[1].size == 0


def test_ivf_recall_against_exact_on_clustered_vectors():
    """IVF with the product's probe count keeps recall@10 high on data with structure."""
    from qa.bench.scale import synthetic_vectors

    vectors = synthetic_vectors(_unit(300, 64, seed=1), 20_000)
    queries = synthetic_vectors(_unit(300, 64, seed=1), 50, seed=9)
    ids = np.arange(len(vectors), dtype=np.int64)
    exact, ivf = VectorIndex.build(ids, vectors, "exact"), VectorIndex.build(ids, vectors, "ivf")
    recall = np.mean([len(set(exact.search(q, 10)[1]) & set(ivf.search(q, 10)[1])) / 10 for q in queries])
    assert recall >= 0.9


def test_unknown_kind_names_the_choices():
    with pytest.raises(ValueError, match="use one of exact, ivf"):
        faiss_store.new_index("lsh", 8)


def test_a_search_from_a_worker_thread_runs_on_one_thread():
    """OpenMP's thread count is per thread: the chat and the API ask in worker threads, where
    a search must not start a team of every core (it cost 12 ms a question on a loaded machine)."""
    import threading

    import faiss

    vectors = np.random.default_rng(0).standard_normal((50, 8)).astype(np.float32)
    index = VectorIndex.build(np.arange(50, dtype=np.int64), vectors)
    seen = []

    def search():
        index.search(vectors[3], 5)
        seen.append(faiss.omp_get_max_threads())

    worker = threading.Thread(target=search)
    worker.start()
    worker.join()
    assert seen == [1]
