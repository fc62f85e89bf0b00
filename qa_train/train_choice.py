"""Fit the sentence choice (qa/answer/choice.py) and measure it: ``qa train-choice``.

Protocol (the README's "The numbers, and which data chose what"):
- The **picker** (which sentences are read, in which order) does not read, so it is fitted on
  the train folds (1-4 of 5) of every visible set. It ships only if, cross-validated inside
  those folds (fit on three, score the fourth), the answer sits in its first ``depth``
  sentences at least as often as in the evidence's hand-set order (mean over the sets).
- The **choice** is fitted on the train folds (1-4 of 5, by article; the seed questions by id)
  of the seed questions and of ``rgb-news-a``, news questions the reader never saw. On the
  CMRC 2018 and DRCD training folds the reader's scores are those of questions it was trained
  on, too sure to teach the choice anything that would hold on new questions; so those sets
  lend their validation folds instead, the only questions of their kind the reader never saw.
- It is **reported** on the validation fold (0 of 5) of every visible set. The seed and RGB
  validation questions are answered by the shipped choice, which never saw them. A lent
  set's validation fold is split in two halves by article (``qa.folds.validation_part``) and
  each half is answered by a choice fitted, its depth and ``extend`` chosen too, on the train
  folds and the other half (cross-fitting): no question is answered by a fit that saw it. The
  shipped choice is fitted on all of them; the card also gives the numbers of a choice
  fitted on the news sets alone.
- Beside answer@1 and the span, the measure reports the passages' Recall@1 and MRR@10 with
  the passage of the sentence shown first put first (``Settings.answer_passage_first``), so
  the hybrid ranking's validation numbers with that step are cross-fitted as well.
- The features, the loss and its regularisation were fixed before any validation number was
  seen. The number of sentences read (the depth, among ``DEPTHS``) and whether the sentences
  holding a window's best span join the candidates (``extend``), and how many of its best
  spans each window keeps (``spans``, among ``SPANS``), are chosen by cross-validation over four parts (the train folds; a lent row's part of its validation
  fold): fit on three, score answer@1 on the fourth.

Each corpus is searched through its own cached index beside the main one (as ``qa eval
--corpus`` and ``qa train-fusion`` do), so a second run encodes nothing."""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from embeddings.atomic import write_text as atomic_write_text
from qa.answer.choice import (
    CHOICE_FEATURES,
    MAX_SPANS_PER_WINDOW,
    MODEL_PATH,
    SPANS_PER_WINDOW,
    PICKER_FEATURES,
    Reading,
    SentenceChoice,
    choice_features,
    gather,
    model_to_json,
    picker_features,
    picker_order,
    read_windows,
)
from qa.answer.snippets import confidence, ranked_sentences
from qa.cpu import one_line, processor
from qa.evaluate.run import contains_answer, relevant_pids
from qa.folds import VALIDATION_FOLD, validation_part
from qa.question.answer_type import missing_entities
from qa.question.query import make_query
from qa.read.reader import trained_on
from qa.read.data import em_score, f1_score
from qa.ranker import LinearRanker
from qa.settings import Settings
from qa.text.charstats import cjk_share
from qa.text.normalize import normalize
from qa_train.listwise import listwise_fit
from qa_train.sets import SET_NAMES, VISIBLE_SETS, Groups, Visible, open_sets

READER_SETS = trained_on()

FIT_SETS = ("seeds", "rgb-news-a")
L2 = 1e-3
# The depths the fit may choose among. Each window of 96 tokens costs the int8 reader about
# 13-17 ms on this machine: depth 3 reads in about 52 ms p50 (`qa bench`, ask.read_ms), depth 4
# would take about 66 ms, over the 60 ms budget, so it is no longer offered. (With the previous,
# faster reader the cross-validation preferred 3 anyway: answer@1 0.812 against 0.807.)
# A faster reader may add 4 again; a refit that picks it must be checked against `qa bench`.
DEPTHS = (3,)
# Whether the sentences holding a window's best span join the candidates: both are offered
# and the cross-validation chooses; it costs no reading, the windows are read anyway.
EXTENDS = (False, True)
# How many of the reader's best spans each window keeps: with 3, a candidate sentence whose
# spans all rank below a neighbour's has none of its own (the choice then sees a constant);
# with 10 most have one. It costs no reading either. Rows are read keeping max(SPANS); fewer
# are the first of those.
SPANS = (SPANS_PER_WINDOW, MAX_SPANS_PER_WINDOW)


@dataclass
class Row:
    """One answerable question: the picker's sentences of the top passages (best first), the
    reader's spans in the windows around the first ``max(DEPTHS)``, which sentences hold the
    gold answer, and whether the corpus would be answered at all."""

    set: str
    fold: int
    ranked: list
    windows: list
    holds: np.ndarray  # per sentence of ``ranked``
    span_text: Callable  # a ReadSpan's text in its document
    answers: tuple[str, ...]
    answered: bool
    part: int | None = None  # the cross-validation part: the train fold, or 1-4 inside the validation fold
    passages: tuple[int, ...] = ()  # the retrieved passages' ids, retrieval's order
    relevant: frozenset[int] = frozenset()  # those of ``passages`` of the gold article holding the answer (as `qa eval`)
    _readings: dict = field(default_factory=dict, repr=False)

    @property
    def cv_part(self) -> int:
        return self.fold if self.part is None else self.part

    @property
    def half(self) -> int:
        """Which half of the validation fold a lent row is in: parts 1-2 or 3-4."""
        return (self.cv_part - 1) // 2

    def reading(self, depth: int, extend: bool, spans: int) -> Reading:
        """The candidates as the product gathers them reading ``depth`` windows, each keeping
        its best ``spans`` spans."""
        key = (depth, extend, spans)
        if key not in self._readings:
            self._readings[key] = gather(self.ranked, [w[:spans] for w in self.windows[:depth]], extend)
        return self._readings[key]

    def x(self, depth: int, extend: bool, spans: int) -> np.ndarray:
        return choice_features(self.reading(depth, extend, spans))

    def candidate_holds(self, depth: int, extend: bool, spans: int) -> np.ndarray:
        return self.holds[list(self.reading(depth, extend, spans).ranks)]

    def relevant_rank(self, first: int | None = None) -> int | None:
        """Position (from 1) of the first relevant passage, with passage ``first`` (an id) put
        first as qa.answer.snippets.answer_passage_first does; None when none is relevant."""
        order = list(self.passages)
        if first in order:
            order.remove(first)
            order.insert(0, first)
        return next((i for i, pid in enumerate(order, 1) if pid in self.relevant), None)


@dataclass
class PickerRow:
    """One answerable question's sentences (the evidence's order): the picker's features and
    which hold the gold answer."""

    set: str
    fold: int
    x: np.ndarray
    hand: np.ndarray  # the evidence's hand-set score
    holds: np.ndarray


def _holds(cands: list, docs: dict, answer: str) -> np.ndarray:
    """Which of ``cands`` (sentences) hold ``answer`` in their article's text."""
    return np.array([contains_answer(docs[c.hit.passage.doc_id].text[c.start : c.end], answer) for c in cands])


def fit_listwise(blocks: list[tuple[str, np.ndarray, np.ndarray]], names: tuple[str, ...]):
    """The listwise fit over (set, features, holds) blocks, one per question: a question
    teaches when some but not all of its rows hold the answer; each set is weighted
    1/sqrt(its teaching questions). None when no question teaches; else the ranker and the
    teaching questions per set."""
    teach = [(name, x, holds) for name, x, holds in blocks if len(holds) >= 2 and holds.any() and not holds.all()]
    if not teach:
        return None, {}
    per_set: dict[str, int] = {}
    for name, _, _ in teach:
        per_set[name] = per_set.get(name, 0) + 1
    groups = Groups()
    for name, x, holds in teach:
        groups.add(x, holds, 1.0 / np.sqrt(per_set[name]))
    x, holds, starts, weights = groups.stacked()
    return listwise_fit(x, holds, starts, names, l2=L2, question_weights=weights), per_set


def picker_rows(v: Visible, folds: set[int]) -> list[PickerRow]:
    """PickerRows for ``v``'s questions with a gold answer text in ``folds`` (retrieval only)."""
    engine, index, rows = v.engine, v.engine.loaded(), []
    for q, fold in zip(v.questions, v.folds):
        if not q.answer or fold not in folds:
            continue
        found = engine.retrieve(make_query(q.question), k=10, mode="hybrid", index=index)
        cands = ranked_sentences(found.evidence, found.hits)
        if cands:
            rows.append(PickerRow(v.name, fold, picker_features(cands, found.hits),
                                  np.array([c.score for c in cands]), _holds(cands, found.data.documents, q.answer)))
    return rows


def fit_picker(rows: list[PickerRow]) -> LinearRanker:
    """The listwise fit of the picker (questions with both kinds of sentence teach; each set
    weighted 1/sqrt(its questions))."""
    picker, _ = fit_listwise([(r.set, r.x, r.holds) for r in rows], PICKER_FEATURES)
    if picker is None:
        raise ValueError("no question teaches the picker: none has both a sentence that holds its answer and one "
                         "that does not; add questions to the sets")
    return picker


def picker_measure(rows: list[PickerRow], picker: LinearRanker | None, depth: int) -> dict[str, float]:
    """Over questions some sentence of which holds the answer: how often the first sentence
    holds it, and how often one of the first ``depth`` does (what the reader can find)."""
    first = within = 0
    kept = [r for r in rows if r.holds.any()]
    for r in kept:
        score = r.hand if picker is None else picker.score(r.x)
        order = sorted(range(len(score)), key=lambda i: (-score[i], i))
        first += bool(r.holds[order[0]])
        within += bool(r.holds[order[:depth]].any())
    n = max(1, len(kept))
    return {"first": round(first / n, 4), f"within_{depth}": round(within / n, 4), "questions": len(kept)}


def choose_picker(rows: list[PickerRow], depth: int) -> tuple[bool, dict]:
    """Whether the learned picker beats the evidence's order: each train fold scored by a
    picker fitted on the other train folds; mean over the sets of how often the answer is
    within the first ``depth`` sentences (ties: the hand-set order)."""
    sets = sorted({r.set for r in rows})
    folds = sorted({r.fold for r in rows})
    scored = {s: {"learned": [], "hand": []} for s in sets}
    for f in folds:
        picker = fit_picker([r for r in rows if r.fold != f])
        for s in sets:
            held = [r for r in rows if r.fold == f and r.set == s]
            if held:
                scored[s]["learned"].append((picker_measure(held, picker, depth), len(held)))
                scored[s]["hand"].append((picker_measure(held, None, depth), len(held)))
    key = f"within_{depth}"
    table = {s: {k: round(sum(m[key] * n for m, n in v) / max(1, sum(n for _, n in v)), 4) for k, v in by.items()}
             for s, by in scored.items()}
    learned = float(np.mean([t["learned"] for t in table.values()]))
    hand = float(np.mean([t["hand"] for t in table.values()]))
    return learned > hand, {"cv_within_depth": table, "mean": {"learned": round(learned, 4), "hand": round(hand, 4)}}


def collect(v: Visible, settings: Settings, folds: set[int] | None = None, picker: LinearRanker | None = None) -> list[Row]:
    """Rows for ``v``'s answerable questions with a gold answer text (in ``folds``), the
    sentences in ``picker``'s order (the evidence's without one)."""
    engine = v.engine
    reader = engine.reader
    index = engine.loaded()
    data = engine.data()
    rows = []
    for q, key, fold in zip(v.questions, v.keys, v.folds):
        if not q.answer or (folds is not None and fold not in folds):
            continue
        part = fold if fold != VALIDATION_FOLD else 1 + validation_part(key)
        found = engine.retrieve(make_query(q.question), k=10, mode="hybrid", index=index)
        by_evidence = ranked_sentences(found.evidence, found.hits)
        cands = picker_order(picker, by_evidence, found.hits)
        docs = found.data.documents
        wanted = relevant_pids(data, q)
        passages = tuple(h.passage.pid for h in found.hits)
        relevant = frozenset(pid for pid in passages if str(pid) in wanted)

        def span_text(s, docs=docs) -> str:
            return docs[s.hit.passage.doc_id].text[s.start : s.end] if s is not None else ""

        if not cands:
            rows.append(Row(v.name, fold, [], [], np.zeros(0, bool), span_text, q.answers, False, part, passages, relevant))
            continue
        retrieved = " ".join(normalize(h.citation.title) + " " + h.passage.match_text for h in found.hits)
        sure = confidence(found.hits, by_evidence[0], cjk_share(found.query.text),
                          missing_entities(found.query.tokens, retrieved))
        windows = read_windows(reader, found.query, cands[: max(DEPTHS)], settings.read_tokens, max(SPANS))
        rows.append(Row(v.name, fold, cands, windows, _holds(cands, docs, q.answer), span_text, q.answers or (q.answer,),
                        sure >= settings.abstain_threshold, part, passages, relevant))
    return rows


def fit(rows: list[Row], depth: int, extend: bool, spans: int, picker: LinearRanker | None = None):
    """The listwise fit over the rows' candidates read at ``depth`` (questions with both kinds
    of candidate teach; each set weighted 1/sqrt(its questions))."""
    ranker, per_set = fit_listwise([(r.set, r.x(depth, extend, spans), r.candidate_holds(depth, extend, spans))
                                     for r in rows if r.ranked], CHOICE_FEATURES)
    if ranker is None:
        raise ValueError(f"no question teaches the choice at depth {depth}: none has both a sentence that holds "
                         "its answer and one that does not among those read; add questions to the fit sets")
    return SentenceChoice(ranker, depth, extend, picker, spans), per_set


def measure(rows: list[Row], model: SentenceChoice) -> dict:
    """answer@1 (the first snippet holds the answer, abstentions count as misses) and the
    span's exact match and F1, for the picker's first sentence and for the model's choice
    among its candidates; the oracle: some of those candidates holds the answer. And the
    passages' Recall@1 and MRR@10 in retrieval's order and with the passage of the sentence
    shown first put first (``passages``: "retrieval", "answer_first")."""
    out: dict = {}
    ranks = {"retrieval": [r.relevant_rank() for r in rows], "answer_first": []}
    for label, m in (("picker", None), ("choice", model)):
        hit = em = f1 = 0.0
        for r in rows:
            if not r.answered or not r.ranked:
                if m is not None:
                    ranks["answer_first"].append(r.relevant_rank())
                continue
            reading = r.reading(model.depth, model.extend, model.spans)
            i = 0 if m is None else int(np.argmax(m.score(choice_features(reading))))  # as choose(): the first of equal scores
            text = r.span_text(reading.spans[i])
            hit += bool(r.holds[reading.ranks[i]])
            em += em_score(text, r.answers)
            f1 += f1_score(text, r.answers)
            if m is not None:
                ranks["answer_first"].append(r.relevant_rank(reading.sentences[i].hit.passage.pid) if r.passages else None)
        n = max(1, len(rows))
        out[label] = {"answer@1": round(hit / n, 4), "exact_match": round(em / n, 4), "f1": round(f1 / n, 4)}
    out["passages"] = {k: {"recall@1": round(sum(x == 1 for x in v) / max(1, len(v)), 4),
                           "mrr@10": round(sum(1.0 / x for x in v if x is not None and x <= 10) / max(1, len(v)), 4)}
                       for k, v in ranks.items()}
    out["questions"] = len(rows)
    out["oracle"] = round(sum(bool(r.answered and r.ranked and r.candidate_holds(model.depth, model.extend, model.spans).any())
                              for r in rows) / max(1, len(rows)), 4)
    return out


def choose_reading(rows: list[Row], picker: LinearRanker | None = None) -> tuple[tuple[int, bool, int], dict[str, float]]:
    """The (depth, extend, spans) with the best mean answer@1 when each cross-validation part
    (the train folds; a lent validation row's part) is answered by a choice fitted on the other
    parts (the mean over parts of the mean over sets); ties go to the shallower read, then to
    the candidates without the reader's additions, then to fewer spans a window."""
    folds = sorted({r.cv_part for r in rows})
    cv: dict[tuple[int, bool, int], float] = {}
    for depth in DEPTHS:
        for extend in EXTENDS:
            for spans in SPANS:
                per_fold = []
                for f in folds:
                    model, _ = fit([r for r in rows if r.cv_part != f], depth, extend, spans, picker)
                    held = [r for r in rows if r.cv_part == f]
                    sets = sorted({r.set for r in held})
                    per_fold.append(np.mean([measure([r for r in held if r.set == s], model)["choice"]["answer@1"]
                                             for s in sets]))
                cv[(depth, extend, spans)] = round(float(np.mean(per_fold)), 4)
    best = max(cv, key=lambda k: (cv[k], -k[0], not k[1], -k[2]))
    return best, {_variant(*k): v for k, v in cv.items()}


def _variant(depth: int, extend: bool, spans: int) -> str:
    return f"depth {depth}" + (", extended" if extend else "") + f", {spans} spans a window"


def fit_chosen(rows: list[Row], picker: LinearRanker | None = None):
    """The (depth, extend, spans) cross-validation prefers on ``rows``, the choice fitted on all
    of them with it, its teaching questions per set, and the cross-validated answer@1 of each variant."""
    (depth, extend, spans), cv = choose_reading(rows, picker)
    model, per_set = fit(rows, depth, extend, spans, picker)
    return model, per_set, cv


def pooled(parts: list[dict]) -> dict:
    """One measure() over several disjoint groups of questions, each answered by its own model."""
    n = sum(p["questions"] for p in parts)
    out: dict = {"questions": n}
    for label in ("picker", "choice"):
        out[label] = {k: round(sum(p[label][k] * p["questions"] for p in parts) / max(1, n), 4)
                      for k in ("answer@1", "exact_match", "f1")}
    out["oracle"] = round(sum(p["oracle"] * p["questions"] for p in parts) / max(1, n), 4)
    out["passages"] = {order: {k: round(sum(p["passages"][order][k] * p["questions"] for p in parts) / max(1, n), 4)
                               for k in ("recall@1", "mrr@10")} for order in parts[0]["passages"]}
    return out


def cross_fitted(teach: list[Row], lent: dict[str, list[Row]], picker: LinearRanker | None = None) -> dict[str, dict]:
    """Each lent set's validation measure, each half of its validation fold answered by a
    choice fitted (its depth and extend chosen too) on ``teach`` and the other half of every
    lent set, so that no question is answered by a fit that saw it."""
    if any(r.part is None or not 1 <= r.part <= 4 for rows in lent.values() for r in rows):
        raise ValueError("a lent question has no part of its validation fold (collect sets it)")
    out: dict[str, list[dict]] = {name: [] for name in lent}
    for h in (0, 1):
        model, _, _ = fit_chosen(teach + [r for rows in lent.values() for r in rows if r.half != h], picker)
        for name, rows in lent.items():
            out[name].append(measure([r for r in rows if r.half == h], model))
    return {name: pooled(parts) for name, parts in out.items()}


def train_choice(shared: Path, base: Path, out: Path = MODEL_PATH, sets: tuple[str, ...] = VISIBLE_SETS) -> dict:
    started = time.perf_counter()
    settings = Settings()
    opened = open_sets(shared, base, sets)
    train_folds = {f for f in range(5) if f != VALIDATION_FOLD}
    # The picker first: retrieval only, every set's train folds (and its validation fold, reported).
    picker_train, picker_valid = [], {}
    for v in opened:
        t = time.perf_counter()
        picker_train += picker_rows(v, train_folds)
        picker_valid[v.name] = picker_rows(v, {VALIDATION_FOLD})
        print(f"{v.name}: sentences scored in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    depth_for_picker = max(DEPTHS)
    use_picker, picker_cv = choose_picker(picker_train, depth_for_picker)
    picker = fit_picker(picker_train) if use_picker else None
    picker_report = {name: {"hand": picker_measure(rows, None, depth_for_picker),
                            "learned": picker_measure(rows, picker, depth_for_picker) if picker is not None else None}
                     for name, rows in picker_valid.items()}
    teach, valid = [], {}
    for v in opened:
        t = time.perf_counter()
        if v.name in FIT_SETS:
            teach += collect(v, settings, folds=train_folds, picker=picker)
        valid[v.name] = collect(v, settings, folds={VALIDATION_FOLD}, picker=picker)
        print(f"{v.name}: read in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    # The validation folds of the sets the reader was trained on are the only questions of
    # their kind the reader never saw: they are lent to the fit, and reported cross-fitted.
    lent = {name: rows for name, rows in valid.items() if name in READER_SETS}
    model, per_set, cv = fit_chosen(teach + [r for rows in lent.values() for r in rows], picker)
    report = {name: measure(rows, model) for name, rows in valid.items() if name not in lent}
    report.update(cross_fitted(teach, lent, picker))
    news_only, _, _ = fit_chosen(teach, picker)
    about = {
        "picker_selection": {"used": use_picker, "trained_on": "folds 1-4 of every visible set (retrieval only, no reading)",
                   "cross_validation": picker_cv, "validation": picker_report, "depth": depth_for_picker},
        "trained_on": {"sets": list(FIT_SETS), "folds": "1-4 of 5 (qa.folds, by article; seeds by question id)",
                       "lent": {"sets": list(lent), "folds": "0 of 5, in four parts by article (qa.folds.validation_part)"},
                       "teaching_questions": per_set, "l2": L2},
        "depth_selection": {"candidates": list(cv), "cv_answer@1": cv,
                            "rule": "mean answer@1 over the parts (train folds 1-4; lent rows: parts 1-4 of fold 0), "
                                    "each answered by a choice fitted on the other three"},
        "validation": {name: report[name] for name in valid},
        "validation_news_only": {name: measure(rows, news_only) for name, rows in valid.items()},
        "seconds": round(time.perf_counter() - started, 1),
        # the reader's spans, and so these numbers, depend on the processor's int8 kernels (qa.cpu)
        "processor": processor().as_dict(),
    }
    atomic_write_text(Path(out), json.dumps(model_to_json(model, **about), ensure_ascii=False, indent=1) + "\n")
    atomic_write_text(Path(out).with_name("CHOICE_CARD.md"), card(model, about))
    return about


def processor_note(cpu: dict | None) -> str:
    """Where the card's numbers were measured: they hold the reader's spans, and those come
    from int8 kernels that differ by processor (qa.cpu)."""
    where = (one_line(cpu) if cpu else
             "an AMD EPYC (Zen 4: AVX-512 with VNNI; int8 u8s8 kernel AVX-512 VNNI, exact), before the "
             "processor was recorded")
    return (f"**Processor.** Measured on {where}. The reader multiplies its int8 weights exactly on "
            "every x86 processor (u8 weights where u8 x s8 would saturate: `qa.read.int8`); another kind "
            "still rounds its float32 kernels otherwise, which can move a near-tied span (see the reader's "
            "card, Processors).")


def card(model, about: dict) -> str:
    """The model card, written from the fit itself (so its numbers are the file's)."""
    lines = [
        "# Model card: which read sentence is shown first (`choice.json`)",
        "",
        "Written by `qa train-choice` (qa_train/train_choice.py) with the model; do not edit by hand.",
        "",
        "**What it is.** `qa/answer/choice.py`. The sentence picker (below) ranks the sentences of the top",
        f"passages; the reader reads its first {model.depth}, each through one window of",
        "`Settings.read_tokens` tokens around it, in one ONNX run, each window keeping the reader's best "
        f"{model.spans} spans (`spans`). "
        + ("Where a window's best span lies in another sentence (a neighbour inside the window), that "
           "sentence joins the candidates (`extend`). " if model.extend else
           "The candidates are the sentences read (`extend` off: the sentences where a window's best span "
           "lies outside its own were not added). ")
        + f"A linear score over {len(CHOICE_FEATURES)} standardised features chooses the one shown",
        "first, and the reader's best span inside it is the answer. Features: "
        + ", ".join(f"`{f}`" for f in CHOICE_FEATURES) + ":",
        "the evidence's hand-set score as a gap to that of the picker's first sentence, and the reciprocal",
        "of the sentence's position in the picker's order;",
        "the reader's best span inside the sentence over the windows read (log P(start) + log P(end); its",
        "margin over its window's no-answer score; its gap to the best of the candidates); whether the",
        "sentence is in the top passage; whether the reader added it.",
        "",
        processor_note(about.get("processor")),
        "",
        "**Loss.** Listwise softmax (minus the log of the probability mass on the sentences that hold",
        f"the gold answer) plus an L2 penalty of {L2}, scipy's L-BFGS (`qa.retrieve.fusion.listwise_fit`);",
        "a question counts 1/sqrt(questions of its set).",
        "",
        "**Training data.** Folds 1-4 (`qa/folds.py`, by article; the seed questions by id) of the",
        "sets the reader was never trained on, and the validation folds (fold 0) of those it was trained",
        "on, lent; a question teaches when some but not all of its candidate sentences hold the answer:",
        "",
        "| set | teaching questions |",
        "|---|---|",
    ]
    lent = set(about["trained_on"].get("lent", {}).get("sets", ()))
    lines += [f"| {SET_NAMES.get(k, k)}{', validation fold (lent)' if k in lent else ', folds 1-4'} | {v} |"
              for k, v in about["trained_on"]["teaching_questions"].items()]
    lines += [
        "",
        "On the CMRC 2018 and DRCD training folds the reader's scores are those of questions it was",
        "trained on, so they are not used: a choice fitted on them would trust the reader more than it",
        "deserves on new questions. Their validation folds are the only questions of their kind the",
        "reader never saw, so they are lent to the fit and reported cross-fitted (below).",
        "",
        "**Licence.** The weights are ours (MIT). The sets' licences are in their `SOURCE.md`: CMRC 2018",
        f"CC BY-SA 4.0, DRCD CC BY-SA 3.0, RGB CC BY-NC-SA 4.0. The file holds {len(CHOICE_FEATURES)} weights",
        "and the features' means and scales, no text.",
        "",
        "## Validation fold (fold 0): no question answered by a fit that saw it; CMRC 2018 and DRCD's never seen by the reader",
        "",
        "The seed and RGB validation questions are answered by the shipped choice. The CMRC 2018 and DRCD",
        "validation folds are cross-fitted: each is split in two halves by article",
        "(`qa.folds.validation_part`), and each half is answered by a choice fitted, its depth and",
        "`extend` chosen too, on the train folds and the other half of every lent set.",
        "",
        "answer@1: the first snippet holds the gold answer (abstentions count as misses, as in `qa eval`);",
        "exact match and F1 of the answer span (CMRC 2018 definitions, best over the gold answers);",
        "oracle: some of the candidate sentences holds the answer (the most any choice could reach).",
        "The last column is a choice fitted on the news sets' train folds alone (nothing lent).",
        "",
        "| set | questions | picker's first: answer@1 / EM / F1 | **choice**: answer@1 / EM / F1 | oracle | fitted on the news sets alone |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in about["validation"].items():
        a, b = r["picker"], r["choice"]
        c = about["validation_news_only"][name]["choice"]
        lines.append(f"| {SET_NAMES.get(name, name)} | {r['questions']} | {a['answer@1']:.3f} / {a['exact_match']:.3f} / "
                     f"{a['f1']:.3f} | **{b['answer@1']:.3f}** / **{b['exact_match']:.3f}** / **{b['f1']:.3f}** | {r['oracle']:.3f} | "
                     f"{c['answer@1']:.3f} / {c['exact_match']:.3f} / {c['f1']:.3f} |")
    lines += [
        "",
        "`qa eval` on a CMRC 2018 or DRCD validation fold answers with the shipped choice, which was",
        "fitted on those very questions: its answer@1 and span scores there are not validation numbers.",
        "The cross-fitted ones above are. The same holds for hybrid Recall@1 and MRR@10 there, since",
        "the passage of the sentence shown first is put first (below).",
        "",
        "## The answer's passage first",
        "",
        "In hybrid mode the passage holding the sentence shown first is put first among the passages",
        "(`Settings.answer_passage_first`; qa/answer/snippets.py). Passages' Recall@1 / MRR@10 on the",
        "validation fold (relevant: of the gold article and holding the answer, as `qa eval`), in",
        "retrieval's order (the learned fusion) and with that step, answered as above (cross-fitted",
        "where lent):",
        "",
        "| set | questions | retrieval's order | answer's passage first |",
        "|---|---|---|---|",
    ]
    for name, m in about["validation"].items():
        p = m["passages"]
        lines.append(f"| {SET_NAMES.get(name, name)} | {m['questions']} | "
                     f"{p['retrieval']['recall@1']:.3f} / {p['retrieval']['mrr@10']:.3f} | "
                     f"**{p['answer_first']['recall@1']:.3f}** / **{p['answer_first']['mrr@10']:.3f}** |")
    pk = about["picker_selection"]
    d = pk["depth"]
    lines += [
        "",
        "## Which sentences are read: the picker",
        "",
        "The picker orders the sentences of the top 3 passages before anything is read; the reader reads",
        f"its first {model.depth}. It is a linear score over {len(PICKER_FEATURES)} standardised features: "
        + ", ".join(f"`{f}`" for f in PICKER_FEATURES) + ",",
        "fitted with the same listwise loss on folds 1-4 of every visible set (it does not read, so",
        "the reader's training questions teach it nothing false). It replaces the evidence's hand-set",
        "order (similarity + 0.5 coverage + 0.1 / passage position - 0.1 if the sentence cannot hold the",
        f"kind of answer asked for) only if, cross-validated inside folds 1-4, the answer is within its first {d}",
        "sentences at least as often (mean over the sets); abstention keeps reading the hand-set best sentence.",
        "",
        f"**{'Used' if pk['used'] else 'Not used'}.** Answer within the first {d} sentences, of the questions",
        "some sentence of which holds it:",
        "",
        "| set | hand-set, cross-validated (train folds) | picker, cross-validated | hand-set, validation | picker, validation |",
        "|---|---|---|---|---|",
    ]
    for name, cv_row in pk["cross_validation"]["cv_within_depth"].items():
        v = pk["validation"].get(name, {})
        hand_v = v.get("hand", {}).get(f"within_{d}")
        learned_v = (v.get("learned") or {}).get(f"within_{d}")
        lines.append(f"| {SET_NAMES.get(name, name)} | {cv_row['hand']:.3f} | {cv_row['learned']:.3f} | "
                     f"{'–' if hand_v is None else f'{hand_v:.3f}'} | {'–' if learned_v is None else f'{learned_v:.3f}'} |")
    mean = pk["cross_validation"]["mean"]
    lines += [f"| mean of the sets | {mean['hand']:.3f} | {mean['learned']:.3f} | | |"]
    if model.picker is not None:
        lines += ["", "| picker feature | weight |", "|---|---|"]
        lines += [f"| `{f}` | {w:+.3f} |" for f, w in zip(model.picker.features, model.picker.weights)]
    lines += [
        "",
        "## How many sentences are read, and which are candidates",
        "",
        "The depth (among " + ", ".join(str(d) for d in DEPTHS) + "), `extend` and how many of the reader's best spans each",
        "window keeps (`spans`, among " + ", ".join(str(k) for k in SPANS) + "; with few, a candidate whose spans all rank below a",
        "neighbour's has none of its own) are chosen by cross-validation over four",
        "parts (folds 1-4 of the news sets; a lent question's part of its validation fold): each part is",
        "answered by a choice fitted on the other three, and the variant with the best mean answer@1 (mean",
        "over the parts of the mean over the sets) wins, ties going to the shallower read, then to the",
        "candidates without the reader's additions, then to fewer spans.",
        "",
        "| variant | cross-validated answer@1 (four parts) |",
        "|---|---|",
    ]
    chosen = _variant(model.depth, model.extend, model.spans)
    lines += [f"| {d}{' (chosen)' if d == chosen else ''} | {v:.3f} |"
              for d, v in about["depth_selection"]["cv_answer@1"].items()]
    lines += [
        "",
        "## Weights (on standardised features)",
        "",
        "| feature | weight |",
        "|---|---|",
    ]
    lines += [f"| `{f}` | {w:+.3f} |" for f, w in zip(model.ranker.features, model.ranker.weights)]
    lines += [
        "",
        "## Reproduce",
        "",
        "```",
        "qa train-choice --shared ../shared   # about " + f"{about['seconds'] / 60:.0f} min here, the indexes of the sets cached",
        "```",
        "It uses the shipped reader (`qa/read/model/`): retrain the choice whenever the reader changes.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="qa train-choice", description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[3] / "shared")
    parser.add_argument("--index-dir", type=Path, default=Settings().index_dir,
                        help="where the evaluation corpora's cached indexes live (as qa train-fusion)")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args(argv)
    about = train_choice(args.shared, args.index_dir, args.out)
    print(json.dumps(about, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
