"""Would phrase-overlap features help the learned fusion's first stage? Decided inside the
train folds only (qa/retrieve/model/FUSION_CARD.md, "Tried and not adopted").

Two features per candidate, beside the shipped ones: the share of the question's character
bigrams found in the passage, and the longest run of the question found in it (as a share
of the question's length), both over letters and digits of the normalised texts. Each of
folds 1-4 is ranked by a stage-1 model fitted on the other three (fold 0, the validation
fold, is never read); Recall@1 of stage 1 per set, with and without the two features.

    python eval/fusion_phrase_cv.py --shared ../shared --index-dir DIR

DIR holds the evaluation indexes `qa train-fusion` caches (about 6 minutes on 2 cores)."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from qa.folds import FOLDS
from qa.retrieve.fusion import FUSION_FEATURES
from qa.settings import PROJECT_ROOT
from qa_train.listwise import listwise_fit
from qa_train.sets import VISIBLE_SETS, Groups, open_sets
from qa_train.train_fusion import L2, pool_rows

EXTRA = ("bigram_share", "longest_run")


def phrase_features(question: str, passage: str) -> tuple[float, float]:
    q = "".join(c for c in question if c.isalnum())
    if len(q) < 2:
        return 0.0, 0.0
    grams = {q[i : i + 2] for i in range(len(q) - 1)}
    longest = 0
    for i in range(len(q)):
        j = i + longest + 1
        while j <= len(q) and q[i:j] in passage:
            longest, j = j - i, j + 1
    return sum(g in passage for g in grams) / len(grams), longest / len(q)


def phrase_columns(query, data, pool) -> np.ndarray:
    """EXTRA for each candidate of the pool (rows in pool order)."""
    return np.array([phrase_features(query.normalized, data.passages[r].match_text) for r in pool.tolist()])


def cross_validate(sets, pools, with_extra: bool) -> dict[str, float]:
    """Stage-1 Recall@1 per set; ``pools`` hold FUSION_FEATURES then EXTRA (pool_rows)."""
    names = FUSION_FEATURES + (EXTRA if with_extra else ())
    hits = {v.name: [] for v in sets}
    for held in range(1, FOLDS):
        groups = Groups()
        for v in sets:
            train = [q for q, f in zip(v.questions, v.folds) if f not in (0, held)]
            for q in train:
                x, relevant = pools[(v.name, q.id)]
                groups.add(x[:, : len(names)], relevant, 1.0 / np.sqrt(max(len(train), 1)))
        x, relevant, starts, weight = groups.stacked()
        model = listwise_fit(x, relevant, starts, names, L2, weight)
        for v in sets:
            for q in v.inside(held):
                x, relevant = pools[(v.name, q.id)]
                top = int(np.argmax(model.score(x[:, : len(names)]))) if len(x) else None
                hits[v.name].append(float(top is not None and relevant[top]))
    return {name: float(np.mean(h)) for name, h in hits.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", type=Path, default=PROJECT_ROOT.parent / "shared")
    parser.add_argument("--index-dir", type=Path, default=PROJECT_ROOT / ".zhqa-index")
    args = parser.parse_args()
    sets = open_sets(args.shared, args.index_dir, VISIBLE_SETS)
    pools = pool_rows(sets, extra=phrase_columns)
    print("stage-1 Recall@1, folds 1-4 each ranked by a model fitted on the other three")
    for with_extra in (False, True):
        r = cross_validate(sets, pools, with_extra)
        cells = " ".join(f"{k} {v:.4f}" for k, v in r.items())
        print(f"{'with' if with_extra else 'without'} phrase features: {cells}; mean of sets {np.mean(list(r.values())):.4f}")


if __name__ == "__main__":
    main()
