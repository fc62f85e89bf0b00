"""Keyword search: BM25 (bm25s, Lucene variant) over our own jieba tokens."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from embeddings.sparse_terms import K1, B  # one k1 and b for bm25s and Milvus's BM25


def name_aliases(doc_freq: dict[str, int]) -> dict[str, list[str]]:
    """pinyin → name-like words of the vocabulary (see tokenize.pinyin_terms)."""
    from qa.text.tokenize import pinyin_terms

    words = list(doc_freq)
    out: dict[str, list[str]] = {}
    for word, reading in pinyin_terms(words):
        out.setdefault(reading, []).append(word)
    return out


class Bm25Index:
    """BM25 over passages; row i of the index is passage ``pids[i]``."""

    def __init__(self, retriever, pids: np.ndarray, doc_freq: dict[str, int], aliases: dict[str, list[str]] | None = None) -> None:
        self._retriever = retriever
        self.pids = pids
        self._doc_freq = doc_freq
        # pinyin (syllables joined) → the corpus's name-like words that read so
        self.aliases = aliases if aliases is not None else name_aliases(doc_freq)

    @classmethod
    def build(cls, token_lists: list[list[str]], pids: np.ndarray) -> "Bm25Index":
        import bm25s

        doc_freq: dict[str, int] = {}
        for toks in token_lists:
            for t in set(toks):
                doc_freq[t] = doc_freq.get(t, 0) + 1
        retriever = None
        if token_lists:
            retriever = bm25s.BM25(k1=K1, b=B, method="lucene")
            retriever.index(token_lists, show_progress=False)
        return cls(retriever, np.asarray(pids, dtype=np.int64), doc_freq)

    def __len__(self) -> int:
        return len(self.pids)

    def knows(self, term: str) -> bool:
        """Whether some passage has ``term``."""
        return term in self._doc_freq

    def idf(self, term: str) -> float:
        """Lucene's idf, log(1 + (N - df + 0.5) / (df + 0.5)); unseen terms get the maximum."""
        n, df = len(self.pids), self._doc_freq.get(term, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every passage, in index order."""
        if self._retriever is None or not query_tokens:
            return np.zeros(len(self.pids), dtype=np.float32)
        known = [t for t in query_tokens if t in self._doc_freq]
        if not known:
            return np.zeros(len(self.pids), dtype=np.float32)
        return np.asarray(self._retriever.get_scores(known), dtype=np.float32)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "pids.npy", self.pids)
        (folder / "doc_freq.json").write_text(json.dumps(self._doc_freq, ensure_ascii=False), encoding="utf-8")
        (folder / "aliases.json").write_text(json.dumps(self.aliases, ensure_ascii=False), encoding="utf-8")
        if self._retriever is not None:
            self._retriever.save(str(folder / "bm25s"), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> "Bm25Index":
        pids = np.load(folder / "pids.npy")
        doc_freq = json.loads((folder / "doc_freq.json").read_text(encoding="utf-8"))
        aliases_file = folder / "aliases.json"
        aliases = json.loads(aliases_file.read_text(encoding="utf-8")) if aliases_file.exists() else None
        retriever = None
        if len(pids):
            retriever = SavedScores.load(folder / "bm25s") or _bm25s().BM25.load(str(folder / "bm25s"), show_progress=False)
        return cls(retriever, pids, doc_freq, aliases)


def _bm25s():
    import bm25s

    return bm25s


class SavedScores:
    """bm25s's saved index, scored as bm25s scores it (``BM25.get_scores``: each query term's
    column of precomputed scores added in order, np.add.at), with numpy alone: importing
    bm25s (numba, scipy) costs a cold ``qa ask`` about half a second. Only for the methods
    whose scores are all in the matrix (no non-occurrence term); others load through bm25s."""

    METHODS = ("lucene", "robertson", "atire")

    def __init__(self, folder: Path, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, vocab: dict[str, int],
                 num_docs: int, dtype: str) -> None:
        self.folder = folder  # the files read, copied as they are when the index is written again
        self.data, self.indices, self.indptr, self.vocab = data, indices, indptr, vocab
        self.num_docs, self.dtype = num_docs, np.dtype(dtype)

    @classmethod
    def load(cls, folder: Path) -> "SavedScores | None":
        try:
            params = json.loads((folder / "params.index.json").read_text(encoding="utf-8"))
            if params.get("method") not in cls.METHODS or (folder / "nonoccurrence_array.index.npy").exists():
                return None
            vocab = json.loads((folder / "vocab.index.json").read_text(encoding="utf-8"))
            arrays = [np.load(folder / f"{name}.csc.index.npy") for name in ("data", "indices", "indptr")]
        except (OSError, ValueError, KeyError):
            return None  # not the layout this reads: bm25s itself says what is wrong
        return cls(folder, *arrays, vocab, int(params["num_docs"]), params.get("dtype", "float32"))

    def save(self, target: str, show_progress: bool = False) -> None:  # noqa: ARG002 - bm25s's signature
        import shutil

        shutil.copytree(self.folder, target)

    def get_scores(self, query_tokens: list[str]) -> np.ndarray:
        ids = [self.vocab[t] for t in query_tokens if t in self.vocab]
        scores = np.zeros(self.num_docs, dtype=self.dtype)
        for term in ids:
            start, end = self.indptr[term], self.indptr[term + 1]
            np.add.at(scores, self.indices[start:end], self.data[start:end])
        return scores
