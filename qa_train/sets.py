"""The training harness that fusion, choice and the experiments in eval/ share: the visible
evaluation sets, each opened with its own cached index beside the main one (as ``qa eval
--corpus`` does, so a second run encodes nothing), their questions split into folds by
article (``qa.folds``), the per-question blocks of candidates a listwise fit reads, and how
the model cards name each set (``SET_NAMES``, ``listed``)."""
from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from qa.engine import QA
from qa.errors import BadQuestion
from qa.evaluate.run import EvalQuestion, load_questions, question_key
from qa.folds import fold_of
from qa.index.folder import corpus_index_dir
from qa.question.query import make_query
from qa.settings import PROJECT_ROOT, Settings

VISIBLE_SETS = ("cmrc2018-trial", "cmrc2018-dev-a", "drcd-test", "drcd-dev-a", "rgb-news-a")
# How the model cards name each set.
SET_NAMES = {"seeds": "our seed questions (`eval/seeds.jsonl`)", "rgb-news-a": "RGB news a", "cmrc2018-trial": "CMRC 2018 trial",
             "cmrc2018-dev-a": "CMRC 2018 dev half a", "drcd-test": "DRCD test", "drcd-dev-a": "DRCD dev half a",
             "xquad-zh": "xquad-zh"}


def listed(names) -> str:
    """Sets named as a card's sentence names them: "A, B and C"."""
    names = [SET_NAMES.get(n, n) for n in names]
    return " and ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + " and " + names[-1]


@dataclass
class Groups:
    """Candidates of many questions, one block of rows per question."""

    x: list[np.ndarray] = field(default_factory=list)
    relevant: list[np.ndarray] = field(default_factory=list)
    weight: list[float] = field(default_factory=list)

    def add(self, x: np.ndarray, relevant: np.ndarray, weight: float) -> None:
        if len(x) >= 2 and relevant.any() and not relevant.all():  # a question teaches only if it has both
            self.x.append(x)
            self.relevant.append(relevant)
            self.weight.append(weight)

    def stacked(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        starts = np.cumsum([0] + [len(x) for x in self.x[:-1]])
        return np.concatenate(self.x), np.concatenate(self.relevant), starts, np.array(self.weight)


@dataclass
class Visible:
    """One visible set: its engine (own cached index) and its questions, each with the key its
    fold is a hash of (``qa.folds``): its article's title (``question_key``), or for the seed
    questions, whose five articles cannot be split, its own id."""

    name: str
    engine: QA
    questions: list[EvalQuestion]
    keys: list[str]

    @property
    def folds(self) -> list[int]:
        return [fold_of(k) for k in self.keys]

    def outside(self, fold: int) -> list[EvalQuestion]:
        return [q for q, f in zip(self.questions, self.folds) if f != fold]

    def inside(self, fold: int) -> list[EvalQuestion]:
        return [q for q, f in zip(self.questions, self.folds) if f == fold]


def open_sets(shared: Path, base: Path, names: tuple[str, ...]) -> list[Visible]:
    out = []
    settings = Settings(index_dir=base / "seeds-fusion", reader=False)
    sets = [("seeds", PROJECT_ROOT / "seeds", PROJECT_ROOT / "eval" / "seeds.jsonl")]
    sets += [(n, shared / "eval" / n / "corpus.jsonl", shared / "eval" / n / "questions.jsonl") for n in names]
    encoder = None
    for name, corpus, questions in sets:
        if not corpus.exists():
            print(f"{name}: {corpus} is absent, skipped", file=sys.stderr)
            continue
        index_dir = settings.index_dir if name == "seeds" else corpus_index_dir(base, corpus)
        engine = QA(replace(settings, index_dir=index_dir), encoder=encoder)
        report = engine.index([corpus])
        if not report.up_to_date:
            print(f"{name}: indexed {report.documents} documents, {report.passages} passages", file=sys.stderr)
        encoder = engine.encoder
        qs = [q for q in load_questions(questions) if q.docs and askable(q)]  # the ranker learns from answerable questions
        data = engine.data()
        # Five articles cannot be split by article: the seed questions are split by their id.
        keys = [q.id if name == "seeds" else question_key(q, data) for q in qs]
        out.append(Visible(name, engine, qs, keys))
    return out


def askable(q: EvalQuestion) -> bool:
    try:
        make_query(q.question)
    except BadQuestion:  # an empty question in a dataset
        return False
    return True
