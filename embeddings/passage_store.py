"""Where passages are searched: the verbs the retriever needs from a store, whichever engine
holds the passages (FAISS + bm25s in the index folder, or a Milvus collection).

A store answers with passage ids and raw scores; it knows nothing of fusion, snippets or
citations. ``open_store`` picks the implementation from a store address:

    local                      FAISS + bm25s inside the index folder (the default)
    milvus://HOST:PORT         a Milvus server (standalone or distributed)
    milvus-lite://PATH.db      Milvus Lite, embedded, one local file

A Milvus address may name its collection as a path (``milvus://host:19530/news``) and
choose its keyword search with ``?keywords=auto|server|jieba|local`` (see milvus_store.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable
from urllib.parse import parse_qs, urlsplit

import numpy as np

LOCAL = "local"


class StoreError(Exception):
    """A store cannot be opened or used; the message says what to do (one line)."""


@dataclass(frozen=True)
class StoredPassage:
    """What a store keeps of one passage. ``key`` changes whenever the passage's content
    or place changes, so a store can tell a stale row from a current one."""

    pid: int
    doc_id: str
    start: int
    end: int
    text: str  # the original text of the passage (for display in the engine's own tools)
    match_text: str  # normalised text, what the server's own full-text analyzer reads
    tokens: tuple[str, ...]  # our jieba BM25 terms
    vector: np.ndarray
    key: str


@dataclass(frozen=True)
class KeywordQuery:
    """A question's keyword side: our jieba terms (repeats kept, as BM25 counts them), the
    weight (idf) of each term the corpus knows, and a text for a server-side analyzer."""

    tokens: tuple[str, ...]
    idf: dict[str, float] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return " ".join(dict.fromkeys(self.tokens))


@dataclass(frozen=True)
class Matches:
    """Passage ids and their scores, best first."""

    pids: np.ndarray
    scores: np.ndarray

    @classmethod
    def empty(cls) -> "Matches":
        return cls(np.zeros(0, np.int64), np.zeros(0, np.float32))

    def __len__(self) -> int:
        return len(self.pids)


@runtime_checkable
class PassageStore(Protocol):
    """The search side of an index: what the retriever asks of any store."""

    def count(self) -> int:
        """Passages held."""

    def dense_search(self, vector: np.ndarray, n: int, doc_ids: list[str] | None = None) -> Matches:
        """The n passages nearest ``vector`` (inner product of normalised vectors), only
        among ``doc_ids`` when given."""

    def keyword_search(self, query: KeywordQuery, n: int, doc_ids: list[str] | None = None) -> Matches:
        """The n passages with the best positive BM25 score, only among ``doc_ids`` when given."""

    def keyword_scores(self, query: KeywordQuery, pids: np.ndarray) -> np.ndarray:
        """The BM25 score of each of ``pids`` (0 where no term matches), in their order."""

    def describe(self) -> dict:
        """What this store is (kind, address, collection, keyword search used)."""


@runtime_checkable
class WritableStore(PassageStore, Protocol):
    """A store written apart from the index folder (Milvus). The local store has no write
    verb: it is written as part of each index generation."""

    def sync(self, passages: list[StoredPassage]) -> "SyncReport":
        """Make the store hold exactly ``passages``: write the new and changed ones, delete
        the ones not listed, leave the rest untouched."""


class KeywordsElsewhere:
    """A store whose dense search is one store's and keyword search another's: a Milvus
    server with no sparse vectors (2.3) searches the vectors, the bm25s index of the loaded
    generation scores BM25 in this process."""

    def __init__(self, dense: PassageStore, keywords: PassageStore, why: str) -> None:
        self.dense, self.keywords, self.why = dense, keywords, why

    def count(self) -> int:
        return self.dense.count()

    def dense_search(self, vector: np.ndarray, n: int, doc_ids: list[str] | None = None) -> Matches:
        return self.dense.dense_search(vector, n, doc_ids)

    def keyword_search(self, query: KeywordQuery, n: int, doc_ids: list[str] | None = None) -> Matches:
        return self.keywords.keyword_search(query, n, doc_ids)

    def keyword_scores(self, query: KeywordQuery, pids: np.ndarray) -> np.ndarray:
        return self.keywords.keyword_scores(query, pids)

    def describe(self) -> dict:
        return {**self.dense.describe(), "keywords": f"bm25s over jieba terms, in this process ({self.why})"}


@dataclass
class SyncReport:
    written: int = 0
    deleted: int = 0
    kept: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class StoreAddress:
    """A parsed store address."""

    kind: str  # "local", "milvus" or "milvus-lite"
    uri: str = ""  # what pymilvus connects to: http://HOST:PORT or a .db path
    collection: str = ""  # empty: derived from the index folder
    keywords: str = "auto"  # "auto", "server" or "jieba"
    index_type: str = "FLAT"  # the dense index in Milvus: FLAT (exact) or HNSW, IVF_FLAT, ...

    @property
    def text(self) -> str:
        """The address as a user writes it (without options that are defaults)."""
        if self.kind == LOCAL:
            return LOCAL
        base = f"milvus://{self.uri.removeprefix('http://')}" if self.kind == "milvus" else f"milvus-lite://{self.uri}"
        if self.collection:
            base += ("/" if self.kind == "milvus" else "#") + self.collection
        options = [f"{k}={v}" for k, v, default in (("keywords", self.keywords, "auto"), ("index", self.index_type, "FLAT")) if v != default]
        return base + ("?" + "&".join(options) if options else "")


_KEYWORD_MODES = ("auto", "server", "jieba", "local")
_INDEX_TYPES = ("FLAT", "HNSW", "IVF_FLAT", "IVF_SQ8", "AUTOINDEX")


def parse_store_address(text: str | None) -> StoreAddress:
    """``local``, ``milvus://HOST:PORT[/COLLECTION][?options]`` or
    ``milvus-lite://PATH.db[#COLLECTION][?options]``; raise StoreError on anything else."""
    if text is None or text.strip() in ("", LOCAL):
        return StoreAddress(LOCAL)
    text = text.strip()
    scheme, _, rest = text.partition("://")
    if scheme not in ("milvus", "milvus-lite") or not rest:
        raise StoreError(f"Unknown store {text!r}; use local, milvus://HOST:PORT or milvus-lite://PATH.db.")
    rest, _, query = rest.partition("?")
    options = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    unknown = set(options) - {"keywords", "index"}
    if unknown:
        raise StoreError(f"Unknown store option {sorted(unknown)[0]!r} in {text!r}; the options are keywords= and index=.")
    keywords = options.get("keywords", "auto")
    if keywords not in _KEYWORD_MODES:
        raise StoreError(f"keywords={keywords!r} in {text!r}; use keywords=auto, server, jieba or local.")
    index_type = options.get("index", "FLAT").upper()
    if index_type not in _INDEX_TYPES:
        raise StoreError(f"index={index_type!r} in {text!r}; use one of {', '.join(_INDEX_TYPES)}.")
    if scheme == "milvus":
        parts = urlsplit(f"//{rest}")
        if not parts.hostname:
            raise StoreError(f"No host in {text!r}; write milvus://HOST:PORT, e.g. milvus://localhost:19530.")
        try:
            port = parts.port or 19530
        except ValueError:
            raise StoreError(f"Bad port in {text!r}; write milvus://HOST:PORT, e.g. milvus://localhost:19530.") from None
        collection = parts.path.strip("/")
        uri = f"http://{parts.hostname}:{port}"
    else:
        path, _, collection = rest.partition("#")
        if not path.endswith(".db"):
            raise StoreError(f"A Milvus Lite store is a file ending in .db, not {path!r}; write milvus-lite://PATH.db.")
        uri = path
    if collection and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,254}", collection):
        raise StoreError(f"Collection name {collection!r} may hold only ASCII letters, digits and underscores, and not start with a digit.")
    return StoreAddress(scheme, uri, collection, keywords, index_type)
