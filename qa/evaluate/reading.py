"""Reading only: the reader given each question's own document (the gold paragraph), as
the CMRC 2018 and DRCD papers measure a reader, so its exact match and F1 can be set beside
the published tables. Retrieval plays no part."""
from __future__ import annotations

from dataclasses import dataclass

from qa.read.data import em_score, f1_score


@dataclass(frozen=True)
class ReadingResult:
    questions: int  # answerable questions whose document is in the index
    exact_match: float
    f1: float
    answer_chars: float  # mean length of the predicted answers
    gold_chars: float  # mean length of the first gold answers


def evaluate_reading(engine, questions) -> ReadingResult:
    """Exact match and F1 (CMRC 2018 definitions, best over the gold answers) of the reader's
    best span in each answerable question's first document, read whole (every window)."""
    data = engine.data()
    reader = engine.reader
    ems, f1s, lengths, gold = [], [], [], []
    for q in questions:
        if not q.docs or not q.answers or q.docs[0] not in data.documents:
            continue
        reading = reader.read(q.question, [data.documents[q.docs[0]].text])[0]
        predicted = reading.best.text if reading.best is not None else ""
        ems.append(em_score(predicted, q.answers))
        f1s.append(f1_score(predicted, q.answers))
        lengths.append(len(predicted))
        gold.append(len(q.answers[0]))
    n = len(ems)

    def mean(xs: list[float]) -> float:
        return round(sum(xs) / n, 4) if n else 0.0

    return ReadingResult(n, mean(ems), mean(f1s), mean(lengths), mean(gold))
