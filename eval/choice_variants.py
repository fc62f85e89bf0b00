"""What else the sentence choice could use, measured by its own protocol (docs/fusion-and-choice.md,
"Which sentence is shown first").

The rows are those of `qa train-choice` (qa_train/train_choice.py): the seed and RGB
questions of folds 1-4 teach, and the validation folds of the CMRC 2018 and DRCD sets are lent
and cross-fitted (each half answered by a choice fitted on the teaching rows and the other
half). The reading is the shipped one (the picker's first 3 sentences, the sentences holding a
window's best span added); each variant changes one thing and is refitted the same way:

- more features for the choice: the span margin as a gap to the best candidate's; how many
  windows put their best span in the sentence; the probability mass of the reader's spans in
  it (log-sum over the best spans of all windows) and its gap; the span's length; the
  sentence's similarity and coverage gaps; whether it can hold the kind of answer asked for;
- ``--whole-top-passage``: the top passage is also read whole (its 320-token windows), its best
  spans' sentences join the candidates;
- ``--read-tokens N``: the windows around the sentences are N tokens wide (the product: 96);
- ``--spans-per-window K``: each window keeps the reader's K best spans (default: the shipped
  choice's ``spans``; at most the 10 `qa train-choice` reads); with more, fewer candidates are
  left without a span of their own.

    python eval/choice_variants.py --shared ../shared --index-dir DIR [--read-tokens 96] [--whole-top-passage]
        [--spans-per-window K]

DIR holds the evaluation indexes `qa train-fusion` caches. Prints answer@1 / exact match / F1
per lent set and the mean answer@1."""
from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np

from qa.answer.choice import NO_SPAN, CHOICE_FEATURES, Reading, choice_features, gather, load_choice
from qa.answer.spans import ReadSpan, span_within
from qa_train.train_choice import FIT_SETS, READER_SETS, SPANS, fit_listwise, collect
from qa.folds import VALIDATION_FOLD
from qa.read.data import em_score, f1_score
from qa_train.sets import VISIBLE_SETS, open_sets
from qa.settings import PROJECT_ROOT, Settings

EXTRA = ("margin_gap", "votes", "mass", "mass_gap", "span_len", "similarity_gap", "coverage_gap", "fits_type")
VARIANTS = ((), ("margin_gap",), ("votes",), ("mass", "mass_gap"), ("span_len",), ("similarity_gap", "coverage_gap"),
            ("fits_type",), EXTRA)


def whole_passage_windows(v, row, question: str) -> list[list[ReadSpan]]:
    """The reader's best spans over the whole top passage (of those the row's sentences come from)."""
    top = min((c.hit for c in row.ranked), key=lambda h: h.rank)
    reading = v.engine.reader.read(question, [top.passage.text])[0]
    base = top.passage.start
    spans = [ReadSpan(top, base + s.start, base + s.end, s.score, s.score - reading.no_answer)
             for s in reading.spans if s.end > s.start]
    return [sorted(spans, key=lambda s: (-s.score, s.start))]


def reading_of(row, depth: int, extra_windows: list, spans: int) -> Reading:
    """The shipped reading (extended, each window's best ``spans`` spans), and the sentences
    holding the extra windows' best spans."""
    windows = [w[:spans] for w in row.windows[:depth]]
    return gather(row.ranked, windows + extra_windows, True, read=depth)


def features(reading: Reading, windows: list, names: tuple[str, ...]) -> np.ndarray:
    base = choice_features(reading)
    if not names:
        return base
    spans = reading.spans
    margin = np.array([s.margin if s is not None else NO_SPAN for s in spans])
    mass = []
    for c in reading.sentences:
        best: dict = {}
        for s in (s for w in windows for s in w if span_within(s, c)):
            best[(s.start, s.end)] = max(best.get((s.start, s.end), -np.inf), s.score)
        mass.append(float(np.log(np.exp(list(best.values())).sum())) if best else NO_SPAN)
    mass = np.array(mass)
    sim = np.array([c.similarity for c in reading.sentences])
    cov = np.array([c.coverage for c in reading.sentences])
    cols = {"margin_gap": margin - margin.max(),
            "votes": np.array([sum(bool(w) and span_within(w[0], c) for w in windows) for c in reading.sentences], float),
            "mass": mass, "mass_gap": mass - mass.max(),
            "span_len": np.array([np.log(1 + s.end - s.start) if s is not None else 0.0 for s in spans]),
            "similarity_gap": sim - sim.max(), "coverage_gap": cov - cov.max(),
            "fits_type": np.array([float(c.fits_type) for c in reading.sentences])}
    return np.column_stack([base] + [cols[n] for n in names])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", type=Path, default=PROJECT_ROOT.parent / "shared")
    parser.add_argument("--index-dir", type=Path, default=PROJECT_ROOT / ".zhqa-index")
    parser.add_argument("--read-tokens", type=int, default=Settings.read_tokens)
    parser.add_argument("--whole-top-passage", action="store_true")
    parser.add_argument("--spans-per-window", type=int, default=None)
    args = parser.parse_args()
    model = load_choice()
    spans = model.spans if args.spans_per_window is None else args.spans_per_window
    if not 1 <= spans <= max(SPANS):
        parser.error(f"--spans-per-window must be 1 to {max(SPANS)}")
    settings = replace(Settings(), read_tokens=args.read_tokens)
    teach, lent = [], {}
    for v in open_sets(args.shared, args.index_dir, VISIBLE_SETS):
        for folds in ({1, 2, 3, 4}, {VALIDATION_FOLD}):
            if folds != {VALIDATION_FOLD} and v.name not in FIT_SETS:
                continue
            if folds == {VALIDATION_FOLD} and v.name not in READER_SETS:
                continue
            rows = collect(v, settings, folds=folds, picker=model.picker)
            asked = [q for q, f in zip(v.questions, v.folds) if q.answer and f in folds]
            for q, r in zip(asked, rows):
                r.extra = whole_passage_windows(v, r, q.question) if args.whole_top_passage and r.ranked else []
            (teach if folds != {VALIDATION_FOLD} else lent.setdefault(v.name, [])).extend(rows)
    depth = model.depth
    for names in VARIANTS:
        def x(r):
            return features(reading_of(r, depth, r.extra, spans), [w[:spans] for w in r.windows[:depth]] + r.extra, names)

        def holds(r):
            return r.holds[list(reading_of(r, depth, r.extra, spans).ranks)]

        scores = {name: [0.0, 0.0, 0.0] for name in lent}
        for h in (0, 1):
            fit_rows = [r for r in teach if r.ranked] + [r for rows in lent.values() for r in rows
                                                         if r.half != h and r.ranked]
            ranker, _ = fit_listwise([(r.set, x(r), holds(r)) for r in fit_rows], CHOICE_FEATURES + names)
            for name, rows in lent.items():
                for r in rows:
                    if r.half != h or not r.answered or not r.ranked:
                        continue
                    reading = reading_of(r, depth, r.extra, spans)
                    i = int(np.argmax(ranker.score(x(r))))
                    text = r.span_text(reading.spans[i])
                    scores[name][0] += bool(r.holds[reading.ranks[i]])
                    scores[name][1] += em_score(text, r.answers)
                    scores[name][2] += f1_score(text, r.answers)
        table = {name: tuple(round(s / len(lent[name]), 4) for s in scores[name]) for name in lent}
        mean = np.mean([t[0] for t in table.values()])
        print(f"{'+'.join(names) or 'shipped features':60} mean answer@1 {mean:.4f}  {table}", flush=True)


if __name__ == "__main__":
    main()
