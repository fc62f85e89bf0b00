"""The learned confidence (qa/answer/confidence.py) and its fit (qa_train/confidence.py):
three outcomes, thresholds that keep their stated precision on the rows they were chosen on,
the shipped model file and its card, and the product answering by it."""
from __future__ import annotations

import json

import numpy as np
import pytest

from qa.answer.confidence import CONFIDENCE_FEATURES, MODEL_PATH, ConfidenceModel, Logistic, load_confidence


def _rows(n=400, seed=0):
    """Synthetic rows: half answerable; the span margin says whether the sentence and the
    span are right, with noise."""
    from qa_train.confidence import Row

    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        answerable = i % 2 == 0
        right = answerable and rng.random() < 0.8
        x = rng.normal(size=len(CONFIDENCE_FEATURES))
        x[CONFIDENCE_FEATURES.index("foreign")] = 0.0
        x[CONFIDENCE_FEATURES.index("has_span")] = 1.0
        x[CONFIDENCE_FEATURES.index("span_margin")] = (3.0 if right else -1.0) + rng.normal()
        f1 = float(right) * (0.6 + 0.4 * rng.random())
        rows.append(Row("s", 1 + i % 4, str(i), answerable, x, right, float(f1 == 1.0), f1, x[1], True, str(i)))
    return rows


def test_fit_keeps_its_stated_precisions_on_the_rows_it_chose_on():
    from qa_train.confidence import NO_ANSWER_PRECISION, SPAN_PRECISION, _weights, fit

    rows = _rows()
    model = fit(rows, "all")
    decided = [model.decide(r.x) for r in rows]
    w = _weights(rows)
    refused = [(r, wi) for r, d, wi in zip(rows, decided, w) if not d.answered]
    assert refused and sum(wi for r, wi in refused if not r.answerable) / sum(wi for _, wi in refused) >= NO_ANSWER_PRECISION
    shown = [(r, wi) for r, d, wi in zip(rows, decided, w) if d.span_shown]
    assert shown and sum(r.f1 * wi for r, wi in shown) / sum(wi for _, wi in shown) >= SPAN_PRECISION - 1e-9
    # the margin carries the signal: the fit leans on it
    assert model.answer.weights[CONFIDENCE_FEATURES.index("span_margin")] > 0


def test_three_outcomes():
    zero = np.zeros(len(CONFIDENCE_FEATURES))
    weights = np.zeros(len(CONFIDENCE_FEATURES))
    weights[CONFIDENCE_FEATURES.index("span_margin")] = 1.0
    logistic = Logistic(CONFIDENCE_FEATURES, zero, np.ones_like(zero), weights, 0.0)
    model = ConfidenceModel(logistic, logistic, answer_threshold=0.5, span_threshold=0.9)
    x = zero.copy()
    x[CONFIDENCE_FEATURES.index("has_span")] = 1.0
    for margin, answered, shown in ((-3.0, False, False), (1.0, True, False), (5.0, True, True)):
        x[CONFIDENCE_FEATURES.index("span_margin")] = margin
        outcome = model.decide(x)
        assert (outcome.answered, outcome.span_shown) == (answered, shown), margin
        assert outcome.confidence == pytest.approx(outcome.span_p if shown else outcome.answer_p)
    x[CONFIDENCE_FEATURES.index("has_span")] = 0.0  # no span: never claimed, however sure
    assert model.decide(x).span_shown is False


def test_shipped_model_loads_and_its_card_is_its_own():
    row = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    model = load_confidence()
    assert 0.0 < model.answer_threshold < 1.0 and 0.0 < model.span_threshold <= 1.0
    card = MODEL_PATH.with_name("CONFIDENCE_CARD.md").read_text(encoding="utf-8")
    assert f"{model.answer_threshold:.3f}" in card and "qa train-confidence" in card
    assert set(row["validation"]) >= {"seeds"}


def test_a_model_of_other_features_is_refused(tmp_path):
    row = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    row["answer"]["features"] = row["answer"]["features"][:-1]
    path = tmp_path / "confidence.json"
    path.write_text(json.dumps(row), encoding="utf-8")
    with pytest.raises(ValueError, match="qa train-confidence"):
        load_confidence(str(path))


def test_answers_carry_their_confidence(seeds_qa):
    """Answered or not, the product's answer says how sure it is; an unanswerable question is refused."""
    answered = seeds_qa.ask("清徐县是在哪里发现初筛阳性人员的？")
    assert answered.answered and 0.0 <= answered.confidence <= 1.0
    out = answered.to_json()
    assert out["confidence"] == answered.confidence and out["span_shown"] == (out["answer"] is not None)
    refused = seeds_qa.ask("2018年世界杯冠军是哪个国家？")
    assert not refused.answered and refused.confidence is not None and refused.to_json()["answer"] is None
