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
    from qa_train.confidence import card as written_card

    assert card == written_card(model, row)  # the card is the fit's record, as qa train-confidence writes it


def test_cached_rows_of_other_models_are_asked_again(tmp_path, monkeypatch):
    import pickle

    import qa_train.confidence as C

    now = C.models_asked_with()
    assert len(now) == 10 and now == C.models_asked_with()  # the shipped models' digest, stable
    assert C.rows_of(tmp_path, tmp_path, 300, tmp_path, ("seeds",), ask=False) == []  # never asked: left out
    (tmp_path / f"seeds-300-f{C.FORMAT}-0000000000.pkl").write_bytes(pickle.dumps(["stale"]))
    with pytest.raises(SystemExit, match="asked with other models"):  # another reader's rows: not used, not hidden
        C.rows_of(tmp_path, tmp_path, 300, tmp_path, ("seeds",), ask=False)
    (tmp_path / f"seeds-200-f{C.FORMAT}-{now}.pkl").write_bytes(pickle.dumps(["fresh"]))
    assert C.rows_of(tmp_path, tmp_path, 300, tmp_path, ("seeds",), ask=False) == ["fresh"]
    reader = tmp_path / "reader"
    reader.mkdir()
    settings = json.loads((C.READER_DIR / C.SETTINGS_FILE).read_text(encoding="utf-8"))
    (reader / C.SETTINGS_FILE).write_text(json.dumps(settings | {"sha256": "0" * 64}), encoding="utf-8")
    monkeypatch.setattr(C, "READER_DIR", reader)
    retrained = C.models_asked_with()
    assert retrained != now  # another reader graph: the rows are stale
    monkeypatch.setattr(C, "CHOICE_MODEL", tmp_path / "choice.json")
    (tmp_path / "choice.json").write_text("{}", encoding="utf-8")
    assert C.models_asked_with() not in (now, retrained)  # a refit choice makes them stale too


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


def _hit(text: str, start: int):
    from qa.records import Citation, Hit, Passage

    passage = Passage(0, "doc", start, start + len(text), text, text)
    return Hit(passage, Citation("doc", "题", "", "", start, start + len(text)), 1.0, 1)


def test_span_signals_read_the_span_in_its_passage():
    # offsets are the document's; the passage starts at 100
    from qa.answer.confidence import _span_signals, span_text
    from qa.answer.spans import ReadSpan
    from qa.question.answer_type import asked_type
    from qa.question.query import make_query

    hit = _hit("瑞达社区有居民1200户，常住人口5200余人。董健是社区民警。", 100)
    count = ReadSpan(hit, 107, 112, -1.0, 2.0)  # 1200户
    assert span_text(count) == "1200户"
    query = make_query("瑞达社区有多少户居民？")
    kind = asked_type(query.normalized)
    same_again = ReadSpan(hit, 107, 112, -1.0, 2.0)  # the very span, found in an overlapping sentence
    inside = ReadSpan(hit, 107, 111, -2.0, 1.0)  # 1200: said again by another window
    echo = ReadSpan(hit, 100, 104, -3.0, 0.0)  # 瑞达社区: repeats the question
    in_q, fits, agree, punct = _span_signals(query, kind, (count, same_again, inside, echo), 0)
    assert in_q == 1 / 5 and fits == 1.0 and punct == 0.0  # of 1200户 only 户 is in the question
    assert agree == 1 / 2  # of the two other spans, 1200 agrees; the same span is no second witness
    in_q, fits, agree, _ = _span_signals(query, kind, (count, same_again, inside, echo), 3)
    assert in_q == 1.0 and fits == 0.0 and agree == 0.0
    ends = ReadSpan(hit, 112, 124, -1.0, 1.0)  # ，常住人口5200余人。: a mark inside, one at its end
    assert _span_signals(query, kind, (ends,), 0)[3] == 1.0
    assert span_text(ReadSpan(hit, 113, 124, -1.0, 1.0)).endswith("。")
    assert _span_signals(query, kind, (ReadSpan(hit, 113, 124, -1.0, 1.0),), 0)[3] == 0.0  # only ends with one
    assert _span_signals(query, kind, (None, count), 0) == (0.0, 0.0, 0.0, 0.0)


def test_word_share_counts_every_word_alike():
    from qa.answer.confidence import word_share
    from qa.question.query import make_query
    from qa.retrieve.sentences import SentenceCandidate

    hit = _hit("无关。董健是瑞达社区的社区民警。", 50)
    query = make_query("董健是哪个社区的民警？")
    sentence = SentenceCandidate(53, 66, 1.0, 0.0, 0.0, True, hit)
    elsewhere = SentenceCandidate(50, 53, 1.0, 0.0, 0.0, True, hit)
    assert 0.5 < word_share(query, sentence) <= 1.0 and word_share(query, elsewhere) < 0.2


def test_false_no_answer_cap():
    from qa_train.confidence import _capped_threshold

    p = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    w = np.ones(5)
    assert _capped_threshold(p, w, 0.0) == 0.1  # nothing below it is refused
    assert _capped_threshold(p, w, 0.2) == 0.2  # one row of five refused
    assert _capped_threshold(p, w, 0.39) == 0.2
    assert _capped_threshold(p, np.array([3.0, 1, 1, 1, 1]), 0.2) == 0.1  # the lowest row weighs 3/7 alone
    assert _capped_threshold(p, w, 1.0) > 0.5
