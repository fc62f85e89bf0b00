"""Explicit settings, validated once and passed down; nothing reads globals later."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from embeddings.encoder import DEFAULT_MODEL

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The shipped models, written by `qa train-fusion`, `qa train-choice` and `qa train-confidence` (qa_train/) beside the code that reads them.
FUSION_MODEL = Path(__file__).resolve().parent / "retrieve" / "model" / "fusion.json"
CHOICE_MODEL = Path(__file__).resolve().parent / "answer" / "model" / "choice.json"
CONFIDENCE_MODEL = Path(__file__).resolve().parent / "answer" / "model" / "confidence.json"  # qa train-confidence
MODES = ("hybrid", "dense", "bm25")
FUSIONS = ("learned", "weighted", "rrf")
TERMS_VERSION = 3  # what BM25 terms a passage gets; a change re-chunks (vectors are reused)


def default_index_dir() -> Path:
    """``$ZHQA_INDEX_DIR``, else ``.zhqa-index/`` in the project (ignored by git)."""
    env = os.environ.get("ZHQA_INDEX_DIR")
    if env:
        return Path(env)
    if (PROJECT_ROOT / "pyproject.toml").exists():
        return PROJECT_ROOT / ".zhqa-index"
    return Path.cwd() / ".zhqa-index"


def default_corpus() -> list[Path]:
    """The bundled seed articles: ``qa/seeds/`` in an installed package (setup.py maps it
    onto the checkout's ``seeds/``), else ``seeds/`` in the checkout."""
    installed = Path(__file__).resolve().parent / "seeds"
    return [installed if installed.is_dir() else PROJECT_ROOT / "seeds"]


@dataclass(frozen=True)
class Chunking:
    """The settings that decide what the passages are: a change re-chunks the corpus."""

    max_chars: int
    overlap_chars: int
    title_in_passage: bool
    terms: int  # version of the BM25 terms a passage gets (vectors are reused across it)


@dataclass(frozen=True)
class Settings:
    index_dir: Path = field(default_factory=default_index_dir)
    model: str = DEFAULT_MODEL
    # Chunking: passages of whole sentences up to max_chars, overlapping by up to overlap_chars.
    max_chars: int = 300
    overlap_chars: int = 80
    # Prefix each passage's matching text with its article's title.
    title_in_passage: bool = True
    # Retrieval: candidates from each retriever; the constant and weights of the hand-set fusions.
    candidates: int = 50
    # "learned" (qa/retrieve/fusion.py: a ranker over candidate features, trained on the train
    # folds), "weighted" (min-max normalised scores) or "rrf" (reciprocal rank fusion)
    fusion: str = "learned"
    fusion_model: Path = FUSION_MODEL
    rrf_k: int = 60
    sentence_weight: float = 0.5  # share of a passage's dense score that is its best sentence's
    dense_weight: float = 0.5
    bm25_weight: float = 0.5
    # Hybrid mode re-scores its first rerank_depth passages by their best sentence (qa/retrieve/rerank.py).
    rerank_weight: float = 1.0
    rerank_depth: int = 10
    # Below this confidence the answer is "the corpus has no answer" (see qa/answer/snippets.py);
    # used only without the learned confidence (``confidence_model`` None or no reader).
    abstain_threshold: float = 0.6
    # The reader (qa/read) reads the sentence picker's first sentences, each through one window
    # of read_tokens tokens around it, and finds the answer span; off: sentences only, no span.
    reader: bool = True
    read_tokens: int = 96
    # Which read sentence is shown first (qa/answer/choice.py); None: the sentence picker's best.
    choice_model: Path | None = CHOICE_MODEL
    # In hybrid mode, the passage holding the sentence the choice shows first is put first
    # (qa/answer/snippets.py, answer_passage_first); off: the passages keep retrieval's order.
    answer_passage_first: bool = True
    # What is shown (qa/answer/confidence.py): no answer, the sentence, or the span in bold,
    # decided by the learned confidence; None: the hand-set abstention, the span always claimed.
    confidence_model: Path | None = CONFIDENCE_MODEL
    lock_timeout: float = 600.0
    # Where passages are searched: None (what the index records, else local), "local",
    # "milvus://HOST:PORT[/COLLECTION]" or "milvus-lite://PATH.db[#COLLECTION]" (qa/index/store_target.py).
    store: str | None = None
    # With a Milvus store, how often (seconds) a server asks it for a newer published index.
    store_poll: float = 1.0

    def __post_init__(self) -> None:
        if self.max_chars < 50:
            raise ValueError("max_chars must be at least 50")
        if not 0 <= self.overlap_chars < self.max_chars:
            raise ValueError("overlap_chars must be between 0 and max_chars - 1")
        if self.fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {', '.join(FUSIONS)}, not {self.fusion!r}")
        if min(self.dense_weight, self.bm25_weight, self.rerank_weight, self.sentence_weight) < 0 or self.dense_weight + self.bm25_weight <= 0:
            raise ValueError("fusion weights must be non-negative and dense_weight + bm25_weight positive")
        if self.candidates < 1 or self.rerank_depth < 1 or self.rrf_k < 1:
            raise ValueError("candidates, rerank_depth and rrf_k must be at least 1")
        if self.read_tokens < 16:
            raise ValueError("read_tokens must be at least 16")
        if not 0 <= self.abstain_threshold <= 1:
            raise ValueError("abstain_threshold must be between 0 and 1")
        object.__setattr__(self, "index_dir", Path(self.index_dir).expanduser())

    def chunking(self) -> Chunking:
        """The settings that decide what the passages are; the index records them."""
        return Chunking(self.max_chars, self.overlap_chars, self.title_in_passage, TERMS_VERSION)
