"""Fit the learned confidence (qa/answer/confidence.py) and measure it: ``qa train-confidence``.

Protocol (the README's "Held-out discipline"):
- Rows: answerable questions of the seed set and the six public sets, each asked as the
  product asks it (retrieval, the picker, the reader's windows, the choice), and each asked a
  second time with its own articles left out of the search (``doc_ids``): a paired question the
  corpus cannot answer (dropped when the sentence shown holds the gold answer anyway, as another
  article may; none for RGB, NO_PAIRED). The seed questions written to have no answer are added.
- Two logistic regressions over CONFIDENCE_FEATURES: ``answer`` (target: the sentence shown
  holds the gold answer; 0 for the unanswerable rows) and ``span`` (target: the span's F1,
  on the answerable rows), each set weighing sqrt(its rows).
- Which rows teach: the train folds (1-4 of 5, by article; the seed questions by id) of the
  sets the reader never saw (seeds, RGB, and xquad-zh unless the reader read it), and the
  validation folds of the sets the reader was trained on (READER_SETS), lent: the reader read
  their train folds, so its scores there are surer than on new questions. A lent set is
  reported cross-fitted: each half of its validation fold (``qa.folds.validation_part``)
  answered by a model fitted without that half.
- The span model's features (SPAN_VARIANTS) are chosen by cross-validation over four parts of
  the teaching rows. The thresholds are chosen on the teaching rows for stated precisions:
  refuse only where NO_ANSWER_PRECISION of the questions refused are unanswerable and at most
  FALSE_NO_ANSWER_CAP of the answerable ones are refused; claim the span where the claimed
  spans reach a mean F1 of SPAN_PRECISION.
- Reported on the validation folds, which (for the seeds and RGB) chose nothing."""
from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import random
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from embeddings.atomic import write_text as atomic_write_text
from qa.answer.confidence import CONFIDENCE_FEATURES, FOREIGN_DENSE, FORMAT, MODEL_PATH, ConfidenceModel, Logistic
from qa.answer.snippets import draft
from qa.evaluate.run import COVERAGES, contains_answer, coverage_table, load_questions
from qa.folds import VALIDATION_FOLD, fold_of, validation_part
from qa.question.query import make_query
from qa.read.reader import MODEL_DIR as READER_DIR
from qa.read.reader import SETTINGS_FILE, trained_on
from qa.read.data import em_score, f1_score
from qa_train.sets import VISIBLE_SETS, listed, open_sets
from qa.settings import CHOICE_MODEL, FUSION_MODEL, PROJECT_ROOT

READER_SETS = trained_on()  # the sets the shipped reader was trained on: only their validation folds are lent

NO_ANSWER_PRECISION = 0.95  # of the questions refused, the share the corpus cannot answer
# ... and at most this share of the answerable questions refused (the bar: a false
# "no answer" for at most 1 in 37): the lower of the two thresholds is kept.
FALSE_NO_ANSWER_CAP = 0.025
SPAN_PRECISION = 0.90
L2 = 1e-2


@dataclass
class Row:
    """One question as asked: its features, whether the corpus can answer it (``answerable``),
    whether the sentence shown holds the answer, the span's EM and F1, and the reader's raw
    span score (to compare orderings)."""

    set: str
    fold: int
    id: str
    answerable: bool
    x: np.ndarray
    holds: bool
    em: float
    f1: float
    raw: float
    has_span: bool
    key: str = ""  # what its fold is a hash of (qa.folds): the article's title, a seed question's id

    @property
    def half(self) -> int:
        """Which half of the validation fold a lent row is in (qa.folds.validation_part 0-1 or 2-3)."""
        return validation_part(self.key) // 2


def _row(name, fold, qid, answerable, d, docs, q, key="") -> Row | None:
    if d is None or d.features is None:
        return None
    text = docs[d.first.hit.passage.doc_id].text[d.first.start : d.first.end]
    holds = bool(q.answer) and contains_answer(text, q.answer)
    if not answerable and holds:
        return None  # another article answers it: not an unanswerable question
    span = docs[d.found.hit.passage.doc_id].text[d.found.start : d.found.end] if d.found is not None else ""
    answers = q.answers or ((q.answer,) if q.answer else ())
    em = em_score(span, answers) if answerable and span else 0.0
    f1 = f1_score(span, answers) if answerable and span else 0.0
    return Row(name, fold, qid, answerable, d.features, holds and answerable, em, f1,
               d.found.score if d.found is not None else -30.0, d.found is not None, key)


# xquad-zh: professionally translated SQuAD, simplified. Where the reader never saw it, its train
# folds teach and its validation fold reports, as the seeds' and RGB's; where the reader was trained
# on its train folds (qa train-reader --xquad), its validation fold is lent, as CMRC's and DRCD's.
ALL_SETS = ("seeds", *VISIBLE_SETS, "xquad-zh")


def collect(shared: Path, base: Path, per_fold: int, names: tuple[str, ...] = ALL_SETS, seed: int = 7) -> list[Row]:
    """Rows of the sets ``names``: up to ``per_fold`` train questions a set (sampled) and up
    to ``per_fold`` validation ones, each asked as it is and with its articles left out."""
    rows: list[Row] = []
    for v in open_sets(shared, base, tuple(n for n in names if n != "seeds")):
        if v.name not in names:
            continue
        rng = random.Random(f"{seed}:{v.name}")  # each set's sample does not depend on which others are asked
        started = time.perf_counter()
        engine = v.engine
        engine.settings = replace(engine.settings, reader=True, confidence_model=None)
        index = engine.loaded()
        all_docs = list(index.data.documents)
        items = list(zip(v.questions, v.folds, v.keys))
        train = [it for it in items if it[1] != VALIDATION_FOLD]
        valid = [it for it in items if it[1] == VALIDATION_FOLD]
        rng.shuffle(train)
        rng.shuffle(valid)
        # The reader was trained on these sets' train folds: their rows would teach a trust in it
        # that new questions do not earn, so only their validation fold is asked (and lent).
        chosen = ([] if v.name in READER_SETS else train[:per_fold]) + valid[:per_fold]
        if v.name == "seeds":  # the seed questions written to have no answer
            chosen += [(q, fold_of(q.id), q.id) for q in load_questions(PROJECT_ROOT / "eval" / "seeds.jsonl") if not q.docs]
        vectors = engine.encoder.encode_queries([make_query(q.question).normalized for q, _, _ in chosen])
        for (q, fold, key), vec in zip(chosen, vectors):
            query = make_query(q.question)
            found = engine.retrieve(query, k=10, mode="hybrid", query_vector=vec, index=index)
            read, choice = engine.reading(found.query)
            docs = found.data.documents
            answerable = bool(q.docs)
            r = _row(v.name, fold, q.id, answerable, draft(found.query, found.hits, found.evidence, read, choice), docs, q, key)
            if r is not None:
                rows.append(r)
            if answerable:
                others = [d for d in all_docs if d not in set(q.docs)]
                found = engine.retrieve(query, k=10, mode="hybrid", doc_ids=others, query_vector=vec, index=index)
                d = draft(found.query, found.hits, found.evidence, read, choice)
                r = _row(v.name, fold, q.id + "/paired", False, d, docs, q, key)
                if r is not None:
                    rows.append(r)
        print(f"{v.name}: {len(chosen)} questions asked twice in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return rows


def _weights(rows: list[Row]) -> np.ndarray:
    """Each set weighs sqrt(its rows); inside a set every row the same; mean weight 1."""
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.set] = counts.get(r.set, 0) + 1
    w = np.array([np.sqrt(counts[r.set]) / counts[r.set] for r in rows])
    return w * len(rows) / w.sum()


def fit_logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = L2, use: tuple[str, ...] | None = None) -> Logistic:
    """Weighted logistic regression (soft targets allowed) on standardised features, L2 on the
    weights (not the bias), scipy's L-BFGS; ``use``: only these features (the others weigh 0)."""
    mean = x.mean(0)
    scale = x.std(0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    if use is not None:
        z = z * np.array([f in use for f in CONFIDENCE_FEATURES], dtype=np.float64)
    n, d = z.shape

    def loss(theta):
        a = z @ theta[:d] + theta[d]
        p = 1.0 / (1.0 + np.exp(-a))
        # log(1 + e^a) - y a, computed stably
        value = (w * (np.logaddexp(0.0, a) - y * a)).sum() / n + l2 * theta[:d] @ theta[:d]
        g = w * (p - y) / n
        return value, np.concatenate([z.T @ g + 2 * l2 * theta[:d], [g.sum()]])

    res = minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B")
    return Logistic(CONFIDENCE_FEATURES, mean, scale, res.x[:d], float(res.x[d]))


def _lowest_threshold(p: np.ndarray, good: np.ndarray, w: np.ndarray, target: float) -> float:
    """The lowest threshold t at which the rows with p >= t have a weighted mean of ``good``
    of at least ``target`` (1.0 when none does)."""
    order = np.argsort(-p)
    cum = np.cumsum(w[order] * good[order]) / np.cumsum(w[order])
    ok = np.nonzero(cum >= target)[0]
    if not len(ok):
        return 1.0
    return float(p[order][ok.max()])


def _capped_threshold(p: np.ndarray, w: np.ndarray, cap: float) -> float:
    """The highest threshold t at which the rows with p < t weigh at most ``cap`` of all."""
    order = np.argsort(p, kind="stable")
    share = np.cumsum(w[order]) / w.sum()
    below = int(np.searchsorted(share, cap, side="right"))  # rows 0..below-1 weigh <= cap
    return float(p[order][below]) if below < len(order) else float(p[order][-1]) + 1e-9


def _highest_threshold(p: np.ndarray, good: np.ndarray, w: np.ndarray, target: float) -> float:
    """The highest threshold t at which the rows with p < t have a weighted mean of ``good``
    of at least ``target`` (0.0, refusing nothing, when none does)."""
    order = np.argsort(p)
    cum = np.cumsum(w[order] * good[order]) / np.cumsum(w[order])
    ok = np.nonzero(cum >= target)[0]
    if not len(ok):
        return 0.0
    i = ok.max()
    return float(p[order][i + 1]) if i + 1 < len(order) else float(p[order][i]) + 1e-9


# The span model's candidate feature sets, chosen between by cross-validation on the teaching
# rows (``span_features``): all, or those that speak of the span itself (the reader, the
# choice, the kind of question).
SPAN_VARIANTS = {
    "all": CONFIDENCE_FEATURES,
    "reader": ("span_score", "span_margin", "span_log_chars", "span_is_sentence_best", "choice_margin",
               "choice_is_picker_first", "shown_fits_type", "foreign", "asks_count", "asks_time", "asks_identity",
               "asks_list", "span_in_question", "span_fits_type", "span_agreement", "span_has_punct"),
}


def part_of(r: Row) -> int:
    """The cross-validation part of a teaching row: its train fold (1-4), or for a lent row
    1 + its part of the validation fold."""
    return r.fold if r.fold != VALIDATION_FOLD else 1 + validation_part(r.key)


def span_features(rows: list[Row]) -> tuple[str, dict[str, float]]:
    """The span feature set (SPAN_VARIANTS) with the larger risk-coverage area over the
    answerable rows, each of four parts scored by a span model fitted on the other three."""
    areas = {}
    for name, use in SPAN_VARIANTS.items():
        conf, f1 = [], []
        for part in (1, 2, 3, 4):
            fit_rows = [r for r in rows if part_of(r) != part and r.answerable and r.has_span]
            held = [r for r in rows if part_of(r) == part and r.answerable]
            if not fit_rows or not held:
                continue
            model = fit_logistic(np.stack([r.x for r in fit_rows]), np.array([r.f1 for r in fit_rows]),
                                 _weights(fit_rows), use=use)
            conf += [float(model.probability(r.x)[0]) if r.has_span else 0.0 for r in held]
            f1 += [r.f1 for r in held]
        areas[name] = risk_coverage(np.array(conf), np.array(f1))["area"] or 0.0
    return max(areas, key=lambda k: (areas[k], k == "reader")), areas


def fit(rows: list[Row], span_use: str = "all") -> ConfidenceModel:
    """The two models and their thresholds. ``answer`` learns from every row; ``span`` (over the
    features SPAN_VARIANTS[span_use]) from the answerable rows with a span (whether a span is
    right is asked only of an answered question; the unanswerable ones are the answer
    threshold's to refuse)."""
    x = np.stack([r.x for r in rows])
    w = _weights(rows)
    holds = np.array([float(r.holds) for r in rows])
    f1 = np.array([r.f1 for r in rows])
    unanswerable = np.array([float(not r.answerable) for r in rows])
    # Questions in another language are answered by the dense rule (confidence.FOREIGN_DENSE).
    chinese = x[:, CONFIDENCE_FEATURES.index("foreign")] == 0
    answer = fit_logistic(x[chinese], holds[chinese], w[chinese])
    span_rows = np.array([r.has_span and r.answerable for r in rows])
    span = fit_logistic(x[span_rows], f1[span_rows], w[span_rows], use=SPAN_VARIANTS[span_use])
    p_answer = answer.probability(x)
    t_answer = min(_highest_threshold(p_answer[chinese], unanswerable[chinese], w[chinese], NO_ANSWER_PRECISION),
                   _capped_threshold(p_answer[chinese & (unanswerable == 0)], w[chinese & (unanswerable == 0)],
                                     FALSE_NO_ANSWER_CAP))
    p_answer[~chinese] = np.where(x[~chinese, CONFIDENCE_FEATURES.index("dense_top")] >= FOREIGN_DENSE, 1.0, 0.0)
    answered = (p_answer >= t_answer) & span_rows
    p_span = span.probability(x)
    t_span = _lowest_threshold(p_span[answered], f1[answered], w[answered], SPAN_PRECISION)
    return ConfidenceModel(answer, span, t_answer, t_span)


def risk_coverage(conf: np.ndarray, f1: np.ndarray, coverages=COVERAGES) -> dict:
    """F1 of the spans shown when the most confident share c of the answerable questions get
    theirs, for each c, and the area under that curve (as `qa eval`: coverage_table)."""
    order = np.argsort(-conf, kind="stable")
    table, area = coverage_table([float(v) for v in f1[order]], coverages)
    return {"table": table, "area": area}


def measure(rows: list[Row], model) -> dict:
    """Over ``rows``: answer@1 (the sentence shown holds the answer, abstentions missed), false
    "no answer" on answerable questions, abstention on the unanswerable ones, the share of
    answerable questions whose span is claimed (coverage) and those spans' EM and F1, and
    the risk-coverage table ordered by the span confidence and by the reader's raw score.
    ``model``: a ConfidenceModel, or a function giving each row the one that answers it."""
    pos = [r for r in rows if r.answerable]
    neg = [r for r in rows if not r.answerable]
    out: dict = {"answerable": len(pos), "unanswerable": len(neg)}
    decided = {id(r): (model(r) if callable(model) else model).decide(r.x) for r in rows}
    out["answer@1"] = round(float(np.mean([decided[id(r)].answered and r.holds for r in pos])), 4) if pos else None
    out["false_no_answer"] = round(float(np.mean([not decided[id(r)].answered for r in pos])), 4) if pos else None
    out["abstain"] = round(float(np.mean([not decided[id(r)].answered for r in neg])), 4) if neg else None
    shown = [r for r in pos if decided[id(r)].span_shown]
    out["span_coverage"] = round(len(shown) / len(pos), 4) if pos else None
    out["shown_em"] = round(float(np.mean([r.em for r in shown])), 4) if shown else None
    out["shown_f1"] = round(float(np.mean([r.f1 for r in shown])), 4) if shown else None
    out["sentence_only"] = round(float(np.mean([decided[id(r)].answered and not decided[id(r)].span_shown for r in pos])), 4) if pos else None
    out["all_f1"] = round(float(np.mean([r.f1 for r in pos])), 4) if pos else None
    f1 = np.array([r.f1 for r in pos])
    out["risk_coverage"] = risk_coverage(np.array([decided[id(r)].span_p for r in pos]), f1)
    out["risk_coverage_raw_score"] = risk_coverage(np.array([r.raw for r in pos]), f1)
    return out


def models_asked_with() -> str:
    """A short digest of the shipped models a row's question is answered with (the fusion, the
    reader and the sentence choice): a retrained one makes the cached rows stale."""
    digest = hashlib.sha256()
    for path in (FUSION_MODEL, READER_DIR / SETTINGS_FILE, CHOICE_MODEL):  # reader.json holds the graph's sha256
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def rows_of(shared: Path, base: Path, per_fold: int, cache: Path | None, names: tuple[str, ...] = ALL_SETS,
            ask: bool = True) -> list[Row]:
    """Every set's rows, from ``cache`` (one file a set and sample size) when asked before;
    without ``ask``, the sets not in the cache are left out, and a set cached only with other
    models or features stops the fit (its stale rows would be left out unseen)."""
    rows: list[Row] = []
    asked_with = models_asked_with()
    for name in names:
        # keyed by the model's format, which changes with the features' meaning, and by the models
        # that answer the question: rows asked with other features or other models are asked again
        path = cache / f"{name}-{per_fold}-f{FORMAT}-{asked_with}.pkl" if cache is not None else None
        asked = sorted(cache.glob(f"{name}-*-f{FORMAT}-{asked_with}.pkl")) if cache is not None else []
        if asked:  # asked before, perhaps with another sample size (the card says which)
            rows += pickle.loads(asked[0].read_bytes())
            continue
        if not ask:
            if cache is not None and any(cache.glob(f"{name}-*.pkl")):
                raise SystemExit(f"The cached rows of {name} in {cache} were asked with other models or features; "
                                 "run without --cached-only to ask them again.")
            continue
        got = collect(shared, base, per_fold, (name,))
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(pickle.dumps(got))
        rows += got
    return rows


# RGB news gives each question many articles of the same event, and its distractors often hold
# the gold answer too (1,401 of 2,465, found when the reader's template questions were built):
# a question with its own articles left out is not one the corpus cannot answer, so RGB
# lends no paired unanswerable rows (its answerable rows stay).
NO_PAIRED = ("rgb-news-a",)


def usable(rows: list[Row]) -> list[Row]:
    """``rows`` without the paired rows of the sets whose other articles may answer them (NO_PAIRED)."""
    return [r for r in rows if r.answerable or r.set not in NO_PAIRED]


def teaching(rows: list[Row]) -> list[Row]:
    """The rows a fit may learn from: the train folds of the sets the reader never saw, and the
    validation folds of those it was trained on (lent: the only questions of their kind it
    never saw; reported cross-fitted)."""
    return [r for r in rows if (r.fold != VALIDATION_FOLD) != (r.set in READER_SETS)]


def fill_keys(rows: list[Row], shared: Path) -> None:
    """The fold key of rows asked before keys were kept: a seed question's id, else its
    article's title (as qa.evaluate.run.question_key); checked against the row's fold."""
    titles: dict[str, dict[str, str]] = {}
    for r in rows:
        if r.key:
            continue
        qid = r.id.split("/")[0]
        if r.set == "seeds":
            r.key = qid
        else:
            if r.set not in titles:
                folder = shared / "eval" / r.set
                title = {}
                for line in (folder / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
                    if line.strip():
                        doc = json.loads(line)
                        title[str(doc["id"])] = doc.get("title") or str(doc["id"])
                key_of = {}
                for q in load_questions(folder / "questions.jsonl"):
                    if q.docs:
                        key_of[q.id] = title.get(q.docs[0], q.docs[0])
                titles[r.set] = key_of
            r.key = titles[r.set][qid]
        if fold_of(r.key) != r.fold:
            raise ValueError(f"{r.set} {r.id}: its fold key does not give its fold")


def train_confidence(shared: Path, base: Path, out: Path = MODEL_PATH, per_fold: int = 300,
                     cache: Path | None = None, ask: bool = True) -> dict:
    started = time.perf_counter()
    rows = usable(rows_of(shared, base, per_fold, cache, ask=ask))
    fill_keys(rows, shared)
    teach = teaching(rows)
    span_use, span_cv = span_features(teach)
    model = fit(teach, span_use)
    sets = [s for s in ALL_SETS if any(r.set == s for r in rows)]
    valid = [r for r in rows if r.fold == VALIDATION_FOLD]
    # A lent set's validation half is answered by a model fitted without that half.
    halves = {h: fit([r for r in teach if not (r.set in READER_SETS and r.half == h)], span_use) for h in (0, 1)}

    def answering(r: Row) -> ConfidenceModel:
        return halves[r.half] if r.set in READER_SETS else model

    counts = {s: {"answerable": sum(r.set == s and r.answerable for r in teach),
                  "unanswerable": sum(r.set == s and not r.answerable for r in teach),
                  "folds": "0 of 5 (lent)" if s in READER_SETS else "1-4 of 5"} for s in sets}
    about = {
        "trained_on": {"sets": sets, "rows": counts, "per_fold_cap": per_fold, "l2": L2,
                       "no_answer_precision": NO_ANSWER_PRECISION, "false_no_answer_cap": FALSE_NO_ANSWER_CAP,
                       "span_precision": SPAN_PRECISION,
                       "reader_trained_on": sorted(READER_SETS)},
        "span_features": {"chosen": span_use, "cv_risk_coverage_area": span_cv,
                          "rule": "mean F1 over coverages of the answerable teaching rows, four parts, each scored "
                                  "by a span model fitted on the other three"},
        "teaching_rows_in_sample": measure(teach, model),
        "validation": {s: measure([r for r in valid if r.set == s], answering) for s in sets},
        "validation_all": measure(valid, answering),
        "seconds": round(time.perf_counter() - started, 1),
    }
    atomic_write_text(Path(out), json.dumps(model.to_json(**about), ensure_ascii=False, indent=1) + "\n")
    atomic_write_text(Path(out).with_name("CONFIDENCE_CARD.md"), card(model, about))
    return about


def _fmt(v) -> str:
    return "–" if v is None else f"{v:.3f}"


def card(model: ConfidenceModel, about: dict) -> str:
    sets = about["trained_on"]["sets"]
    lent = [s for s in sets if s in about["trained_on"]["reader_trained_on"]]
    own = [s for s in sets if s not in lent]
    lines = [
        "# Model card: how sure the answer shown is (`confidence.json`)",
        "",
        "Written by `qa train-confidence` (qa_train/confidence.py) with the model; do not edit by hand.",
        "",
        "**What it is.** `qa/answer/confidence.py`: two logistic regressions over "
        f"{len(CONFIDENCE_FEATURES)} standardised features of one question, all from what the question path",
        "already computed (the reader's span score and its margin over no-answer, the choice's margin, the",
        "sentence evidence's similarity, the share of the question's words a sentence holds (each word alike, no",
        "idf), the top passage's dense similarity, BM25 coverage of the question's words, whether dense and BM25",
        "agree on the first passage, the question's type, and the span's own text: how much of it the question",
        "holds, whether it can hold the kind of answer asked, whether other sentences' spans say the same,",
        "whether it runs across a clause mark). No feature is a corpus-wide statistic an upload moves.",
        "`answer`: the probability that the sentence shown first holds the answer; `span`: the expected F1 of the reader's span in it. Three outcomes: below "
        f"{model.answer_threshold:.3f} (`answer`) no answer; else the sentence is the answer, and the span is claimed",
        f"(bold) when `span` reaches {model.span_threshold:.3f}.",
        "",
        f"**Training data.** Folds 1-4 of {listed(own)}, and fold 0 (the validation",
        f"fold) of {listed(lent)}, lent (below); up to "
        f"{about['trained_on']['per_fold_cap']} questions sampled a set and fold, each asked as it is and again with",
        "its own articles left out of the search (a paired unanswerable question; dropped when another",
        "article's sentence holds the answer anyway, and for RGB, whose other articles of the same event",
        "often hold the answer), plus the seed questions written to have no answer:",
        "",
        "| set | folds | answerable | unanswerable |",
        "|---|---|---|---|",
    ]
    for s, n in about["trained_on"]["rows"].items():
        lines.append(f"| {s} | {n['folds']} | {n['answerable']} | {n['unanswerable']} |")
    lines += [
        "",
        f"**Thresholds, chosen on the teaching rows.** No answer: the highest at which {NO_ANSWER_PRECISION:.0%} of the questions",
        f"refused are ones the corpus cannot answer and at most {FALSE_NO_ANSWER_CAP:.1%} of the answerable ones are refused (a",
        "false \"no answer\" costs the reader a right answer). Span: the",
        f"lowest at which the answered spans claimed have a mean F1 of {SPAN_PRECISION:.2f}. Each set weighs sqrt(its rows).",
        "`span` is fitted on the answerable rows only: whether a span is right is asked only of an answered question.",
        "",
        f"The reader was trained on the train folds of {listed(lent)}, so its scores there are surer than on",
        "new questions (a first fit on them claimed 95% of the CMRC trial validation spans at F1 0.68):",
        "those folds are not used. Their validation folds are the only questions of their kind the reader",
        "never saw, so they are lent to the fit, as `qa train-choice` does, and reported cross-fitted: each",
        "is split in two halves by article (`qa.folds.validation_part`) and each half is answered by a model",
        "fitted, thresholds too, without it.",
        "",
        "## Validation fold (fold 0 of 5): no question answered by a fit that saw it",
        "",
        f"Answered by the shipped model: {listed(own)}; cross-fitted (above): {listed(lent)}.",
        "",
        "false no-answer: answerable questions answered \"no answer\"; abstain: unanswerable (paired) questions",
        "declined; span coverage: answerable questions whose span is claimed; shown EM/F1: over those spans only;",
        "sentence only: answered with the sentence, the span not claimed.",
        "",
        "| set | answerable + unanswerable | answer@1 | false no-answer | abstain | span coverage | shown EM / F1 | sentence only |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s, m in list(about["validation"].items()) + [("all", about["validation_all"])]:
        lines.append(f"| {s} | {m['answerable']} + {m['unanswerable']} | {_fmt(m['answer@1'])} | {_fmt(m['false_no_answer'])} | "
                     f"{_fmt(m['abstain'])} | {_fmt(m['span_coverage'])} | {_fmt(m['shown_em'])} / {_fmt(m['shown_f1'])} | "
                     f"{_fmt(m['sentence_only'])} |")
    lines += [
        "",
        "## Risk and coverage (validation fold)",
        "",
        "F1 of the spans shown when only the most confident share of the answerable questions get theirs, ordered",
        "by the `span` confidence and, for comparison, by the reader's raw span score; area: mean over all coverages.",
        "",
        "| set | ordering | " + " | ".join(f"{c:.0%}" for c in COVERAGES) + " | area |",
        "|---|---|" + "---|" * (len(COVERAGES) + 1),
    ]
    for s, m in list(about["validation"].items()) + [("all", about["validation_all"])]:
        for label, key in (("confidence", "risk_coverage"), ("raw span score", "risk_coverage_raw_score")):
            rc = m[key]
            lines.append(f"| {s} | {label} | " + " | ".join(_fmt(rc['table'].get(f'{c:.0%}')) for c in COVERAGES)
                         + f" | {_fmt(rc['area'])} |")
    lines += ["", "## Weights (on standardised features)", "", "| feature | answer | span |", "|---|---|---|"]
    lines += [f"| `{f}` | {a:+.3f} | {b:+.3f} |" for f, a, b in zip(CONFIDENCE_FEATURES, model.answer.weights, model.span.weights)]
    lines += [f"| bias | {model.answer.bias:+.3f} | {model.span.bias:+.3f} |", "",
              "## Reproduce", "", "```",
              f"qa train-confidence --shared ../shared --per-fold {about['trained_on']['per_fold_cap']} --cache DIR",
              "```",
              "Asking the rows is most of it: about 8 minutes a process on the 2-core AMD EPYC this was fitted on, with",
              "`--collect` running half the sets in each of two processes (indexing RGB's 3,764 articles the longest);",
              f"the fit from the cached rows (`--cached-only`) took {about['seconds']:.0f} s. It reads with the shipped",
              "fusion, reader and choice: refit whenever one changes (cached rows are keyed by them).", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="qa train-confidence", description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=PROJECT_ROOT.parent / "shared")
    parser.add_argument("--index-dir", type=Path, default=PROJECT_ROOT / ".zhqa-index",
                        help="where the evaluation corpora's cached indexes live (as qa train-fusion)")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument("--per-fold", type=int, default=300, help="questions sampled a set from its train and its validation folds")
    parser.add_argument("--cache", type=Path, default=None,
                        help="a folder: keep each set's asked rows there and reuse them while the fusion, reader and "
                             "choice are unchanged (a refit then asks nothing)")
    parser.add_argument("--collect", nargs="+", choices=ALL_SETS, default=None,
                        help="only ask these sets' questions into --cache, fit nothing")
    parser.add_argument("--cached-only", action="store_true", help="fit on the sets already in --cache, asking nothing")
    args = parser.parse_args(argv)
    if args.per_fold < 1:
        parser.error("--per-fold must be at least 1")
    if args.collect:
        if args.cache is None:
            parser.error("--collect needs --cache")
        rows = rows_of(args.shared, args.index_dir, args.per_fold, args.cache, tuple(args.collect))
        print(f"{len(rows)} rows", file=sys.stderr)
        return 0
    about = train_confidence(args.shared, args.index_dir, args.out, args.per_fold, args.cache, ask=not args.cached_only)
    print(json.dumps({k: about[k] for k in ("validation_all", "validation")}, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
