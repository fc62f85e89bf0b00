"""Fit the sentence choice (qa/answer/choice.py) and measure it: ``qa train-choice``.

Protocol (the README's "Held-out discipline"):
- The model is **fitted** on the train folds (1-4 of 5, by article; the seed questions by id)
  of the seed questions and of ``rgb-news-a``, news questions the reader never saw: on the
  CMRC 2018 and DRCD training folds the reader's scores are those of questions it was
  trained on, too sure to teach the choice anything that would hold on new questions.
- It is **reported** on the validation fold (0 of 5) of every visible set: CMRC 2018 and DRCD
  validation questions were seen neither by the reader nor by the choice.
- The features, the loss and its regularisation were fixed before any validation number was
  seen. The number of sentences read (the depth) is chosen among ``DEPTHS`` by
  cross-validation inside the train folds (fit on three, score answer@1 on the fourth); the
  validation fold plays no part in it.

Each corpus is searched through its own cached index beside the main one (as ``qa eval
--corpus`` and ``qa train-fusion`` do), so a second run encodes nothing."""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embeddings.atomic import write_text as atomic_write_text
from qa.answer.choice import (
    CHOICE_FEATURES,
    MODEL_PATH,
    SentenceChoice,
    choice_features,
    model_to_json,
    read_candidates,
)
from qa.answer.snippets import confidence, ranked_sentences
from qa.evaluate.run import contains_answer
from qa.folds import VALIDATION_FOLD
from qa.question.answer_type import missing_entities
from qa.question.query import make_query
from qa.read.data import em_score, f1_score
from qa.retrieve.fusion import listwise_fit
from qa.retrieve.train_fusion import VISIBLE_SETS, Visible, open_sets
from qa.settings import Settings
from qa.text.charstats import cjk_share
from qa.text.normalize import normalize

FIT_SETS = ("seeds", "rgb-news-a")
L2 = 1e-3
# The depths the fit may choose among. Each window of 96 tokens costs the int8 reader about
# 12-15 ms on this machine: depth 3 reads in about 54 ms p50 (`qa bench`, ask.read_ms), depth 4
# would take about 66 ms, over the 60 ms budget. Depth 4 is offered for a faster reader; a
# refit that picks it must be checked against `qa bench` (the card says which depth won).
DEPTHS = (3, 4)


@dataclass
class Row:
    """One answerable question: the picker's first ``max(DEPTHS)`` sentences and the reader's
    span in each, which of them hold the gold answer, the spans' text, and whether the corpus
    would be answered at all."""

    set: str
    fold: int
    top: list
    read: list
    holds: np.ndarray
    spans: list[str]
    answers: tuple[str, ...]
    answered: bool

    def x(self, depth: int) -> np.ndarray:
        """The choice features of the first ``depth`` sentences, as the product reads them."""
        return choice_features(self.top[:depth], self.read[:depth])


def collect(v: Visible, settings: Settings, folds: set[int] | None = None) -> list[Row]:
    """Rows for ``v``'s answerable questions with a gold answer text (in ``folds``)."""
    engine = v.engine
    reader = engine.reader
    index = engine.loaded()
    rows = []
    for q, fold in zip(v.questions, v.folds):
        if not q.answer or (folds is not None and fold not in folds):
            continue
        found = engine.retrieve(make_query(q.question), k=10, mode="hybrid", index=index)
        cands = ranked_sentences(found.evidence, found.hits)
        if not cands:
            rows.append(Row(v.name, fold, [], [], np.zeros(0, bool), [], q.answers, False))
            continue
        retrieved = " ".join(normalize(h.citation.title) + " " + h.passage.match_text for h in found.hits)
        sure = confidence(found.hits, cands[0], cjk_share(found.query.text),
                          missing_entities(found.query.tokens, retrieved))
        top = cands[: max(DEPTHS)]
        spans = read_candidates(reader, found.query, top, settings.read_tokens)
        docs = found.data.documents
        holds = np.array([contains_answer(docs[c.hit.passage.doc_id].text[c.start : c.end], q.answer) for c in top])
        texts = [docs[s.hit.passage.doc_id].text[s.start : s.end] if s is not None else "" for s in spans]
        rows.append(Row(v.name, fold, top, spans, holds, texts, q.answers or (q.answer,),
                        sure >= settings.abstain_threshold))
    return rows


def fit(rows: list[Row], depth: int):
    """The listwise fit over the rows' first ``depth`` candidates (questions with both kinds of
    candidate teach; each set weighted 1/sqrt(its questions))."""
    teach = [r for r in rows if len(r.top[:depth]) >= 2 and r.holds[:depth].any() and not r.holds[:depth].all()]
    if not teach:
        raise ValueError(f"no question teaches the choice at depth {depth}: none has both a sentence that holds "
                         "its answer and one that does not among those read; add questions to the fit sets")
    per_set: dict[str, int] = {}
    for r in teach:
        per_set[r.set] = per_set.get(r.set, 0) + 1
    xs = [r.x(depth) for r in teach]
    holds = np.concatenate([r.holds[:depth] for r in teach])
    starts = np.cumsum([0] + [len(x) for x in xs[:-1]])
    weights = np.array([1.0 / np.sqrt(per_set[r.set]) for r in teach])
    ranker = listwise_fit(np.concatenate(xs), holds, starts, CHOICE_FEATURES, l2=L2, question_weights=weights)
    return SentenceChoice(ranker, depth), per_set


def measure(rows: list[Row], model: SentenceChoice) -> dict:
    """answer@1 (the first snippet holds the answer, abstentions count as misses) and the
    span's exact match and F1, for the picker's first sentence and for the model's choice
    among its first ``model.depth``; the oracle: some of those holds the answer."""
    out = {}
    for label, m in (("picker", None), ("choice", model)):
        hit = em = f1 = 0.0
        for r in rows:
            if not r.answered or not r.top:
                continue
            i = 0 if m is None else int(np.argmax(m.score(r.x(m.depth))))  # as choose(): the first of equal scores
            hit += bool(r.holds[i])
            em += em_score(r.spans[i], r.answers)
            f1 += f1_score(r.spans[i], r.answers)
        n = max(1, len(rows))
        out[label] = {"answer@1": round(hit / n, 4), "exact_match": round(em / n, 4), "f1": round(f1 / n, 4)}
    out["questions"] = len(rows)
    out["oracle"] = round(sum(bool(r.answered and r.holds[: model.depth].any()) for r in rows) / max(1, len(rows)), 4)
    return out


def choose_depth(rows: list[Row]) -> tuple[int, dict[int, float]]:
    """The depth with the best mean answer@1 when each train fold is answered by a choice
    fitted on the other train folds (the mean over folds of the mean over sets); ties go to
    the shallower, cheaper read."""
    folds = sorted({r.fold for r in rows})
    cv: dict[int, float] = {}
    for depth in DEPTHS:
        per_fold = []
        for f in folds:
            model, _ = fit([r for r in rows if r.fold != f], depth)
            held = [r for r in rows if r.fold == f]
            sets = sorted({r.set for r in held})
            per_fold.append(np.mean([measure([r for r in held if r.set == s], model)["choice"]["answer@1"] for s in sets]))
        cv[depth] = round(float(np.mean(per_fold)), 4)
    best = max(DEPTHS, key=lambda d: (cv[d], -d))
    return best, cv


def train_choice(shared: Path, base: Path, out: Path = MODEL_PATH, sets: tuple[str, ...] = VISIBLE_SETS) -> dict:
    started = time.perf_counter()
    settings = Settings()
    opened = open_sets(shared, base, sets)
    train_rows, valid = [], {}
    for v in opened:
        t = time.perf_counter()
        if v.name in FIT_SETS:
            train_rows += collect(v, settings, folds={f for f in range(5) if f != VALIDATION_FOLD})
        valid[v.name] = collect(v, settings, folds={VALIDATION_FOLD})
        print(f"{v.name}: read in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    depth, cv = choose_depth(train_rows)
    model, per_set = fit(train_rows, depth)
    report = {name: measure(rows, model) for name, rows in valid.items()}
    about = {
        "trained_on": {"sets": list(FIT_SETS), "folds": "1-4 of 5 (qa.folds, by article; seeds by question id)",
                       "teaching_questions": per_set, "l2": L2},
        "depth_selection": {"candidates": list(DEPTHS), "cv_answer@1": {str(d): v for d, v in cv.items()},
                            "rule": "mean answer@1 over train folds 1-4, each answered by a choice fitted on the other three"},
        "validation": report,
        "seconds": round(time.perf_counter() - started, 1),
    }
    atomic_write_text(Path(out), json.dumps(model_to_json(model, **about), ensure_ascii=False, indent=1) + "\n")
    atomic_write_text(Path(out).with_name("CHOICE_CARD.md"), card(model, about))
    return about


_NAMES = {"seeds": "our seed questions (`eval/seeds.jsonl`)", "rgb-news-a": "RGB news a", "cmrc2018-trial": "CMRC 2018 trial",
          "cmrc2018-dev-a": "CMRC 2018 dev half a", "drcd-test": "DRCD test", "drcd-dev-a": "DRCD dev half a"}


def card(model, about: dict) -> str:
    """The model card, written from the fit itself (so its numbers are the file's)."""
    lines = [
        "# Model card: which read sentence is shown first (`choice.json`)",
        "",
        "Written by `qa train-choice` (qa/answer/train_choice.py) with the model; do not edit by hand.",
        "",
        "**What it is.** `qa/answer/choice.py`. The sentence picker ranks the sentences of the top",
        f"passages; the reader reads its first {model.depth}, each through one window of",
        "`Settings.read_tokens` tokens around it, in one ONNX run; a linear score over",
        f"{len(CHOICE_FEATURES)} standardised features chooses the one shown first, and the reader's",
        "best span inside it is the answer. Features: " + ", ".join(f"`{f}`" for f in CHOICE_FEATURES) + ":",
        "the picker's score as a gap to its first and its reciprocal position; the reader's best span",
        "inside the sentence (log P(start) + log P(end); its margin over the window's no-answer score;",
        "its gap to the best of the read sentences); whether the sentence is in the top passage.",
        "",
        "**Loss.** Listwise softmax (minus the log of the probability mass on the sentences that hold",
        f"the gold answer) plus an L2 penalty of {L2}, scipy's L-BFGS (`qa.retrieve.fusion.listwise_fit`);",
        "a question counts 1/sqrt(questions of its set).",
        "",
        "**Training data.** Folds 1-4 (`qa/folds.py`, by article; the seed questions by id) of the",
        "sets the reader was never trained on; a question teaches when some but not all of its read",
        "sentences hold the answer:",
        "",
        "| set | teaching questions |",
        "|---|---|",
    ]
    lines += [f"| {_NAMES.get(k, k)} | {v} |" for k, v in about["trained_on"]["teaching_questions"].items()]
    lines += [
        "",
        "On the CMRC 2018 and DRCD training folds the reader's scores are those of questions it was",
        "trained on, so they are not used here: a choice fitted on them would trust the reader more",
        "than it deserves on new questions.",
        "",
        "**Licence.** The weights are ours (MIT). The sets' licences are in their `SOURCE.md`: CMRC 2018",
        f"CC BY-SA 4.0, DRCD CC BY-SA 3.0, RGB CC BY-NC-SA 4.0. The file holds {len(CHOICE_FEATURES)} weights",
        "and the features' means and scales, no text.",
        "",
        "## Validation fold (fold 0): never seen by the choice; CMRC 2018 and DRCD's never seen by the reader",
        "",
        "answer@1: the first snippet holds the gold answer (abstentions count as misses, as in `qa eval`);",
        "exact match and F1 of the answer span (CMRC 2018 definitions, best over the gold answers);",
        f"oracle: some of the {model.depth} read sentences holds the answer (the most any choice could reach).",
        "",
        "| set | questions | picker's first: answer@1 / EM / F1 | **choice**: answer@1 / EM / F1 | oracle |",
        "|---|---|---|---|---|",
    ]
    for name, r in about["validation"].items():
        a, b = r["picker"], r["choice"]
        lines.append(f"| {_NAMES.get(name, name)} | {r['questions']} | {a['answer@1']:.3f} / {a['exact_match']:.3f} / "
                     f"{a['f1']:.3f} | **{b['answer@1']:.3f}** / **{b['exact_match']:.3f}** / **{b['f1']:.3f}** | {r['oracle']:.3f} |")
    lines += [
        "",
        "## How many sentences are read",
        "",
        "The depth is chosen among " + ", ".join(str(d) for d in DEPTHS) + " on the train folds alone: each of folds 1-4 is",
        "answered by a choice fitted on the other three, and the depth with the best mean answer@1",
        "(mean over the folds of the mean over the two sets) wins, ties going to the shallower read.",
        "",
        "| depth | cross-validated answer@1 (train folds) |",
        "|---|---|",
    ]
    lines += [f"| {d}{' (chosen)' if int(d) == model.depth else ''} | {v:.3f} |"
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
