"""Which sentence is shown first, and the answer span inside it.

The sentence evidence (qa/retrieve/sentences.py) scores every sentence of the top passages by
similarity, coverage of the question and answer type; it does not read. The picker orders
them: a learned linear score over that evidence and the passage's own retrieval score
(``picker`` in the model file; the evidence's hand-set score where the file has none or the
passages come from another mode than hybrid). The reader reads the picker's first sentences
(the choice model's ``depth``), each through one short window around it, all in one ONNX run. A window also covers the sentences beside its own; where the
reader's best span in a window lies in one of those (the picker's sentence is about the
question, its neighbour holds the answer), that sentence joins the candidates when the model
says so (its ``extend``). A small linear model over the picker's and the reader's scores
chooses the sentence shown first; the reader's best span inside that sentence is the answer.

The model (``model/choice.json``) is fitted by ``qa train-choice`` (qa_train/train_choice.py)
with the listwise loss of the learned fusion: the picker on the train folds of every visible
set (it does not read), the choice on those of the sets the reader was never trained on and
on the validation folds of those it was (reported cross-fitted); the number of sentences
read (its ``depth``) and ``extend`` are chosen there too, by cross-validation. Its card
(``model/CHOICE_CARD.md``) holds the validation numbers."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from qa.answer.spans import ReadSpan, best_span_in
from qa.answer.spans import span_within as _inside
from qa.question.query import Query
from qa.ranker import LinearRanker
from qa.records import Hit
from qa.retrieve.sentences import SentenceCandidate
from qa.settings import CHOICE_MODEL as MODEL_PATH

FORMAT = 3  # 2: the found_by_reader feature, the extend flag and the picker; 3: the picker's fits_list
CHOICE_DEPTH = 3  # sentences read per answered question by a choice file that names no depth
SPANS_PER_WINDOW = 3  # the reader's best spans kept per window by a choice file that names no number
MAX_SPANS_PER_WINDOW = 10  # the reader is always asked for this many; a choice keeps its first ``spans``
NO_SPAN = -30.0  # the score and margin of a sentence in which the reader found no span (log-probabilities)

CHOICE_FEATURES = ("picker_gap", "picker_rr", "span_score", "span_margin", "span_score_gap", "top_passage",
                   "found_by_reader")


PICKER_FEATURES = ("similarity", "coverage", "fits_type", "passage_prior", "passage_gap", "log_length",
                   "similarity_gap", "coverage_gap", "top_passage", "fits_list")
PICKER_MODE = "hybrid"  # the retrieval mode whose passage scores the picker was fitted on


def picker_features(cands: list[SentenceCandidate], hits: list[Hit]) -> np.ndarray:
    """One row of PICKER_FEATURES per sentence: its evidence (similarity to the question,
    coverage of it, whether it can hold the kind of answer asked for, its length) raw and as
    gaps to the best sentence, its passage's place among ``hits`` (reciprocal position,
    retrieval score as a gap to the first passage's, whether it is the first), and whether it
    lists things when the question asks for several."""
    if not cands:
        return np.zeros((0, len(PICKER_FEATURES)))
    position = {h.passage.pid: i for i, h in enumerate(hits)}
    first = hits[0].score
    sim = np.array([c.similarity for c in cands], dtype=np.float64)
    cov = np.array([c.coverage for c in cands], dtype=np.float64)
    prior = np.array([1.0 / (1 + position.get(c.hit.passage.pid, len(hits))) for c in cands])
    return np.column_stack([
        sim, cov, np.array([float(c.fits_type) for c in cands]), prior,
        np.array([c.hit.score - first for c in cands], dtype=np.float64),
        np.log(np.array([max(1, c.end - c.start) for c in cands], dtype=np.float64)),
        sim - sim.max(), cov - cov.max(), (prior == 1.0).astype(np.float64),
        np.array([float(c.fits_list) for c in cands])])


@dataclass(frozen=True)
class SentenceChoice:
    """The fitted choice: the picker that orders the sentences (None: the evidence's
    hand-set score), how many of its first sentences are read (``depth``), whether sentences
    where a window's best span lies join the candidates (``extend``), how many of the reader's
    best spans each window keeps (``spans``: more leave fewer candidates without a span of
    their own), and the linear score that picks the one shown first among them."""

    ranker: LinearRanker
    depth: int = CHOICE_DEPTH
    extend: bool = False
    picker: LinearRanker | None = None
    spans: int = SPANS_PER_WINDOW

    def score(self, x: np.ndarray) -> np.ndarray:
        return self.ranker.score(x)

    def order(self, ranked: list[SentenceCandidate], hits: list[Hit], mode: str = PICKER_MODE) -> list[SentenceCandidate]:
        return picker_order(self.picker, ranked, hits, mode)


def picker_order(picker: LinearRanker | None, ranked: list[SentenceCandidate], hits: list[Hit],
                 mode: str = PICKER_MODE) -> list[SentenceCandidate]:
    """``ranked`` (the evidence's order) in ``picker``'s order, best first (ties keep
    ``ranked``'s order); unchanged without a picker or for another retrieval mode."""
    if picker is None or mode != PICKER_MODE or len(ranked) < 2:
        return ranked
    scores = picker.score(picker_features(ranked, hits))
    return [ranked[i] for i in sorted(range(len(ranked)), key=lambda i: (-scores[i], i))]


@dataclass(frozen=True)
class Reading:
    """The sentences the choice chooses among and what the reader found in each: the
    picker's first ones (those read), then, with ``extend``, the sentences holding a window's
    best span. ``ranks`` are their positions in the picker's order (0 = its first);
    ``found`` marks those the reader added."""

    sentences: tuple[SentenceCandidate, ...]
    spans: tuple[ReadSpan | None, ...]
    ranks: tuple[int, ...]
    found: tuple[bool, ...]


def read_windows(reader, query: Query, cands: list[SentenceCandidate], tokens: int,
                 spans: int) -> list[list[ReadSpan]]:
    """The reader's spans (its best ``spans``, best first) in one window of ``tokens`` passage
    tokens centred on each candidate sentence, all windows in one run; they may lie outside
    the sentence, anywhere in the window. The reader is asked for MAX_SPANS_PER_WINDOW and
    the first ``spans`` kept, as `qa train-choice` does with the rows it fits on."""
    if not cands:
        return []
    passages = [c.hit.passage.text for c in cands]
    focus = [(c.start - c.hit.passage.start, c.end - c.hit.passage.start) for c in cands]
    readings = reader.read(query.text, passages, max_tokens=tokens, focus=focus, top_k=MAX_SPANS_PER_WINDOW)
    out: list[list[ReadSpan]] = []
    for c, reading in zip(cands, readings):
        base = c.hit.passage.start
        found = [ReadSpan(c.hit, base + s.start, base + s.end, s.score, s.score - reading.no_answer)
                 for s in reading.spans if s.end > s.start]
        out.append(sorted(found, key=lambda s: (-s.score, s.start))[:spans])
    return out


def gather(ranked: list[SentenceCandidate], windows: list[list[ReadSpan]], extend: bool,
           read: int | None = None) -> Reading:
    """The candidates for the windows read around ``ranked``'s first ``read`` (default: all
    ``len(windows)``) sentences (the picker's order): those sentences and, with ``extend``,
    each sentence of ``ranked`` that holds a window's best span (windows past the first
    ``read``, read elsewhere, only add such sentences). Each candidate's span is the reader's
    most probable span inside it over all the windows."""
    n = len(windows) if read is None else read
    picked = list(range(n))
    if extend:
        for spans in windows:
            if not spans or any(_inside(spans[0], ranked[j]) for j in picked):
                continue
            home = next((j for j, c in enumerate(ranked) if _inside(spans[0], c)), None)
            if home is not None:  # None: the span crosses a sentence boundary
                picked.append(home)
    every = [s for spans in windows for s in spans]
    sentences = tuple(ranked[j] for j in picked)
    return Reading(sentences, tuple(best_span_in(every, c.hit.passage.doc_id, c.start, c.end) for c in sentences),
                   tuple(picked), tuple(i >= n for i in range(len(picked))))


def choice_features(reading: Reading) -> np.ndarray:
    """One row of CHOICE_FEATURES per candidate of ``reading``."""
    n = len(reading.sentences)
    if not n:
        return np.zeros((0, len(CHOICE_FEATURES)))
    picker = np.array([c.score for c in reading.sentences], dtype=np.float64)
    score = np.array([s.score if s is not None else NO_SPAN for s in reading.spans], dtype=np.float64)
    margin = np.array([s.margin if s is not None else NO_SPAN for s in reading.spans], dtype=np.float64)
    top_rank = min(c.hit.rank for c in reading.sentences)
    # The evidence's hand-set score, as a gap to the picker's first sentence's (which comes first).
    columns = [picker - reading.sentences[0].score,
               1.0 / (np.array(reading.ranks, dtype=np.float64) + 1), score, margin,
               score - score.max(), np.array([float(c.hit.rank == top_rank) for c in reading.sentences]),
               np.array(reading.found, dtype=np.float64)]
    return np.stack(columns, axis=1)


def choose(model: SentenceChoice | LinearRanker | None, reading: Reading) -> int:
    """The index (in ``reading``) of the candidate to show first: the model's best (ties: the
    earlier); without a model, the picker's first."""
    if model is None or len(reading.sentences) < 2:
        return 0
    scores = model.score(choice_features(reading))
    return int(np.argmax(scores))  # argmax keeps the first of equal scores


def model_to_json(model: SentenceChoice, **about) -> dict:
    if {"picker", "choice", "depth", "extend", "spans", "format"} & set(about):
        raise ValueError("the model file's notes may not reuse the names of its models")
    picker = {"picker": model.picker.to_json()} if model.picker is not None else {}
    return {"format": FORMAT, "choice": model.ranker.to_json(), "depth": model.depth, "extend": model.extend,
            "spans": model.spans, **picker, **about}


@lru_cache(maxsize=4)
def load_choice(path: str = str(MODEL_PATH)) -> SentenceChoice:
    row = json.loads(Path(path).read_text(encoding="utf-8"))
    if row.get("format") != FORMAT:
        raise ValueError("the sentence-choice model file is of another format; retrain it with `qa train-choice`")
    depth = int(row.get("depth", CHOICE_DEPTH))
    if not 1 <= depth <= 10:
        raise ValueError("the sentence-choice model file reads an implausible number of sentences; retrain it with `qa train-choice`")
    spans = int(row.get("spans", SPANS_PER_WINDOW))
    if not 1 <= spans <= MAX_SPANS_PER_WINDOW:
        raise ValueError("the sentence-choice model file keeps an implausible number of spans a window; retrain it with `qa train-choice`")

    def ranker(key: str, features: tuple[str, ...]) -> LinearRanker:
        return LinearRanker.from_json(row[key], features, "sentence-choice model", "qa train-choice")

    picker = ranker("picker", PICKER_FEATURES) if row.get("picker") else None
    return SentenceChoice(ranker("choice", CHOICE_FEATURES), depth, bool(row.get("extend", False)),
                          picker, spans)
