"""The index on disk. Each build writes a complete new generation folder, then switches
the ``CURRENT`` pointer with an atomic rename: a crash at any moment leaves the last good
index in place, and readers never see half of one. A lock file keeps two writers apart."""
from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from embeddings.atomic import write_text
from embeddings.faiss_store import VectorIndex
from embeddings.local_store import LocalStore
from qa.errors import IndexDamaged, IndexLocked, IndexNotFound, ZhqaError
from qa.index.bm25 import Bm25Index
from qa.index.manifest import Manifest
from qa.records import Document, Passage

_POINTER = "CURRENT"
_LOCK = ".lock"


class BoundedCache(dict):
    """A dict that forgets everything when it grows past ``limit`` entries: derived data
    kept for speed must not grow without bound on a large corpus."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, key, value) -> None:
        if len(self) >= self.limit:
            self.clear()
        super().__setitem__(key, value)


@dataclass
class DerivedCache:
    """What is derived from the loaded passages for speed and never written: the same
    passages and sentences come back question after question. Each table forgets
    everything past its limit, so a large corpus cannot grow it without bound."""

    shingles: BoundedCache = field(default_factory=lambda: BoundedCache(50_000))  # row -> 4-gram shingles
    near_duplicates: BoundedCache = field(default_factory=lambda: BoundedCache(200_000))  # (row, other row) -> bool
    token_sets: BoundedCache = field(default_factory=lambda: BoundedCache(50_000))  # row -> frozenset of BM25 terms
    # (doc id, start, end) -> (normalised text, character bigrams) of a sentence
    sentence_texts: BoundedCache = field(default_factory=lambda: BoundedCache(200_000))
    titles: BoundedCache = field(default_factory=lambda: BoundedCache(50_000))  # doc id -> normalised title


@dataclass
class IndexData:
    """Everything an index holds, in memory. ``passages[i]``, ``vectors[i]``,
    ``tokens[i]`` and ``hashes[i]`` describe the same passage."""

    manifest: Manifest
    documents: dict[str, Document]
    passages: list[Passage]
    tokens: list[list[str]]
    hashes: list[str]
    vectors: np.ndarray
    dense: VectorIndex
    bm25: Bm25Index
    # The sentences of each passage (original-text spans) and their vectors, stacked in
    # passage order: passage i owns rows sentence_start[i]:sentence_start[i + 1].
    sentences: list[list[tuple[int, int]]] = field(default_factory=list)
    sentence_vectors: np.ndarray | None = None
    row_of: dict[int, int] = field(default_factory=dict)
    sentence_start: np.ndarray | None = None
    cache: "DerivedCache" = field(default_factory=lambda: DerivedCache())

    def __post_init__(self) -> None:
        self.row_of = {p.pid: i for i, p in enumerate(self.passages)}
        self.sentence_start = np.concatenate([[0], np.cumsum([len(s) for s in self.sentences])]).astype(np.int64)

    def sentence_vectors_of(self, row: int) -> np.ndarray:
        return self.sentence_vectors[self.sentence_start[row] : self.sentence_start[row + 1]]

    @cached_property
    def passage_counts(self) -> dict[str, int]:
        """How many passages each document has (a document without any is absent), counted
        once per loaded index: the corpus tab, an opened article and ``qa info`` all show it."""
        return dict(Counter(p.doc_id for p in self.passages))


def local_store(data: IndexData) -> LocalStore:
    """Search over the FAISS vectors and bm25s index of this generation."""
    return LocalStore(data.dense, data.vectors, data.bm25, np.array([p.pid for p in data.passages], dtype=np.int64),
                      [p.doc_id for p in data.passages])


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_jsonl(path: Path, rows) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _explain_os_error(exc: OSError, root: Path) -> ZhqaError:
    if exc.errno == errno.ENOSPC:
        return ZhqaError(f"The disk is full while writing the index in {root}; the previous index is untouched, free some space and run the command again.")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ZhqaError(f"No permission to write the index in {root}; choose a writable folder with --index-dir.")
    return ZhqaError(f"Could not write the index in {root} ({exc.strerror}); the previous index is untouched.")


class IndexFolder:
    """The folder that holds an index: its generations, the pointer and the lock."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # -- reading ---------------------------------------------------------------------
    def current_dir(self) -> Path | None:
        pointer = self.root / _POINTER
        try:
            name = pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise IndexDamaged(f"The index pointer {pointer} cannot be read ({exc.strerror}); rebuild with `qa index`.") from exc
        return self.root / name if name else None

    def exists(self) -> bool:
        return self.current_dir() is not None

    def generation(self) -> str:
        """An identifier that changes whenever a new index is committed."""
        current = self.current_dir()
        return current.name if current else ""

    def read_manifest(self) -> Manifest:
        current = self.current_dir()
        if current is None:
            raise IndexNotFound(f"No index in {self.root}; build one with `qa index`.")
        try:
            raw = json.loads((current / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise IndexDamaged(f"The index manifest in {current} is missing or damaged; rebuild with `qa index`.") from exc
        return Manifest.from_json(raw, str(self.root))

    def load(self) -> IndexData:
        manifest = self.read_manifest()
        current = self.current_dir()
        assert current is not None
        try:
            documents = {}
            for row in _read_jsonl(current / "documents.jsonl"):
                documents[row["id"]] = Document(**row)
            passages, tokens, hashes, sentences = [], [], [], []
            for row in _read_jsonl(current / "passages.jsonl"):
                doc = documents[row["doc_id"]]
                passages.append(Passage(row["pid"], row["doc_id"], row["start"], row["end"],
                                        doc.text[row["start"]:row["end"]], row["match_text"]))
                tokens.append(row["tokens"].split(" ") if row["tokens"] else [])
                hashes.append(row["hash"])
                sentences.append([tuple(span) for span in row["sentences"]])
            vectors = np.load(current / "vectors.npy")
            sentence_vectors = np.load(current / "sentences.npy")
            dense = VectorIndex.load(current / "dense.faiss")
            bm25 = Bm25Index.load(current / "bm25")
        except (OSError, KeyError, ValueError, TypeError, RuntimeError, json.JSONDecodeError) as exc:
            raise IndexDamaged(f"The index in {current} is damaged ({type(exc).__name__}: {exc}); rebuild it with `qa index`.") from exc
        n = len(passages)
        if (dense.count() != n or vectors.shape[0] != n or len(bm25) != n
                or sentence_vectors.shape[0] != sum(len(s) for s in sentences)):
            raise IndexDamaged(f"The index in {current} is inconsistent ({n} passages, {dense.count()} vectors); rebuild it with `qa index`.")
        return IndexData(manifest, documents, passages, tokens, hashes, vectors, dense, bm25, sentences, sentence_vectors)

    # -- writing ---------------------------------------------------------------------
    def _lock_file(self):
        """The open lock file (the folder made if needed); closing it releases any lock."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            return open(self.root / _LOCK, "a+")
        except OSError as exc:
            raise _explain_os_error(exc, self.root) from exc

    @contextmanager
    def lock(self, timeout: float = 600.0, on_wait=None):
        """Hold the writer's lock; wait up to ``timeout`` seconds for another writer."""
        fh = self._lock_file()
        try:
            deadline = time.monotonic() + timeout
            told = False
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise IndexLocked(f"Another process is writing the index in {self.root}; wait for it to finish and try again.") from None
                    if on_wait and not told:
                        on_wait()
                        told = True
                    time.sleep(0.2)
            yield
        finally:
            fh.close()  # closing releases the lock

    @contextmanager
    def try_lock(self):
        """Hold the writer's lock if it is free at once; yields whether it is held. A process
        that follows a published index fetches a newer generation only under it, so it never
        switches the folder under a write in progress (which would lose that write)."""
        fh = self._lock_file()
        try:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held = True
            except BlockingIOError:
                held = False
            yield held
        finally:
            fh.close()

    def commit(self, data: IndexData) -> Path:
        """Write ``data`` as a new generation and make it current. Call under lock()."""
        name = f"gen-{time.time_ns()}"
        target = self.root / name
        try:
            target.mkdir(parents=True)
            _write_jsonl(target / "documents.jsonl", (d.row() for d in data.documents.values()))
            _write_jsonl(target / "passages.jsonl", (
                {"pid": p.pid, "doc_id": p.doc_id, "start": p.start, "end": p.end, "hash": h,
                 "match_text": p.match_text, "tokens": " ".join(t), "sentences": [list(x) for x in sents]}
                for p, t, h, sents in zip(data.passages, data.tokens, data.hashes, data.sentences)
            ))
            np.save(target / "vectors.npy", data.vectors)
            np.save(target / "sentences.npy", data.sentence_vectors)
            data.dense.save(target / "dense.faiss")
            data.bm25.save(target / "bm25")
            size = sum(f.stat().st_size for f in target.rglob("*") if f.is_file())
            manifest = replace(data.manifest, index_bytes=size)
            (target / "manifest.json").write_text(json.dumps(manifest.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")
            _fsync_dir(target)
            write_text(self.root / _POINTER, name)
            _fsync_dir(self.root)
            data.manifest = manifest
        except OSError as exc:
            shutil.rmtree(target, ignore_errors=True)
            raise _explain_os_error(exc, self.root) from exc
        self._prune(keep=name)
        return target

    def adopt(self, name: str, fill) -> Path:
        """Make the generation ``name`` current, its files written by ``fill(folder)`` into
        a fresh folder first (a generation published elsewhere, fetched into this folder as
        a cache). Needs no lock: the folder appears whole by one rename, and a process that
        adopts the same generation at the same moment finds it already there."""
        target = self.root / name
        if not target.is_dir():
            partial = self.root / f".{name}.partial-{os.getpid()}-{time.time_ns()}"
            try:
                partial.mkdir(parents=True)
                fill(partial)
                _fsync_dir(partial)
                try:
                    partial.rename(target)
                except OSError:
                    if not target.is_dir():
                        raise
            except OSError as exc:
                raise _explain_os_error(exc, self.root) from exc
            finally:
                shutil.rmtree(partial, ignore_errors=True)
        try:
            write_text(self.root / _POINTER, name)
            _fsync_dir(self.root)
        except OSError as exc:
            raise _explain_os_error(exc, self.root) from exc
        self._prune(keep=name)
        return target

    def _prune(self, keep: str) -> None:
        """Remove older generations and leftovers of interrupted builds."""
        for child in self.root.glob("gen-*"):
            if child.name != keep and child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
        for child in self.root.glob(f".{_POINTER}.tmp-*"):
            child.unlink(missing_ok=True)
        for child in self.root.glob(".gen-*.partial-*"):  # adopted by a process that died, not one at work
            try:
                if time.time() - child.stat().st_mtime > 600:
                    shutil.rmtree(child, ignore_errors=True)
            except OSError:
                pass


def corpus_index_dir(base: Path, corpus: Path) -> Path:
    """Where an evaluation corpus gets its own cached index, beside the main one."""
    resolved = corpus.resolve()
    slug = re.sub(r"[^\w.-]+", "-", f"{resolved.parent.name}-{resolved.stem}").strip("-")[:60]
    return base / "corpora" / f"{slug}-{hashlib.sha1(str(resolved).encode()).hexdigest()[:8]}"
