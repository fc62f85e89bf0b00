"""qa.index.folder.IndexFolder: generations committed atomically, damage detected on load, one writer
at a time. The data committed here is the session's real seeds index, loaded from disk."""
from __future__ import annotations

import dataclasses
import errno
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from qa.errors import IndexDamaged, IndexLocked, IndexNotFound, ZhqaError
from qa.index.folder import IndexFolder


def _gens(root: Path) -> list[str]:
    return sorted(p.name for p in root.glob("gen-*") if p.is_dir())


def _pointer(root: Path) -> str:
    return (root / "CURRENT").read_text(encoding="utf-8").strip()


def _same_index(a, b) -> None:
    assert a.documents == b.documents
    assert a.passages == b.passages
    assert a.tokens == b.tokens
    assert a.hashes == b.hashes
    assert np.array_equal(a.vectors, b.vectors)
    assert a.dense.count() == b.dense.count() == len(a.passages)
    assert len(a.bm25) == len(b.bm25) == len(a.passages)


def _copy(data, **manifest_updates):
    """The same IndexData with its own manifest (commit() records index_bytes in the manifest it writes)."""
    return dataclasses.replace(data, manifest=dataclasses.replace(data.manifest, **manifest_updates))


@pytest.fixture(scope="module")
def seeds_data(seeds_index_dir):
    """The session's seeds index as IndexData (never modified here)."""
    return IndexFolder(seeds_index_dir).load()


@pytest.fixture
def store(tmp_path, seeds_data) -> IndexFolder:
    """A fresh store holding one committed copy of the seeds index."""
    s = IndexFolder(tmp_path / "store")
    with s.lock(timeout=5):
        s.commit(_copy(seeds_data))
    return s


def test_empty_folder_has_no_index(tmp_path):
    """A folder without CURRENT holds no index: exists() is False and loading says so."""
    s = IndexFolder(tmp_path / "nothing")
    assert not s.exists() and s.generation() == ""
    with pytest.raises(IndexNotFound):
        s.load()


def test_commit_then_load_round_trip(store, seeds_data):
    """What is committed loads back identical: documents, passages, tokens, vectors, FAISS and BM25 sizes."""
    loaded = store.load()
    _same_index(loaded, seeds_data)
    assert len(loaded.passages) == seeds_data.manifest.passages and len(loaded.documents) == 5
    assert loaded.manifest == dataclasses.replace(seeds_data.manifest, index_bytes=loaded.manifest.index_bytes)
    for p in loaded.passages:
        assert p.text == loaded.documents[p.doc_id].text[p.start:p.end]


def test_loaded_faiss_finds_each_passage_by_its_own_vector(store):
    """The loaded FAISS index maps vectors back to their passage ids (cosine 1 for itself)."""
    loaded = store.load()
    for row in (0, len(loaded.passages) // 2, len(loaded.passages) - 1):
        scores, ids = loaded.dense.search(loaded.vectors[row], 1)
        assert int(ids[0]) == loaded.passages[row].pid
        assert scores[0] == pytest.approx(1.0, abs=1e-4)


def test_second_commit_replaces_generation_and_prunes(store, seeds_data):
    """A second commit becomes CURRENT and the older gen-* folder is removed."""
    first = store.generation()
    assert _gens(store.root) == [first] == [_pointer(store.root)]
    with store.lock(timeout=5):
        store.commit(_copy(seeds_data, built_at="second build"))
    second = store.generation()
    assert second != first
    assert _gens(store.root) == [second] == [_pointer(store.root)]
    assert store.load().manifest.built_at == "second build"


@pytest.mark.parametrize("size", [0, 100, "half", "minus-one"])
def test_truncated_dense_faiss_is_damaged(store, size):
    """A truncated dense.faiss makes load() raise IndexDamaged, whatever the cut."""
    path = store.current_dir() / "dense.faiss"
    full = path.stat().st_size
    keep = {"half": full // 2, "minus-one": full - 1}.get(size, size)
    with open(path, "r+b") as fh:
        fh.truncate(keep)
    with pytest.raises(IndexDamaged, match="rebuild"):
        store.load()


@pytest.mark.parametrize("name", ["vectors.npy", "passages.jsonl", "documents.jsonl", "manifest.json", "bm25/pids.npy"])
def test_missing_file_is_damaged(store, name):
    """A generation missing any of its files makes load() raise IndexDamaged."""
    (store.current_dir() / name).unlink()
    with pytest.raises(IndexDamaged):
        store.load()


def test_vectors_of_wrong_length_are_damaged(store):
    """vectors.npy with a row missing is caught as an inconsistent index."""
    path = store.current_dir() / "vectors.npy"
    np.save(path, np.load(path)[:-1])
    with pytest.raises(IndexDamaged, match="inconsistent"):
        store.load()


def test_pointer_to_a_missing_generation_is_damaged(store):
    """CURRENT naming a generation that is gone is IndexDamaged, not a crash."""
    (store.root / "CURRENT").write_text("gen-0", encoding="utf-8")
    with pytest.raises(IndexDamaged):
        store.load()


def test_leftover_partial_generation_is_ignored_then_pruned(store, seeds_data):
    """A gen-* folder of a build that crashed before switching CURRENT is ignored by load() and pruned by the next commit."""
    current = store.generation()
    partial = store.root / "gen-99999999999999999999"
    partial.mkdir()
    (partial / "passages.jsonl").write_text('{"pid": 0, "doc_id": "x", "sta', encoding="utf-8")
    (store.root / ".CURRENT.tmp-12345").write_text(partial.name, encoding="utf-8")
    assert store.generation() == current
    _same_index(store.load(), seeds_data)
    with store.lock(timeout=5):
        store.commit(_copy(seeds_data))
    assert _gens(store.root) == [store.generation()]
    assert not partial.exists() and not (store.root / ".CURRENT.tmp-12345").exists()


def test_failed_commit_keeps_the_previous_index(store, seeds_data, monkeypatch):
    """A commit that fails mid-write (disk full) raises a one-sentence error and leaves the last index current."""
    from embeddings.faiss_store import VectorIndex

    before = store.generation()

    def disk_full(self, path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(VectorIndex, "save", disk_full)
    with pytest.raises(ZhqaError, match="disk is full"):
        with store.lock(timeout=5):
            store.commit(_copy(seeds_data))
    assert store.generation() == before
    assert _gens(store.root) == [before]
    _same_index(store.load(), seeds_data)


def test_lock_held_by_a_thread_blocks_a_second_writer(tmp_path):
    """While one lock(timeout=0.5) is held, another raises IndexLocked (telling on_wait once); after release it succeeds."""
    s = IndexFolder(tmp_path / "locked")
    held, release = threading.Event(), threading.Event()

    def writer():
        with s.lock(timeout=0.5):
            held.set()
            release.wait(30)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert held.wait(30)
        waits = []
        with pytest.raises(IndexLocked, match="Another process is writing"):
            with s.lock(timeout=0.5, on_wait=lambda: waits.append(1)):
                pass
        assert waits == [1]
    finally:
        release.set()
        thread.join(30)
    with s.lock(timeout=0.5):
        pass


def test_lock_held_by_another_process_blocks_a_writer(tmp_path):
    """The lock works across processes: a writer in another process makes lock(timeout=0.5) raise IndexLocked."""
    root = tmp_path / "locked"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys\nfrom qa.index.folder import IndexFolder\n"
         "with IndexFolder(sys.argv[1]).lock(timeout=5):\n    print('held', flush=True)\n    sys.stdin.read()\n",
         str(root)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(IndexLocked):
            with IndexFolder(root).lock(timeout=0.5):
                pass
    finally:
        holder.stdin.close()
        holder.wait(30)
    assert holder.returncode == 0
    with IndexFolder(root).lock(timeout=0.5):
        pass


def test_readers_do_not_wait_for_the_writer(store, seeds_data):
    """Loading the index works while a writer holds the lock (readers see the last committed generation)."""
    with store.lock(timeout=0.5):
        _same_index(store.load(), seeds_data)


def test_indexing_a_locked_index_raises(index_copy, encoder):
    """QA.index on an index another writer holds gives IndexLocked after lock_timeout, and changes nothing."""
    from qa.engine import QA
    from qa.settings import Settings

    store = IndexFolder(index_copy)
    before = store.generation()
    with store.lock(timeout=0.5):
        with pytest.raises(IndexLocked):
            QA(Settings(index_dir=index_copy, lock_timeout=0.5), encoder=encoder).index()
    assert store.generation() == before
