"""How sure the answer shown is, and so what is shown: the reader's span in bold as the
answer, the sentence as the answer (the span not claimed), or no answer.

Two small logistic models over one row of CONFIDENCE_FEATURES per question, all taken from
what the question path has already computed (the reader's windows, the choice's scores, the
sentence evidence, the retrieved hits, the span's own text): ``answer`` estimates the probability that the
sentence shown first holds the answer (0 for a question the corpus cannot answer), ``span``
the expected F1 of the reader's span inside it. Each feature is a share, a rank or a
log-probability of this one question: none is a corpus-wide statistic (an idf weight, a raw
BM25 score) that an upload would move. So the question's words found in a sentence are
counted here each alike (``word_share``), not weighted by idf as the sentence evidence's own
``coverage`` weighs them.

The models and their two thresholds are fitted by ``qa train-confidence``
(qa_train/confidence.py) on the train folds of the visible sets, with paired unanswerable
questions (each question asked with its own article left out); the card
(``model/CONFIDENCE_CARD.md``) holds the validation numbers."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa.answer.choice import NO_SPAN
from qa.question.answer_type import asked_type, asks_identity, asks_list, can_answer
from qa.ranker import LinearRanker
from qa.retrieve.sentences import coverage
from qa.settings import CONFIDENCE_MODEL as MODEL_PATH
from qa.text.gloss import strip_glosses
from qa.text.normalize import normalize

if TYPE_CHECKING:
    from qa.answer.choice import Reading
    from qa.answer.spans import ReadSpan
    from qa.question.query import Query
    from qa.records import Hit
    from qa.retrieve.sentences import SentenceCandidate

FORMAT = 3
# A question in another language than Chinese has no lexical evidence and too few teaching
# rows (the seed set's English questions) for the ``answer`` model: it is answered, as by the
# hand-set rule (qa.answer.snippets.confidence at its 0.6 threshold), when the top passage's
# dense similarity reaches this; the span model still decides whether the span is claimed.
FOREIGN_DENSE = 0.75
FLOOR = -15.0  # log-probabilities below this are all "no": clipped so one outlier does not steer the fit

CONFIDENCE_FEATURES = (
    "span_score", "span_margin", "has_span", "span_log_chars", "span_is_sentence_best",
    "choice_margin", "choice_is_picker_first", "shown_similarity", "shown_word_share", "shown_fits_type",
    "best_similarity", "best_word_share", "dense_top", "missing_entity", "bm25_coverage",
    "retrievers_agree", "shown_passage_first", "shown_dense_rr", "shown_bm25_rr", "foreign",
    "asks_count", "asks_time", "asks_identity", "asks_list", "names_in_shown",
    "span_in_question", "span_fits_type", "span_agreement", "span_has_punct",
)
_CLAUSE_MARKS = "，。、；：！？,;:!?"


@dataclass(frozen=True)
class Outcome:
    """What is shown: ``answered`` (else no answer), ``span_shown`` (the span in bold as the
    answer; else the sentence is the answer), and ``confidence``: the span's expected F1 when
    it is shown, else the probability that the sentence shown holds the answer."""

    answered: bool
    span_shown: bool
    confidence: float
    answer_p: float
    span_p: float


def _clip(v: float) -> float:
    return max(FLOOR, float(v))


def span_text(span: ReadSpan | SentenceCandidate) -> str:
    """A span or a sentence (document offsets inside its hit's passage) as the question is
    compared with it: normalised, pinyin glosses left out."""
    passage = span.hit.passage
    return normalize(strip_glosses(passage.text[span.start - passage.start : span.end - passage.start]))


def word_share(query: Query, candidate: SentenceCandidate) -> float:
    """How much of the question the sentence holds, every word alike (no idf: an upload moves
    idf), blended with the share of its character bigrams, as the evidence's ``coverage``."""
    return coverage(query, dict.fromkeys(query.tokens, 1.0), span_text(candidate))


def _span_signals(query: Query, kind, spans: tuple, pick: int) -> tuple[float, float, float, float]:
    """Of the shown span: the share of its characters the question holds (a span that repeats
    the question is seldom its answer), whether it can hold the kind of answer asked for (a
    count, a year, a date; 1 for other questions), the share of the other candidate
    sentences' spans that say the same (one contains the other; the very same span, found again
    in an overlapping sentence, is not a second witness), and whether a clause or sentence mark
    lies inside it (one it merely ends with does not count)."""
    span = spans[pick]
    if span is None:
        return 0.0, 0.0, 0.0, 0.0
    text = span_text(span)
    chars = [c for c in text if not c.isspace()]
    in_question = sum(c in query.normalized for c in chars) / len(chars) if chars else 0.0
    fits = float(can_answer(kind, text)) if kind is not None and kind[0] != "identity" else 1.0
    where = (span.hit.passage.doc_id, span.start, span.end)
    others = [span_text(s) for i, s in enumerate(spans)
              if i != pick and s is not None and (s.hit.passage.doc_id, s.start, s.end) != where]
    agree = sum(bool(o) and bool(text) and (o in text or text in o) for o in others) / len(others) if others else 0.0
    inside = text.rstrip(_CLAUSE_MARKS + " ")
    return in_question, fits, agree, float(any(c in _CLAUSE_MARKS for c in inside))


def features(query: Query, hits: list[Hit], best: SentenceCandidate, reading: Reading, pick: int,
             choice_scores: np.ndarray | None, missing: bool, cjk: float) -> np.ndarray:
    """One row of CONFIDENCE_FEATURES: the candidate ``reading.sentences[pick]`` as shown,
    with its span ``reading.spans[pick]``; ``best`` is the evidence's best sentence and
    ``choice_scores`` the choice's score of every candidate (None: no choice ran)."""
    shown = reading.sentences[pick]
    span: ReadSpan | None = reading.spans[pick]
    score = _clip(span.score) if span is not None else FLOOR
    margin = _clip(span.margin) if span is not None else FLOOR
    best_of_all = max((s.score for s in reading.spans if s is not None), default=NO_SPAN)
    if choice_scores is not None and len(choice_scores) > 1:
        rest = np.delete(choice_scores, pick)
        choice_margin = float(np.clip(choice_scores[pick] - rest.max(), -5.0, 5.0))
    else:
        choice_margin = 0.0
    terms = set(query.tokens)
    hit = shown.hit
    bm25_cov = len(set(hit.matched_terms) & terms) / len(terms) if terms else 0.0
    top = hits[0]
    kind = asked_type(query.normalized)
    text = shown.hit.passage.text  # the passage: a name may sit in the clause before the sentence
    names = [t for t in query.tokens if len(t) >= 2 and t in text]
    return np.array([
        score, margin, float(span is not None),
        math.log(max(1, span.end - span.start)) if span is not None else 0.0,
        float(span is not None and span.score >= best_of_all),
        choice_margin, float(reading.ranks[pick] == 0), shown.similarity, word_share(query, shown), float(shown.fits_type),
        best.similarity, word_share(query, best), float(top.dense_score or 0.0), float(missing), bm25_cov,
        float(top.dense_rank == 1 and top.bm25_rank == 1), float(hit.rank == 1),
        1.0 / hit.dense_rank if hit.dense_rank else 0.0, 1.0 / hit.bm25_rank if hit.bm25_rank else 0.0,
        float(cjk < 0.3),
        float(kind is not None and kind[0] == "count"), float(kind is not None and kind[0] in ("year", "date")),
        float(asks_identity(query.normalized)), float(asks_list(query.normalized)),
        len(names) / len(terms) if terms else 0.0,
        *_span_signals(query, kind, reading.spans, pick),
    ], dtype=np.float64)


@dataclass(frozen=True)
class Logistic(LinearRanker):
    """p = sigmoid(((x - mean) / scale) · weights + bias): the shipped linear ranker
    (qa/ranker.py) with a bias, read as a probability."""

    bias: float = 0.0

    def probability(self, x: np.ndarray) -> np.ndarray:
        z = self.score(np.atleast_2d(x)) + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))

    def to_json(self) -> dict:
        return {**super().to_json(), "bias": round(float(self.bias), 8)}

    @classmethod
    def from_json(cls, row: dict) -> Logistic:  # type: ignore[override]
        ranker = LinearRanker.from_json(row, CONFIDENCE_FEATURES, model="confidence model", retrain="qa train-confidence")
        return cls(ranker.features, ranker.mean, ranker.scale, ranker.weights, float(row["bias"]))


@dataclass(frozen=True)
class ConfidenceModel:
    """The two models and their thresholds: answer when ``answer`` reaches ``answer_threshold``;
    claim the span when, besides, ``span`` reaches ``span_threshold``."""

    answer: Logistic
    span: Logistic
    answer_threshold: float
    span_threshold: float

    def decide(self, x: np.ndarray) -> Outcome:
        p_answer = float(self.answer.probability(x)[0])
        p_span = float(self.span.probability(x)[0]) if x[CONFIDENCE_FEATURES.index("has_span")] else 0.0
        if x[CONFIDENCE_FEATURES.index("foreign")]:  # the hand-set rule's own probability
            p_answer = 1.0 / (1.0 + math.exp(-40.0 * (float(x[CONFIDENCE_FEATURES.index("dense_top")]) - 0.74)))
            answered = bool(x[CONFIDENCE_FEATURES.index("dense_top")] >= FOREIGN_DENSE)
        else:
            answered = p_answer >= self.answer_threshold
        shown = answered and p_span >= self.span_threshold
        return Outcome(answered, shown, p_span if shown else p_answer, p_answer, p_span)

    def to_json(self, **about) -> dict:
        return {"format": FORMAT, "answer": self.answer.to_json(), "span": self.span.to_json(),
                "answer_threshold": round(self.answer_threshold, 6), "span_threshold": round(self.span_threshold, 6),
                **about}


@lru_cache(maxsize=4)
def load_confidence(path: str = str(MODEL_PATH)) -> ConfidenceModel:
    row = json.loads(Path(path).read_text(encoding="utf-8"))
    if row.get("format") != FORMAT:
        raise ValueError("the confidence model file is of another format; retrain it with `qa train-confidence`")
    return ConfidenceModel(Logistic.from_json(row["answer"]), Logistic.from_json(row["span"]),
                           float(row["answer_threshold"]), float(row["span_threshold"]))
