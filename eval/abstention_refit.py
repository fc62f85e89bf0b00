"""Abstention refitted by the validation protocol, measured beside the hand-set one (docs/fusion-and-choice.md,
"Abstention"). Each visible question is asked of its own corpus (answerable) and of a partner
corpus that cannot answer it; the seeds' own unanswerable questions are added. A logistic
regression over the confidence signals is fitted on the train folds (threshold chosen there),
with and without the reader's signals (over the sentences the product reads: the best
span's margin over "no answer" and its score), and all are reported on the validation folds
(fold 0 of 5), beside the reader's own no-answer decision (its ``null_margin``).

    python eval/abstention_refit.py --shared ../shared --index-dir .zhqa-index

Uses the cached evaluation indexes that `qa train-fusion` builds under --index-dir."""
from __future__ import annotations

import argparse
import math
import random
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from qa.answer.choice import NO_SPAN, gather, load_choice, read_windows
from qa.answer.snippets import confidence, ranked_sentences
from qa.evaluate.run import load_questions
from qa.folds import fold_of
from qa.question.answer_type import missing_entities
from qa.question.query import make_query
from qa_train.sets import VISIBLE_SETS, open_sets
from qa.settings import PROJECT_ROOT
from qa.text.charstats import cjk_share
from qa.text.normalize import normalize

PARTNER = {"seeds": "rgb-news-a", "rgb-news-a": "cmrc2018-dev-a", "cmrc2018-trial": "drcd-test",
           "cmrc2018-dev-a": "drcd-dev-a", "drcd-test": "cmrc2018-trial", "drcd-dev-a": "cmrc2018-dev-a"}


def signals(engine, index, text, choice):
    """(dense, coverage, fits_type, missing, cjk share, hand-set confidence, reader margin,
    reader span score) for one question; the reader reads the picker's first ``choice.depth``
    sentences, as the product does."""
    found = engine.retrieve(make_query(text), k=10, mode="hybrid", index=index)
    cands = ranked_sentences(found.evidence, found.hits)
    if not cands:
        return None
    best = cands[0]
    retrieved = " ".join(normalize(h.citation.title) + " " + h.passage.match_text for h in found.hits)
    missing = missing_entities(found.query.tokens, retrieved)
    cjk = cjk_share(found.query.text)
    windows = read_windows(engine.reader, found.query, cands[: choice.depth], engine.settings.read_tokens, choice.spans)
    spans = [s for s in gather(cands, windows, choice.extend).spans if s is not None]
    return [found.hits[0].dense_score or 0.0, best.coverage, float(best.fits_type), float(bool(missing)), cjk,
            confidence(found.hits, best, cjk, missing),
            max((s.margin for s in spans), default=NO_SPAN), max((s.score for s in spans), default=NO_SPAN)]


def design(x, reader=False):
    dense, cov, fits, missing, cjk = x[:5]
    f = float(cjk < 0.3)
    row = [dense * (1 - f), cov * (1 - f), fits * (1 - f), missing * (1 - f), f, f * dense]
    return row + [max(x[6], -15.0), max(x[7], -15.0)] if reader else row


def refit(train, reader):
    """A logistic regression fitted on ``train`` rows and its threshold (balanced accuracy on them)."""
    X = np.array([design(r[3], reader) for r in train])
    y = np.array([r[2] for r in train])
    names = sorted({r[0] for r in train})
    w = np.zeros(len(train))  # each set weighs sqrt(its rows), each class half of that
    for s in names:
        n_set = sum(r[0] == s for r in train)
        for c in (0, 1):
            m = np.array([r[0] == s and r[2] == c for r in train])
            if m.sum():
                w[m] = math.sqrt(n_set) / 2 / m.sum()
    mu, sd = X.mean(0), X.std(0) + 1e-9
    clf = LogisticRegression(C=1.0, max_iter=2000).fit((X - mu) / sd, y, sample_weight=w)
    p_train = clf.predict_proba((X - mu) / sd)[:, 1]
    threshold = max(np.linspace(0.05, 0.95, 91),
                    key=lambda t: w[y == 1] @ (p_train[y == 1] >= t) + w[y == 0] @ (p_train[y == 0] < t))
    return (lambda r: clf.predict_proba((np.array([design(r[3], reader)]) - mu) / sd)[0, 1]), threshold


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", type=Path, default=PROJECT_ROOT.parent / "shared")
    parser.add_argument("--index-dir", type=Path, default=PROJECT_ROOT / ".zhqa-index")
    parser.add_argument("--per-fold", type=int, default=400, help="train questions per set (sampled), validation 250")
    args = parser.parse_args()
    sets = {v.name: v for v in open_sets(args.shared, args.index_dir, VISIBLE_SETS)}
    index = {n: v.engine.loaded() for n, v in sets.items()}
    choice = load_choice(str(sets["seeds"].engine.settings.choice_model))
    rng = random.Random(7)
    rows = []
    for name, v in sets.items():
        pairs = list(zip(v.questions, v.folds))
        train, val = [p for p in pairs if p[1] != 0], [p for p in pairs if p[1] == 0]
        rng.shuffle(train)
        rng.shuffle(val)
        partner = sets[PARTNER[name]]
        for q, fold in train[: args.per_fold] + val[:250]:
            for engine_of, label in ((v, 1), (partner, 0)):
                x = signals(engine_of.engine, index[engine_of.name], q.question, choice)
                if x:
                    rows.append((name, fold, label, x))
        if name == "seeds":
            for q in load_questions(PROJECT_ROOT / "eval" / "seeds.jsonl"):
                if not q.docs:
                    x = signals(v.engine, index[name], q.question, choice)
                    if x:
                        rows.append((name, fold_of(q.id), 0, x))
    train = [r for r in rows if r[1] != 0]
    val = [r for r in rows if r[1] == 0]
    names = sorted({r[0] for r in rows})
    plain, plain_t = refit(train, reader=False)
    read, read_t = refit(train, reader=True)
    null_margin = sets["seeds"].engine.reader.config["null_margin"]
    print(f"refit threshold (train folds) {plain_t:.2f}; with the reader's signals {read_t:.2f}")
    print("validation fold: answered / abstained / balanced accuracy (answerable + unanswerable)")
    for label, score, t in (("hand-set, 0.6", lambda r: r[3][5], 0.6), ("refit", plain, plain_t),
                            ("refit with the reader's signals", read, read_t),
                            (f"the reader alone (margin > null_margin {null_margin})", lambda r: r[3][6], null_margin)):
        print(label)
        for s in names + ["all"]:
            sub = [r for r in val if s == "all" or r[0] == s]
            pos = np.mean([score(r) >= t for r in sub if r[2] == 1])
            neg = np.mean([score(r) < t for r in sub if r[2] == 0])
            n_pos, n_neg = sum(r[2] == 1 for r in sub), sum(r[2] == 0 for r in sub)
            print(f"  {s:16} {pos:.3f} / {neg:.3f} / {(pos + neg) / 2:.3f}  ({n_pos} + {n_neg})")


if __name__ == "__main__":
    main()
