"""Retrieval evaluation, per question: is a passage that holds the answer retrieved, at
which rank, does the first snippet contain the answer, and does the system abstain when
the corpus has no answer. Metrics are computed with ranx."""
from __future__ import annotations

import json
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from qa.errors import BadQuestion, CorpusError
from qa.folds import FOLDS, fold_of
from qa.question.query import make_query
from qa.read.data import em_score, f1_score
from qa.settings import MODES
from qa.text.gloss import strip_glosses
from qa.text.normalize import normalize

RANX_METRICS = {"recall@1": "hit_rate@1", "recall@5": "hit_rate@5", "recall@10": "hit_rate@10",
                "mrr@10": "mrr@10", "ndcg@10": "ndcg@10"}
METRICS = list(RANX_METRICS) + ["answer@1", "exact_match", "f1", "abstain", "false_no_answer", "span_coverage",
                                "shown_em", "shown_f1", "risk_coverage_area"]
COVERAGES = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)  # of the risk-coverage table
SPLITS = ("all", "train", "validation")
ENCODE_BATCH = 128


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    docs: tuple[str, ...] | None  # None: the corpus has no answer
    answer: str | None
    type: str | None = None
    answers: tuple[str, ...] = ()  # every gold answer (the answer span is scored against the best)


@dataclass
class QuestionResult:
    id: str
    question: str
    type: str | None
    expected_docs: list[str] | None
    expected_answer: str | None
    rank: int | None = None  # rank of the first relevant passage within the top k
    answered: bool = False
    answer_hit: bool | None = None  # first snippet contains the answer (answerable questions)
    top_doc: str | None = None
    top_passage: str | None = None
    top_snippet: str | None = None
    answer_text: str | None = None  # the reader's answer span
    answer_score: float | None = None  # its score, log P(start) + log P(end)
    exact_match: float | None = None  # of the answer span (CMRC 2018 definition), answerable questions
    f1: float | None = None
    span_shown: bool = False  # the span was claimed as the answer (bold), not only the sentence shown
    confidence: float | None = None  # the learned confidence in what was shown (None without the model)
    span_confidence: float | None = None  # the expected F1 of the reader's span, shown or not
    error: str | None = None


@dataclass
class EvalReport:
    questions: int
    k: int
    modes: dict[str, dict] = field(default_factory=dict)  # mode → {"metrics", "by_type", "results"}
    comparison: str | None = None
    folds: dict[str, dict] = field(default_factory=dict)  # mode -> by_fold(); empty unless asked for
    seconds: float = 0.0
    encode_seconds: float = 0.0  # of which: encoding the questions

    def to_json(self) -> dict:
        # No timings: the same index and questions give byte-identical JSON (the seconds
        # are printed and go in the HTML report).
        out = {"questions": self.questions, "k": self.k}
        for mode, block in self.modes.items():
            out[mode] = {**block["metrics"], "by_type": block["by_type"], "recall_curve": block["curve"],
                         "per_question": [asdict(r) for r in block["results"]]}
            if mode in self.folds:
                out[mode]["by_fold"] = self.folds[mode]
        if self.comparison:
            out["comparison"] = self.comparison
        return out


def load_questions(path: Path) -> list[EvalQuestion]:
    """Questions in the format of ../shared/eval/*/questions.jsonl."""
    out = []
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"Cannot read the question file {path}; give a UTF-8 JSON Lines file.") from exc
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            doc = row.get("doc")
            docs = None if doc is None else tuple(str(d) for d in doc) if isinstance(doc, list) else (str(doc),)
            answers = tuple(str(a) for a in row.get("answers") or ([row["answer"]] if row.get("answer") else []))
            out.append(EvalQuestion(str(row["id"]), row["question"], docs, row.get("answer"), row.get("type"), answers))
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise CorpusError(f"{path}:{lineno} is not a question record (id, question, doc, answer); fix or remove that line.") from exc
    if not out:
        raise CorpusError(f"{path} holds no questions.")
    return out


def _norm_answer(text: str) -> str:
    return normalize(strip_glosses(text)).replace(" ", "")


def contains_answer(passage_text: str, answer: str) -> bool:
    """Whether ``passage_text`` holds ``answer`` after script, width and gloss normalisation."""
    return _norm_answer(answer) in _norm_answer(passage_text)


def _progress(total: int, desc: str, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="q", leave=False)


def evaluate(engine, questions: list[EvalQuestion], modes: list[str], k: int = 10, progress: bool = False) -> EvalReport:
    """Run every question in every mode against ``engine``'s index."""
    started = time.perf_counter()
    index = engine.loaded()  # one generation for every question, whatever is committed meanwhile
    data = index.data
    queries, vectors = {}, {}
    results: dict[str, list[QuestionResult]] = {m: [] for m in modes}
    for q in questions:
        try:
            queries[q.id] = make_query(q.question)
        except BadQuestion as exc:
            for m in modes:
                results[m].append(QuestionResult(q.id, q.question, q.type, list(q.docs) if q.docs else None, q.answer, error=str(exc)))
    # All questions are encoded in batches, once, and shared by every mode.
    ids = [q.id for q in questions if q.id in queries]
    encode_started = time.perf_counter()
    bar = _progress(len(ids), "Encoding questions", progress)
    for lo in range(0, len(ids), ENCODE_BATCH):
        batch = ids[lo : lo + ENCODE_BATCH]
        for qid, vec in zip(batch, engine.encoder.encode_queries([queries[i].normalized for i in batch])):
            vectors[qid] = vec
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()
    encode_seconds = time.perf_counter() - encode_started

    runs: dict[str, dict[str, dict[str, float]]] = {m: {} for m in modes}
    qrels: dict[str, dict[str, int]] = {}
    for mode in modes:
        bar = _progress(len(ids), f"Evaluating {mode}", progress)
        for q in questions:
            if q.id not in queries:
                continue
            ans = engine.answer_query(queries[q.id], k=k, mode=mode, query_vector=vectors[q.id], index=index)
            r = QuestionResult(q.id, q.question, q.type, list(q.docs) if q.docs else None, q.answer, answered=ans.answered,
                               span_shown=ans.claimed_span is not None, confidence=ans.confidence,
                               span_confidence=ans.span_confidence)
            if ans.hits:
                r.top_doc, r.top_passage = ans.hits[0].passage.doc_id, ans.hits[0].passage.text
            if ans.snippets:
                r.top_snippet = ans.snippets[0].text
            if ans.span is not None:
                r.answer_text, r.answer_score = ans.span.text, round(float(ans.span.score), 4)
            if q.docs and q.answers:
                predicted = ans.span.text if ans.answered and ans.span is not None else ""
                r.exact_match, r.f1 = em_score(predicted, q.answers), f1_score(predicted, q.answers)
            if q.docs:
                if q.id not in qrels:
                    qrels[q.id] = relevant_pids(data, q) or {"missing": 1}
                if q.answer:
                    r.answer_hit = bool(ans.answered and ans.snippets and contains_answer(ans.snippets[0].text, q.answer))
                # ranx gets the retrieval order itself as scores (k for the first hit down to
                # 1, no ties), and the rank reported per question is read off the same run
                # with the same relevant set, so the two can never disagree.
                runs[mode][q.id] = ranked_run(ans.hits, k)
                r.rank = first_relevant_rank(runs[mode][q.id], qrels[q.id])
            results[mode].append(r)
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()

    report = EvalReport(questions=len(questions), k=k, encode_seconds=encode_seconds)
    for mode in modes:
        report.modes[mode] = {"metrics": _metrics(qrels, runs[mode], results[mode]),
                              "by_type": _by_type(qrels, runs[mode], results[mode]), "results": results[mode],
                              "curve": recall_curve(qrels, runs[mode], k)}
    if len(modes) > 1 and qrels:
        report.comparison = _compare(qrels, runs, modes)
    report.seconds = time.perf_counter() - started
    return report


def ranked_run(hits, k: int) -> dict[str, float]:
    """One question's run for ranx: passage id → k + 1 - position (unique, best first)."""
    return {str(h.passage.pid): float(k - i) for i, h in enumerate(hits[:k])} or {"-": 0.0}


def first_relevant_rank(run: dict[str, float], relevant: dict[str, int]) -> int | None:
    """Position (from 1) of the first relevant passage in ``run``, as ranx orders it."""
    ordered = sorted(run, key=lambda pid: (-run[pid], pid))
    return next((i for i, pid in enumerate(ordered, 1) if relevant.get(pid, 0) > 0), None)


def relevant_pids(data, q: EvalQuestion) -> dict[str, int]:
    wanted = set(q.docs or ())
    return {str(p.pid): 1 for p in data.passages if p.doc_id in wanted and (not q.answer or contains_answer(p.text, q.answer))}


def _ranx_means(qrels: dict, run: dict) -> dict[str, float]:
    if not qrels:
        return {name: None for name in RANX_METRICS}
    from ranx import Qrels, Run
    from ranx import evaluate as ranx_evaluate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = ranx_evaluate(Qrels(qrels), Run(run), list(RANX_METRICS.values()))
    if not isinstance(scores, dict):
        scores = {next(iter(RANX_METRICS.values())): scores}
    return {name: round(float(scores[ranx_name]), 4) for name, ranx_name in RANX_METRICS.items()}


def recall_curve(qrels: dict, run: dict, k: int) -> list[float]:
    """Recall@1..k (a relevant passage within the top i), with ranx."""
    if not run:
        return []
    from ranx import Qrels, Run
    from ranx import evaluate as ranx_evaluate

    names = [f"hit_rate@{i}" for i in range(1, k + 1)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = ranx_evaluate(Qrels({q: qrels[q] for q in run}), Run(run), names)
    if not isinstance(scores, dict):
        scores = {names[0]: scores}
    return [round(float(scores[n]), 4) for n in names]


def _metrics(qrels: dict, run: dict, results: list[QuestionResult]) -> dict:
    out = _ranx_means({q: qrels[q] for q in run}, run)
    hits = [r.answer_hit for r in results if r.answer_hit is not None]
    unanswerable = [r for r in results if r.expected_docs is None]
    out["answer@1"] = round(sum(hits) / len(hits), 4) if hits else None
    spans = [r for r in results if r.exact_match is not None]
    out["exact_match"] = round(sum(r.exact_match for r in spans) / len(spans), 4) if spans else None
    out["f1"] = round(sum(r.f1 for r in spans) / len(spans), 4) if spans else None
    out["abstain"] = round(sum(not r.answered for r in unanswerable) / len(unanswerable), 4) if unanswerable else None
    answerable = [r for r in results if r.expected_docs and r.error is None]
    out["false_no_answer"] = round(sum(not r.answered for r in answerable) / len(answerable), 4) if answerable else None
    scored = [r for r in answerable if r.f1 is not None]
    shown = [r for r in scored if r.answered and r.span_shown]
    out["span_coverage"] = round(len(shown) / len(scored), 4) if scored else None
    out["shown_em"] = round(sum(r.exact_match for r in shown) / len(shown), 4) if shown else None
    out["shown_f1"] = round(sum(r.f1 for r in shown) / len(shown), 4) if shown else None
    table, area = risk_coverage(scored)
    out["risk_coverage"] = table
    out["risk_coverage_area"] = area
    out["answerable"] = len([r for r in results if r.expected_docs])
    out["unanswerable"] = len(unanswerable)
    return out


def risk_coverage(results: list[QuestionResult], coverages=COVERAGES) -> tuple[dict[str, float], float | None]:
    """The answerable questions' spans ordered by how sure the system is of them (the span's
    expected F1, ``span_confidence``; the reader's score where there is none; unanswered
    last): the mean F1 of the first share c of them for each c of ``coverages``, and the area
    under that curve (the mean over every share, one question a step)."""
    if not results:
        return {}, None

    def sureness(r: QuestionResult) -> float:
        if not r.answered or r.answer_text is None:
            return -float("inf")
        if r.span_confidence is not None:
            return r.span_confidence
        return r.answer_score if r.answer_score is not None else -float("inf")

    order = sorted(results, key=lambda r: -sureness(r))  # stable: ties keep the questions' order
    return coverage_table([r.f1 or 0.0 for r in order], coverages)


def coverage_table(f1: list[float], coverages=COVERAGES) -> tuple[dict[str, float], float | None]:
    """``f1`` (of the answerable questions, the surest first): the mean F1 of the first share c
    for each c of ``coverages`` ("50%": …), and the mean of that curve over every share."""
    if not f1:
        return {}, None
    cum, total = [], 0.0
    for i, v in enumerate(f1, 1):
        total += v
        cum.append(total / i)
    table = {f"{round(c * 100)}%": round(cum[max(1, round(c * len(f1))) - 1], 4) for c in coverages}
    return table, round(sum(cum) / len(cum), 4)


def _by_type(qrels: dict, run: dict, results: list[QuestionResult]) -> dict:
    types = sorted({r.type for r in results if r.type})
    out = {}
    for t in types:
        subset = [r for r in results if r.type == t]
        ids = {r.id for r in subset}
        out[t] = dict(_metrics({q: v for q, v in qrels.items() if q in ids}, {q: v for q, v in run.items() if q in ids}, subset),
                      count=len(subset))
    return out


def _compare(qrels: dict, runs: dict, modes: list[str]) -> str:
    from ranx import Qrels, Run, compare

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = compare(Qrels(qrels), [Run(runs[m], name=m) for m in modes],
                         metrics=["hit_rate@1", "hit_rate@5", "mrr@10", "ndcg@10"], stat_test="student", max_p=0.05)
    return str(report)


def worst(report: EvalReport, mode: str, n: int = 10) -> list[QuestionResult]:
    """The answerable questions retrieved worst (relevant passage missing or ranked low),
    then unanswerable ones that were answered anyway."""
    results = report.modes[mode]["results"]
    missed = sorted((r for r in results if r.expected_docs and (r.rank is None or r.rank > 1)),
                    key=lambda r: (r.rank is not None, -(r.rank or 0)))
    wrongly = [r for r in results if r.expected_docs is None and r.answered]
    return (missed + wrongly)[:n]


def question_key(q: EvalQuestion, data) -> str:
    """What a question's fold is a hash of: the title of the article of its first relevant
    document (its id when the index lacks it or it has no title); an unanswerable
    question's own id."""
    if not q.docs:
        return q.id
    doc = data.documents.get(q.docs[0])
    return doc.title if doc is not None and doc.title else q.docs[0]


def question_fold(q: EvalQuestion, data) -> int:
    """A question's fold (``qa.folds``), by document: that of ``question_key``."""
    return fold_of(question_key(q, data))


def split_questions(questions: list[EvalQuestion], data, split: str) -> list[EvalQuestion]:
    """The questions of one fold split, by document: a question is in "validation" when its
    fold (``question_fold``) is 0 of 5, the split the reader was trained on, "train" otherwise."""
    if split == "all":
        return questions
    if split not in SPLITS:
        raise CorpusError(f"Unknown split {split!r}; use one of {', '.join(SPLITS)}.")
    want_validation = split == "validation"
    return [q for q in questions if (question_fold(q, data) == 0) == want_validation]


def rank_metrics(results: list[QuestionResult]) -> dict[str, float | None]:
    """Recall@1, MRR@10 and answer@1 of answerable questions' results, from their ranks."""
    hits = [r.answer_hit for r in results if r.answer_hit is not None]
    return {"recall@1": round(sum(r.rank == 1 for r in results) / len(results), 4),
            "mrr@10": round(sum(1.0 / r.rank for r in results if r.rank and r.rank <= 10) / len(results), 4),
            "answer@1": round(sum(hits) / len(hits), 4) if hits else None}


def by_fold(report: EvalReport, questions: list[EvalQuestion], data) -> dict[str, dict]:
    """Per mode, each fold's (``question_fold``) Recall@1, MRR@10 and answer@1 over its
    answerable questions, then their mean and standard deviation over the folds: how much a
    number moves from one fifth of the articles to the next."""
    fold = {q.id: question_fold(q, data) for q in questions}
    out = {}
    for mode, block in report.modes.items():
        rows = {}
        for f in range(FOLDS):
            rs = [r for r in block["results"] if r.expected_docs and fold.get(r.id) == f and r.error is None]
            if not rs:
                continue
            rows[str(f)] = {"questions": len(rs), **rank_metrics(rs)}
        summary = {}
        for name in ("recall@1", "mrr@10", "answer@1"):
            values = [row[name] for row in rows.values() if row[name] is not None]
            if values:
                mean = sum(values) / len(values)
                sd = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5 if len(values) > 1 else 0.0
                summary[name] = {"mean": round(mean, 4), "sd": round(sd, 4)}
        out[mode] = {"folds": rows, "mean": summary}
    return out


def modes_of(mode: str) -> list[str]:
    return list(MODES) if mode == "all" else [mode]
