"""Should the sentence picker know list questions? Decided inside the train folds only
(qa/answer/model/CHOICE_CARD.md lists the picker's features; docs/fusion-and-choice.md, "Which sentence is shown first").

The feature `fits_list` (qa.question.answer_type): the question asks for several things
(哪些, 哪几, 哪三个, 分别) and the sentence lists some with the enumeration comma (甲、乙).
Each of folds 1-4 is ranked by a picker fitted on the other three (fold 0, the validation
fold, is not read); per set, how often the first sentence holds the answer and how often one
of the first three does (what the reader reads), with and without the feature.

    python eval/picker_list_cv.py --shared ../shared --index-dir DIR

DIR holds the evaluation indexes `qa train-fusion` and `qa train-choice` cache."""
from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from qa.answer.choice import PICKER_FEATURES
from qa_train.train_choice import fit_listwise, picker_measure, picker_rows
from qa.folds import VALIDATION_FOLD
from qa_train.sets import VISIBLE_SETS, open_sets

FEATURE = "fits_list"


def cross_validated(rows, names: tuple[str, ...], depth: int) -> dict[str, dict[str, float]]:
    folds = sorted({r.fold for r in rows})
    out: dict[str, dict[str, list]] = {}
    for f in folds:
        picker, _ = fit_listwise([(r.set, r.x, r.holds) for r in rows if r.fold != f], names)
        for s in sorted({r.set for r in rows}):
            held = [r for r in rows if r.fold == f and r.set == s]
            m = picker_measure(held, picker, depth)
            for key in ("first", f"within_{depth}"):  # folds weighted as qa_train.train_choice.choose_picker weighs them
                out.setdefault(s, {}).setdefault(key, []).append((m[key], len(held)))
    return {s: {k: round(sum(a * n for a, n in v) / max(1, sum(n for _, n in v)), 4) for k, v in by.items()}
            for s, by in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, required=True)
    parser.add_argument("--index-dir", type=Path, required=True)
    args = parser.parse_args()
    train = [f for f in range(5) if f != VALIDATION_FOLD]
    rows = [r for v in open_sets(args.shared, args.index_dir, VISIBLE_SETS) for r in picker_rows(v, set(train))]
    keep = [i for i, f in enumerate(PICKER_FEATURES) if f != FEATURE]
    without = [replace(r, x=r.x[:, keep]) for r in rows]
    report = {}
    for label, rs, names in (("without", without, tuple(PICKER_FEATURES[i] for i in keep)), ("with", rows, PICKER_FEATURES)):
        table = cross_validated(rs, names, 3)
        report[label] = {"per_set": table,
                         "mean": {k: round(float(np.mean([t[k] for t in table.values()])), 4) for k in ("first", "within_3")}}
    print(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
