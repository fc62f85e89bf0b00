"""Which sentence is shown first, and the answer span inside it.

The sentence picker (qa/retrieve/sentences.py) scores every sentence of the top passages by
similarity, coverage of the question and answer type; it does not read. The reader reads the
picker's first sentences (the choice model's ``depth``), each through one short window around
it, all in one ONNX run, and a small linear model over the picker's and the reader's scores chooses the
sentence shown first; the reader's best span inside that sentence is the answer.

The model (``model/choice.json``) is fitted by ``qa train-choice`` (qa/answer/train_choice.py)
on the train folds of question sets the reader was never trained on, with the listwise loss
of the learned fusion; the number of sentences read (its ``depth``) is chosen there too, by
cross-validation within those train folds. Its card (``model/CHOICE_CARD.md``) holds the
validation numbers."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa.answer.spans import ReadSpan, best_span_in
from qa.retrieve.fusion import LinearRanker

if TYPE_CHECKING:  # settings import this module's MODEL_PATH; the question and sentence modules import settings
    from qa.question.query import Query
    from qa.retrieve.sentences import SentenceCandidate

MODEL_PATH = Path(__file__).resolve().parent / "model" / "choice.json"
FORMAT = 1
CHOICE_DEPTH = 3  # sentences read per answered question by a choice file that names no depth
NO_SPAN = -30.0  # the score and margin of a sentence in which the reader found no span (log-probabilities)

CHOICE_FEATURES = ("picker_gap", "picker_rr", "span_score", "span_margin", "span_score_gap", "top_passage")


@dataclass(frozen=True)
class SentenceChoice:
    """The fitted choice: how many of the picker's first sentences are read (``depth``) and
    the linear score that picks the one shown first among them."""

    ranker: LinearRanker
    depth: int = CHOICE_DEPTH

    def score(self, x: np.ndarray) -> np.ndarray:
        return self.ranker.score(x)


def read_candidates(reader, query: Query, cands: list[SentenceCandidate], tokens: int) -> list[ReadSpan | None]:
    """The reader's best span inside each candidate sentence (None where it found none),
    each read through one window of ``tokens`` passage tokens centred on the sentence,
    all windows in one run."""
    if not cands:
        return []
    passages = [c.hit.passage.text for c in cands]
    focus = [(c.start - c.hit.passage.start, c.end - c.hit.passage.start) for c in cands]
    readings = reader.read(query.text, passages, max_tokens=tokens, focus=focus)
    out: list[ReadSpan | None] = []
    for c, reading in zip(cands, readings):
        base = c.hit.passage.start
        spans = [ReadSpan(c.hit, base + s.start, base + s.end, s.score, s.score - reading.no_answer)
                 for s in reading.spans if s.end > s.start]
        out.append(best_span_in(spans, c.hit.passage.doc_id, c.start, c.end))
    return out


def choice_features(cands: list[SentenceCandidate], spans: list[ReadSpan | None]) -> np.ndarray:
    """One row of CHOICE_FEATURES per candidate (in the picker's order, best first)."""
    n = len(cands)
    if not n:
        return np.zeros((0, len(CHOICE_FEATURES)))
    picker = np.array([c.score for c in cands], dtype=np.float64)
    score = np.array([s.score if s is not None else NO_SPAN for s in spans], dtype=np.float64)
    margin = np.array([s.margin if s is not None else NO_SPAN for s in spans], dtype=np.float64)
    top_rank = min(c.hit.rank for c in cands)
    columns = [picker - picker.max(), 1.0 / np.arange(1, n + 1), score, margin, score - score.max(),
               np.array([float(c.hit.rank == top_rank) for c in cands])]
    return np.stack(columns, axis=1)


def choose(model: SentenceChoice | LinearRanker | None, cands: list[SentenceCandidate], spans: list[ReadSpan | None]) -> int:
    """The index of the candidate to show first: the model's best (ties: the picker's order);
    without a model, the picker's first."""
    if model is None or len(cands) < 2:
        return 0
    scores = model.score(choice_features(cands, spans))
    return int(np.argmax(scores))  # argmax keeps the first of equal scores


def model_to_json(model: SentenceChoice, **about) -> dict:
    return {"format": FORMAT, "choice": model.ranker.to_json(), "depth": model.depth, **about}


@lru_cache(maxsize=4)
def load_choice(path: str = str(MODEL_PATH)) -> SentenceChoice:
    row = json.loads(Path(path).read_text(encoding="utf-8"))
    if row.get("format") != FORMAT:
        raise ValueError("the sentence-choice model file is of another format; retrain it with `qa train-choice`")
    depth = int(row.get("depth", CHOICE_DEPTH))
    if not 1 <= depth <= 10:
        raise ValueError("the sentence-choice model file reads an implausible number of sentences; retrain it with `qa train-choice`")
    return SentenceChoice(LinearRanker.from_json(row["choice"], CHOICE_FEATURES), depth)
