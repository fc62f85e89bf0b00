"""Train the learned fusion (qa/retrieve/fusion.py) on the train folds of the visible
evaluation sets, and measure it on their validation folds: ``qa train-fusion``.

Protocol (the README's "The numbers, and which data chose what"): every set is split by article
(``qa.folds``: fold 0 of 5 is validation); the features, the loss, the set weighting and the
regularisation were fixed before any validation number was seen, the weights are fitted on
the train folds only, and the numbers written into the model file and its card are the
validation folds'. Each corpus gets its own cached index beside the main one (as
``qa eval --corpus`` does), so a second run encodes nothing."""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from embeddings.atomic import write_text as atomic_write_text
from qa.engine import QA
from qa.evaluate.run import EvalQuestion, evaluate, rank_metrics, relevant_pids
from qa.folds import FOLDS
from qa.question.query import make_query, with_name_aliases
from qa.ranker import LinearRanker
from qa.retrieve.fusion import (
    FUSION_FEATURES,
    MODEL_PATH,
    RERANK_FEATURES,
    FusionModel,
    load_model,
    rerank_features,
)
from qa.retrieve.rerank import best_sentences
from qa.retrieve.search import Retriever
from qa.retrieve.sentences import SentenceEvidence
from qa.settings import PROJECT_ROOT, Settings
from qa_train.listwise import listwise_fit
from qa_train.sets import VISIBLE_SETS, Groups, Visible, open_sets

L2 = 1e-3


def _prepared(engine: QA, qs: list[EvalQuestion]):
    """(question, Query as asked, its vector, relevant rows) of each question."""
    data = engine.data()
    asked = [make_query(q.question) for q in qs]
    vectors = engine.encoder.encode_queries([a.normalized for a in asked]) if qs else []
    for q, query, vector in zip(qs, asked, vectors):
        relevant = {data.row_of[int(pid)] for pid in relevant_pids(data, q)}
        yield q, with_name_aliases(query, data), vector, relevant


def _weight(v: Visible, fold: int) -> float:
    return 1.0 / np.sqrt(max(len(v.outside(fold)), 1))  # larger sets count more, but not in proportion


def pool_rows(sets: list[Visible], extra=None) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    """Stage-1 features and relevance of every candidate of every question, by (set, id).
    ``extra(query, data, pool)``, when given, returns more feature columns for the pool's
    candidates (rows in pool order), appended after FUSION_FEATURES: how a feature is tried
    before it joins the model (eval/fusion_phrase_cv.py)."""
    out = {}
    for v in sets:
        data = v.engine.data()
        retriever = Retriever(data, v.engine.encoder, v.engine.settings)
        n = v.engine.settings.candidates
        for q, query, vector, relevant in _prepared(v.engine, v.questions):
            keywords, pool, dense_rank, bm25_rank, bm25_of = retriever.candidate_pool(query, n, "hybrid", None, vector)
            bm25 = np.array([bm25_of[r] for r in pool.tolist()], dtype=np.float64)
            x, _ = retriever.pool_features(query, keywords, pool, vector, bm25, dense_rank, bm25_rank)
            if extra is not None:
                x = np.hstack([x, np.asarray(extra(query, data, pool), dtype=np.float64).reshape(len(x), -1)])
            out[(v.name, q.id)] = (x, np.array([r in relevant for r in pool.tolist()]))
    return out


def fit(sets: list[Visible], pools: dict, held_out: int) -> FusionModel:
    """Both stages, fitted on every question outside fold ``held_out``."""
    first = Groups()
    for v in sets:
        for q in v.outside(held_out):
            first.add(*pools[(v.name, q.id)], _weight(v, held_out))
    x, rel, starts, weight = first.stacked()
    fusion = listwise_fit(x, rel, starts, FUSION_FEATURES, L2, weight)
    second = Groups()
    for v in sets:
        data = v.engine.data()
        settings = replace(v.engine.settings, fusion="learned")
        retriever = Retriever(data, v.engine.encoder, settings, model=FusionModel(fusion, _stage_one_only()))
        for _q, query, vector, relevant in _prepared(v.engine, v.outside(held_out)):
            hits = retriever.search(query, k=settings.rerank_depth, mode="hybrid", query_vector=vector)
            sim, cov, fits = best_sentences(hits, SentenceEvidence(query, data, vector))
            x2 = rerank_features(np.array([h.score for h in hits]), sim, cov, fits)
            second.add(x2, np.array([data.row_of[h.passage.pid] in relevant for h in hits]), _weight(v, held_out))
    x2, rel2, starts2, weight2 = second.stacked()
    print(f"held-out fold {held_out}: fusion stage {len(starts)} questions ({len(x)} candidates), "
          f"rerank stage {len(starts2)} questions", file=sys.stderr)
    return FusionModel(fusion, listwise_fit(x2, rel2, starts2, RERANK_FEATURES, L2, weight2))


LABELS = (("learned", "learned", "hybrid"), ("weighted", "weighted", "hybrid"), ("dense", "learned", "dense"), ("bm25", "learned", "bm25"))


def _results(v: Visible, qs: list[EvalQuestion], model_path: Path, labels=LABELS) -> dict[str, list]:
    out = {}
    for label, fusion, mode in labels:
        engine = QA(replace(v.engine.settings, fusion=fusion, fusion_model=model_path), encoder=v.engine.encoder)
        out[label] = evaluate(engine, qs, [mode], k=10).modes[mode]["results"]
    return out


def _summary(results: dict[str, list]) -> dict:
    row = {}
    for label, rs in results.items():
        row["questions"] = len(rs)
        row[label] = rank_metrics(rs)
    return row


def validate(sets: list[Visible], model_path: Path) -> dict[str, dict]:
    """Validation-fold (fold 0) Recall@1, MRR@10 and answer@1 per set: learned hybrid, the
    hand-set weighted hybrid it replaces, dense and BM25 alone."""
    return {v.name: _summary(_results(v, v.inside(0), model_path)) for v in sets if v.inside(0)}


def cross_validate(sets: list[Visible], pools: dict, names: tuple[str, ...], work: Path, shipped: Path) -> dict[str, dict]:
    """Five-fold cross-validation for the small sets, whose fold 0 alone is a few dozen
    questions: each fold is answered by a model fitted without it (all sets' other folds)."""
    small = [v for v in sets if v.name in names]
    if not small:
        return {}
    learned: dict[str, list] = {v.name: [] for v in small}
    for fold in range(FOLDS):
        path = shipped
        if fold != 0:
            path = work / f"fusion-without-fold-{fold}.json"
            atomic_write_text(path, json.dumps(fit(sets, pools, fold).to_json(), ensure_ascii=False))
        for v in small:
            learned[v.name] += _results(v, v.inside(fold), path, LABELS[:1])["learned"]
    out = {}
    for v in small:
        rest = _results(v, v.questions, shipped, LABELS[1:])  # these do not depend on the folds
        out[v.name] = _summary({"learned": learned[v.name], **rest})
    return out


def table(results: dict[str, dict], what: str) -> str:
    header = (f"| set ({what}) | questions | learned R@1 | weighted R@1 | dense R@1 | BM25 R@1 | learned MRR@10 | "
              "weighted MRR@10 | dense MRR@10 | BM25 MRR@10 | learned answer@1 | weighted answer@1 |")
    lines = [header, "|" + "---|" * 12]
    for name, row in results.items():
        cells = [name, str(row["questions"])]
        cells += [f"{row[m]['recall@1']:.3f}" for m in ("learned", "weighted", "dense", "bm25")]
        cells += [f"{row[m]['mrr@10']:.3f}" for m in ("learned", "weighted", "dense", "bm25")]
        cells += [f"{row[m]['answer@1']:.3f}" for m in ("learned", "weighted")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="qa train-fusion", description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=PROJECT_ROOT.parent / "shared", help="the shared data folder (default ../shared)")
    parser.add_argument("--index-dir", type=Path, default=None, help="where each corpus gets its cached index (default: the main index folder)")
    parser.add_argument("--out", type=Path, default=MODEL_PATH, help=f"the model file to write (default {MODEL_PATH})")
    parser.add_argument("--sets", default=",".join(VISIBLE_SETS), help="visible sets to train on, comma-separated (the seeds always)")
    parser.add_argument("--cv", default="rgb-news-a,seeds", help="small sets also measured by 5-fold cross-validation")
    parser.add_argument("--no-validate", action="store_true", help="fit only; skip the evaluations")
    args = parser.parse_args(argv)
    names = tuple(s for s in args.sets.split(",") if s)
    if names and not (args.shared / "eval").is_dir():
        print(f"error: no evaluation sets in {args.shared / 'eval'}; give --shared the folder that holds eval/.", file=sys.stderr)
        return 1
    started = time.perf_counter()
    base = args.index_dir or Settings().index_dir
    sets = open_sets(args.shared, base, names)
    pools = pool_rows(sets)
    model = fit(sets, pools, held_out=0)
    about = {"trained_on": {v.name: len(v.outside(0)) for v in sets}, "l2": L2,
             "protocol": "fitted on folds 1-4 (qa.folds: by article title; the seed questions by id) of the visible sets; "
                         "validation: fold 0; cross_validation: each fold answered by a model fitted without it"}
    atomic_write_text(args.out, json.dumps(model.to_json(**about), ensure_ascii=False, indent=1))
    if not args.no_validate:
        load_model.cache_clear()
        about["validation"] = validate(sets, args.out)
        print(table(about["validation"], "validation fold"))
        with tempfile.TemporaryDirectory() as work:
            about["cross_validation"] = cross_validate(sets, pools, tuple(args.cv.split(",")), Path(work), args.out)
        if about["cross_validation"]:
            print(table(about["cross_validation"], "5-fold cross-validation"))
        atomic_write_text(args.out, json.dumps(model.to_json(**about), ensure_ascii=False, indent=1))
    print(f"wrote {args.out} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


def _stage_one_only() -> LinearRanker:
    """A rerank stage that keeps stage 1's order (score = its own gap to the top)."""
    n = len(RERANK_FEATURES)
    weights = np.zeros(n)
    weights[RERANK_FEATURES.index("fusion_gap")] = 1.0
    return LinearRanker(RERANK_FEATURES, np.zeros(n), np.ones(n), weights)


if __name__ == "__main__":
    raise SystemExit(main())
