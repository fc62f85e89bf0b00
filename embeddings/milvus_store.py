"""Passages in a Milvus collection, through pymilvus's MilvusClient: a Milvus server
(``milvus://HOST:PORT``) or Milvus Lite, embedded in this process (``milvus-lite://PATH.db``).

One row per passage: its id, document id, span, text, a content key, the dense vector,
and its keyword side, which is one of

- ``server``: Milvus's own full-text search. The passage's normalised text goes into a
  VARCHAR field with the ``chinese`` analyzer (jieba + cnalphanumonly); a BM25 function turns
  it into a sparse field that Milvus scores with its BM25 (global statistics on a server).
- ``jieba``: our own jieba terms (qa/tokenize.py), as BM25 sparse vectors computed here
  (sparse_terms.py) and scored by inner product, which reproduces bm25s's scores.

- ``local``: no keyword side in Milvus. A server older than 2.4 has no sparse vectors, so
  each process that answers scores BM25 itself, with the bm25s index of the generation it
  serves (``KeywordsElsewhere`` in passage_store.py); Milvus does the dense search.

``keywords=auto`` (the default) takes ``server`` where the server accepts the ``chinese``
analyzer, ``jieba`` where it takes sparse vectors, and ``local`` elsewhere. Milvus Lite 3.x refuses ``chinese`` (it only knows
``standard`` and ``jieba`` tokenizers, and its BM25 statistics are per segment), so on
Lite ``auto`` means ``jieba``; ``keywords=server`` on Lite uses its ``jieba`` tokenizer.
"""
from __future__ import annotations

import functools
import importlib.util
import json
import logging
import re
import threading
import time
from pathlib import Path

import numpy as np

from . import sparse_terms
from .passage_store import (
    KeywordQuery,
    Matches,
    StoreAddress,
    StoredPassage,
    StoreError,
    SyncReport,
)

CHINESE_ANALYZER = {"type": "chinese"}
LITE_ANALYZER = {"tokenizer": "jieba"}
# A kept passage's BM25 vector is rewritten when the mean passage length it was normalised
# with is this far (relative) from the corpus's current one.
AVGDL_TOLERANCE = 0.01
_BATCH = 1000
_SCAN_BATCH = 16000  # rows per page when reading every id and key (Milvus allows up to 16384)
_FIELDS = ("pid", "doc_id", "start", "end", "key", "text", "vector")


def _quote(values) -> str:
    return "[" + ", ".join(json.dumps(str(v), ensure_ascii=False) for v in values) + "]"


def _failures() -> tuple[type[BaseException], ...]:
    """What pymilvus and gRPC raise when Milvus refuses, is gone or times out."""
    from pymilvus.exceptions import MilvusException

    try:
        import grpc
    except ImportError:  # pragma: no cover - pymilvus depends on grpcio
        return (MilvusException,)
    return (MilvusException, grpc.RpcError, grpc.FutureTimeoutError)


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or (exc.details() if callable(getattr(exc, "details", None)) else None) or str(exc)
    return " ".join(str(text).split()) or type(exc).__name__


def _not_loaded(exc: BaseException) -> bool:
    return getattr(exc, "code", None) == 101 or "not loaded" in _reason(exc)


def _milvus_boundary(doing: str, advice: str):
    """The one place where Milvus's own failures (MilvusException, gRPC errors) become the
    project's one-line StoreError, so no caller (the web chat least of all) sees a traceback.
    Every public MilvusStore method goes through it."""

    def decorate(method):
        @functools.wraps(method)
        def guarded(self, *args, **kwargs):
            try:
                try:
                    return method(self, *args, **kwargs)
                except _failures() as exc:
                    if not _not_loaded(exc) or not getattr(self, "collection", ""):
                        raise
                    # A restarted server (2.3) comes back with its collections released:
                    # load this one again and ask once more.
                    self.client.load_collection(self.collection)
                    return method(self, *args, **kwargs)
            except StoreError:
                raise
            except _failures() as exc:
                where = getattr(self, "address", None)
                where = where.text if where is not None else "Milvus"
                raise StoreError(f"{doing} {where} failed ({_reason(exc)}); {advice}.") from exc

        return guarded

    return decorate


_READING = ("Reading", "check that Milvus is running and the collection exists (`qa index` rebuilds it)")
_WRITING = ("Writing to", "the local index is unchanged; run the command again")


def connect(address: StoreAddress):
    """A MilvusClient for ``address``, or StoreError saying what to install or start."""
    if importlib.util.find_spec("pymilvus") is None:
        raise StoreError('pymilvus is not installed; run pip install "zhqa[milvus]" to use a Milvus store.')
    if address.kind == "milvus-lite":
        if importlib.util.find_spec("milvus_lite") is None:
            raise StoreError('milvus-lite is not installed; run pip install "zhqa[milvus]" to use a milvus-lite:// store.')
        path = Path(address.uri).expanduser()
        if not path.parent.is_dir():
            raise StoreError(f"The folder of the Milvus Lite file {path} does not exist; create it or choose another path.")
    for name in ("pymilvus", "milvus_lite", "grpc"):
        logging.getLogger(name).setLevel(logging.CRITICAL)  # failures are reported once, below
    from pymilvus import MilvusClient
    from pymilvus.exceptions import MilvusException

    try:
        return MilvusClient(uri=str(address.uri), timeout=10)
    except MilvusException as exc:
        where = f"Milvus at {address.uri}" if address.kind == "milvus" else f"the Milvus Lite file {address.uri}"
        raise StoreError(f"Cannot reach {where} ({exc.message}); start Milvus or fix --store.") from exc
    except Exception as exc:  # noqa: BLE001 - grpc and file errors come in many types
        where = f"Milvus at {address.uri}" if address.kind == "milvus" else f"the Milvus Lite file {address.uri}"
        raise StoreError(f"Cannot reach {where} ({type(exc).__name__}: {exc}); start Milvus or fix --store.") from exc


def read_consistency(address: StoreAddress) -> dict:
    """How a question's reads wait for writes, on a server. The collections are Strong, which
    costs every search about 200 ms on Milvus 2.3 (it waits for a fresh timestamp); a search
    reads at Session level instead: this process sees its own writes at once, another's
    within a fraction of a second (0.2 s measured), which a chat that follows a published
    generation (qa/index/published.py) cannot tell from the second it waits anyway."""
    return {"consistency_level": "Session"} if address.kind == "milvus" else {}


_clients: dict[tuple[str, str], object] = {}
_clients_lock = threading.Lock()


def shared_client(address: StoreAddress):
    """The one MilvusClient of this process for ``address`` (server or Lite file), made on
    first use. Every MilvusStore opened on it (one per index reload in a long-running web
    chat) shares it, so reloads open no connection; it is never closed before exit."""
    key = (address.kind, str(address.uri))
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = connect(address)
        return client


class MilvusStore:
    """One collection of passages. Open with ``create=True`` to make it when missing."""

    @_milvus_boundary("Opening", "check that Milvus is running, or rebuild the collection with `qa index`")
    def __init__(self, address: StoreAddress, collection: str, dim: int, create: bool = False, client=None) -> None:
        from pymilvus.exceptions import MilvusException

        self.address, self.collection, self.dim = address, collection, dim
        self.client = client or shared_client(address)
        self._error = MilvusException
        if not self.client.has_collection(collection):
            if not create:
                raise StoreError(f"No collection {collection!r} in {address.text}; build it with `qa index --store {address.text}`.")
            self.keywords = self._create()
        else:
            self.keywords = self._check_existing()
            self.client.load_collection(collection)

    # -- schema ---------------------------------------------------------------------------
    def _schema(self, analyzer: dict | None, keywords: bool = True):
        from pymilvus import DataType, Function, FunctionType, MilvusClient

        s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False, description="zhqa passages")
        s.add_field("pid", DataType.INT64, is_primary=True)
        s.add_field("doc_id", DataType.VARCHAR, max_length=4096)
        s.add_field("start", DataType.INT64)
        s.add_field("end", DataType.INT64)
        s.add_field("key", DataType.VARCHAR, max_length=256)
        s.add_field("text", DataType.VARCHAR, max_length=65535)
        s.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dim)
        if not keywords:
            return s
        if analyzer is None:
            s.add_field("terms", DataType.SPARSE_FLOAT_VECTOR)
            s.add_field("avgdl", DataType.FLOAT)
        else:
            s.add_field("match_text", DataType.VARCHAR, max_length=65535, enable_analyzer=True, analyzer_params=analyzer)
            s.add_field("bm25", DataType.SPARSE_FLOAT_VECTOR)
            s.add_function(Function(name="match_text_bm25", function_type=FunctionType.BM25,
                                    input_field_names=["match_text"], output_field_names=["bm25"]))
        return s

    def _index_params(self, server: bool, keywords: bool = True):
        params = self.client.prepare_index_params()
        dense = {"HNSW": {"M": 16, "efConstruction": 200}, "IVF_FLAT": {"nlist": 1024}, "IVF_SQ8": {"nlist": 1024}}
        params.add_index(field_name="vector", index_type=self.address.index_type, metric_type="IP",
                         params=dense.get(self.address.index_type, {}))
        version = self._server_version()
        # Milvus 2.3 indexes a VARCHAR with a trie; INVERTED came in 2.4.
        params.add_index(field_name="doc_id", index_type="Trie" if version is not None and version < (2, 4) else "INVERTED")
        if not keywords:
            return params
        if server:
            params.add_index(field_name="bm25", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                             params={"bm25_k1": sparse_terms.K1, "bm25_b": sparse_terms.B})
        else:
            params.add_index(field_name="terms", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
        return params

    def _server_version(self) -> tuple[int, int] | None:
        """(major, minor) of a Milvus server; None for Milvus Lite or a version not understood."""
        version = str(self.client.get_server_version())
        found = re.match(r"v?(\d+)\.(\d+)", version)
        return None if version.startswith("milvus_lite") or not found else (int(found[1]), int(found[2]))

    def _create(self) -> str:
        if self.address.keywords == "local":
            return self._create_plain()
        version = self._server_version()
        if version is not None and version < (2, 4):
            # Milvus 2.3 accepts a sparse field in a schema but cannot search it.
            if self.address.keywords != "auto":
                raise StoreError(f"{self.address.text} is Milvus {version[0]}.{version[1]}, which has no sparse vectors for "
                                 f"keywords={self.address.keywords}; use keywords=local (or auto) or Milvus 2.4 or later.")
            return self._create_plain()
        analyzers = {"jieba": [], "auto": [CHINESE_ANALYZER], "server": [CHINESE_ANALYZER, LITE_ANALYZER]}[self.address.keywords]
        refusals = []
        for analyzer in analyzers:
            try:
                self.client.create_collection(self.collection, schema=self._schema(analyzer), index_params=self._index_params(True),
                                              consistency_level="Strong")
                return "server"
            except self._error as exc:
                refusals.append(f"{json.dumps(analyzer)}: {exc.message}")
                if self.client.has_collection(self.collection):
                    self.client.drop_collection(self.collection)
        if self.address.keywords == "server":
            raise StoreError(f"{self.address.text} has no BM25 full-text search with a Chinese analyzer ({'; '.join(refusals)}); "
                             f"use keywords=jieba or Milvus 2.5 or later.")
        try:
            self.client.create_collection(self.collection, schema=self._schema(None), index_params=self._index_params(False),
                                          consistency_level="Strong")
            return "jieba"
        except self._error as exc:
            if self.client.has_collection(self.collection):
                self.client.drop_collection(self.collection)
            if self.address.keywords == "jieba":
                raise StoreError(f"{self.address.text} takes no sparse vectors ({exc.message}); "
                                 f"use keywords=local or Milvus 2.4 or later.") from exc
        return self._create_plain()

    def _create_plain(self) -> str:
        self.client.create_collection(self.collection, schema=self._schema(None, keywords=False),
                                      index_params=self._index_params(False, keywords=False), consistency_level="Strong")
        return "local"

    def _check_existing(self) -> str:
        fields = {f["name"]: f for f in self.client.describe_collection(self.collection)["fields"]}
        mode = "server" if "bm25" in fields else "jieba" if "terms" in fields else "local"
        if "vector" not in fields or "key" not in fields:
            raise StoreError(f"Collection {self.collection!r} in {self.address.text} was not made by zhqa; choose another collection name.")
        dim = int(fields["vector"].get("params", {}).get("dim", self.dim))
        if dim != self.dim:
            raise StoreError(f"Collection {self.collection!r} holds {dim}-dimensional vectors, the model gives {self.dim}; "
                             f"use another collection or the model that built it.")
        if self.address.keywords != "auto" and self.address.keywords != mode:
            raise StoreError(f"Collection {self.collection!r} was built with keywords={mode}, not {self.address.keywords}; "
                             f"use keywords={mode} or another collection.")
        return mode

    # -- reading ----------------------------------------------------------------------------
    @_milvus_boundary(*_READING)
    def count(self) -> int:
        rows = self.client.query(self.collection, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def _search(self, data, field: str, metric: str, n: int, expr: str) -> Matches:
        if n <= 0:
            return Matches.empty()
        params = {"metric_type": metric}
        if field == "vector" and self.address.index_type == "HNSW":
            params["params"] = {"ef": max(64, n)}
        elif field == "vector" and self.address.index_type.startswith("IVF"):
            params["params"] = {"nprobe": 32}
        hits = self.client.search(self.collection, data=[data], anns_field=field, limit=n, filter=expr,
                                  output_fields=["pid"], search_params=params, **read_consistency(self.address))[0]
        pids = np.array([h["entity"]["pid"] for h in hits], dtype=np.int64)
        scores = np.array([h["distance"] for h in hits], dtype=np.float32)
        if metric == "BM25":
            # Milvus Lite reports BM25 relevance negated (best first, most negative); a
            # server reports it positive. The score is its magnitude either way.
            scores = np.abs(scores)
        return Matches(pids, scores)

    @_milvus_boundary(*_READING)
    def dense_search(self, vector: np.ndarray, n: int, doc_ids: list[str] | None = None) -> Matches:
        expr = f"doc_id in {_quote(doc_ids)}" if doc_ids else ""
        return self._search(np.asarray(vector, dtype=np.float32).tolist(), "vector", "IP", n, expr)

    def _keyword(self, query: KeywordQuery, n: int, expr: str) -> Matches:
        if self.keywords == "local":
            raise StoreError(f"Collection {self.collection!r} has no keyword search of its own; "
                             f"BM25 is scored in the process that answers (keywords=local).")
        if self.keywords == "server":
            if not query.text.strip():
                return Matches.empty()
            found = self._search(query.text, "bm25", "BM25", n, expr)
        else:
            vec = sparse_terms.query_vector(query.tokens, query.idf)
            if not vec:
                return Matches.empty()
            found = self._search(vec, "terms", "IP", n, expr)
        keep = found.scores > 0
        return Matches(found.pids[keep], found.scores[keep])

    @_milvus_boundary(*_READING)
    def keyword_search(self, query: KeywordQuery, n: int, doc_ids: list[str] | None = None) -> Matches:
        return self._keyword(query, n, f"doc_id in {_quote(doc_ids)}" if doc_ids else "")

    @_milvus_boundary(*_READING)
    def keyword_scores(self, query: KeywordQuery, pids: np.ndarray) -> np.ndarray:
        out = np.zeros(len(pids), dtype=np.float32)
        if len(pids) == 0:
            return out
        found = self._keyword(query, len(pids), f"pid in [{', '.join(str(int(p)) for p in pids)}]")
        score_of = dict(zip(found.pids.tolist(), found.scores.tolist()))
        for i, p in enumerate(pids):
            out[i] = score_of.get(int(p), 0.0)
        return out

    @_milvus_boundary(*_READING)
    def describe(self) -> dict:
        keywords = {"server": lambda: "Milvus BM25, analyzer " + self._analyzer_name(),
                    "jieba": lambda: "BM25 sparse vectors of our jieba terms",
                    "local": lambda: "none in Milvus (keywords=local)"}[self.keywords]()
        return {"kind": self.address.kind, "address": self.address.text, "collection": self.collection,
                "keywords": keywords, "dense": f"Milvus {self.address.index_type}"}

    def _analyzer_name(self) -> str:
        fields = {f["name"]: f for f in self.client.describe_collection(self.collection)["fields"]}
        return str(fields["match_text"].get("params", {}).get("analyzer_params", ""))

    # -- writing ----------------------------------------------------------------------------
    def _existing(self) -> dict[int, tuple[str, float]]:
        """pid → (key, avgdl its keyword vector was normalised with) of every stored row."""
        fields = ["pid", "key"] + (["avgdl"] if self.keywords == "jieba" else [])
        out: dict[int, tuple[str, float]] = {}
        iterator = self.client.query_iterator(self.collection, batch_size=_SCAN_BATCH, filter="pid >= 0", output_fields=fields)
        try:
            while True:
                batch = iterator.next()
                if not batch:
                    break
                for row in batch:
                    out[int(row["pid"])] = (row["key"], float(row.get("avgdl", 0.0)))
        finally:
            iterator.close()
        return out

    def _row(self, p: StoredPassage, avgdl: float) -> dict:
        row = {"pid": int(p.pid), "doc_id": p.doc_id, "start": int(p.start), "end": int(p.end), "key": p.key,
               "text": p.text, "vector": np.asarray(p.vector, dtype=np.float32).tolist()}
        if self.keywords == "server":
            row["match_text"] = p.match_text
        elif self.keywords == "jieba":
            row["terms"] = sparse_terms.passage_vector(p.tokens, avgdl)
            row["avgdl"] = float(avgdl)
        return row

    @_milvus_boundary(*_WRITING)
    def upsert(self, passages: list[StoredPassage], avgdl: float) -> int:
        """Write ``passages``: a new id is inserted, an existing one replaced in one step, so
        a search running meanwhile finds the old row or the new one, never neither."""
        for lo in range(0, len(passages), _BATCH):
            self.client.upsert(self.collection, [self._row(p, avgdl) for p in passages[lo : lo + _BATCH]])
        return len(passages)

    @_milvus_boundary(*_WRITING)
    def remove(self, pids) -> int:
        pids = [int(p) for p in pids]
        for lo in range(0, len(pids), _BATCH):
            self.client.delete(self.collection, filter=f"pid in [{', '.join(map(str, pids[lo : lo + _BATCH]))}]")
        return len(pids)

    @_milvus_boundary(*_WRITING)
    def sync(self, passages: list[StoredPassage]) -> SyncReport:
        started = time.perf_counter()
        avgdl = sparse_terms.mean_length([p.tokens for p in passages])
        existing = self._existing()
        wanted = {int(p.pid) for p in passages}

        def stale(p: StoredPassage) -> bool:
            key, row_avgdl = existing[int(p.pid)]
            drift = self.keywords == "jieba" and abs(row_avgdl - avgdl) > AVGDL_TOLERANCE * avgdl
            return key != p.key or drift

        write = [p for p in passages if int(p.pid) not in existing or stale(p)]
        gone = [pid for pid in existing if pid not in wanted]
        # Written rows first, then the gone ones deleted: questions asked meanwhile never
        # miss a passage that stays, and a run stopped in between leaves only extra rows
        # (which the retriever ignores: its generation does not know their ids).
        self.upsert(write, avgdl)
        self.remove(gone)
        # Seal what was written: searches then read indexed segments (on Milvus Lite,
        # BM25 over unsealed rows takes its statistics from the filtered rows only).
        self.client.flush(self.collection)
        return SyncReport(written=len(write), deleted=len(gone), kept=len(passages) - len(write),
                          seconds=time.perf_counter() - started)

    @_milvus_boundary(*_WRITING)
    def drop(self) -> None:
        self.client.drop_collection(self.collection)
