"""Learned fusion (qa/retrieve/fusion.py): its features, its fit, the shipped model, and the
training command that reproduces it."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

PROJECT = Path(__file__).resolve().parent.parent


def test_question_kind_is_a_general_signal():
    from qa.retrieve.fusion import QuestionKind

    assert QuestionKind.of("清徐县 核酸 阳性", 3).keyword
    assert not QuestionKind.of("清徐县是在哪里发现初筛阳性人员的？", 5).keyword
    assert not QuestionKind.of("董健的妻子做什么工作", 4).keyword
    assert QuestionKind.of("Where were the positive cases found in Qingxu?", 0).foreign
    assert not QuestionKind.of("清徐县是在哪里发现的", 4).foreign
    assert QuestionKind.of("x", 8).long and not QuestionKind.of("x", 7).long


def test_fusion_features_describe_each_candidate_relative_to_its_pool():
    from qa.retrieve.fusion import FUSION_FEATURES, QuestionKind, fusion_features

    kind = QuestionKind(keyword=True, foreign=False, long=False)
    x = fusion_features(np.array([0.9, 0.8, 0.7]), np.array([0.85, 0.8, 0.6]), np.array([0.95, 0.8, 0.8]), np.array([12.0, 0.0, 6.0]),
                        [1, 2, None], [1, None, 2], np.array([1.0, 0.2, 0.5]), np.array([0.5, 0.0, 0.0]), kind)
    assert x.shape == (3, len(FUSION_FEATURES))
    col = {name: x[:, i] for i, name in enumerate(FUSION_FEATURES)}
    assert col["dense_gap"].tolist() == pytest.approx([0.0, -0.1, -0.2])
    assert col["bm25_share"].tolist() == pytest.approx([1.0, 0.0, 0.5])
    assert col["dense_rr"].tolist() == pytest.approx([1.0, 0.5, 0.0]) and col["bm25_rr"].tolist() == pytest.approx([1.0, 0.0, 0.5])
    assert col["both"].tolist() == [1.0, 0.0, 0.0]
    assert col["keyword_q*bm25_share"].tolist() == pytest.approx([1.0, 0.0, 0.5]) and not col["foreign_q*bm25_share"].any()
    empty = fusion_features(*(np.zeros(0),) * 4, [], [], np.zeros(0), np.zeros(0), kind)
    assert empty.shape == (0, len(FUSION_FEATURES))


def test_listwise_fit_learns_which_feature_finds_the_relevant_candidate():
    """Synthetic questions whose relevant candidate has the highest first feature, while
    the second is noise: the fit weighs the first and ranks the relevant candidate first."""
    from qa_train.listwise import listwise_fit

    rng = np.random.default_rng(0)
    xs, rel, starts = [], [], []
    for q in range(200):
        x = rng.normal(size=(8, 2))
        r = np.zeros(8, dtype=bool)
        r[int(np.argmax(x[:, 0]))] = True
        starts.append(sum(len(a) for a in xs))
        xs.append(x)
        rel.append(r)
    model = listwise_fit(np.concatenate(xs), np.concatenate(rel), np.array(starts), ("signal", "noise"))
    assert model.weights[0] > 5 * abs(model.weights[1])
    tests = [rng.normal(size=(8, 2)) for _ in range(100)]
    assert sum(int(np.argmax(model.score(t))) == int(np.argmax(t[:, 0])) for t in tests) >= 90


def test_the_shipped_model_loads_and_records_its_validation():
    from qa.retrieve.fusion import FUSION_FEATURES, MODEL_PATH, RERANK_FEATURES, load_model

    model = load_model(str(MODEL_PATH))
    assert model.fusion.features == FUSION_FEATURES and model.rerank.features == RERANK_FEATURES
    about = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    assert set(about["trained_on"]) >= {"cmrc2018-trial", "drcd-test", "rgb-news-a", "seeds"}
    for name, row in about["validation"].items():
        for label in ("learned", "weighted", "dense", "bm25"):
            assert 0.0 <= row[label]["recall@1"] <= 1.0, (name, label)


def test_a_model_of_other_features_is_refused(tmp_path):
    from qa.retrieve.fusion import MODEL_PATH, FusionModel

    row = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    row["fusion"]["features"] = row["fusion"]["features"][:-1]
    with pytest.raises(ValueError, match="retrain it with `qa train-fusion`"):
        FusionModel.from_json(row)


def test_learned_hybrid_answers_the_seed_questions(seeds_qa):
    """The default hybrid is the learned fusion, and its hits are ordered by its scores (in the
    fusion's own order: the answer's passage may have been moved first, keeping its fused_rank)."""
    assert seeds_qa.settings.fusion == "learned"
    answer = seeds_qa.ask("清徐县是在哪里发现初筛阳性人员的？", k=5)
    assert answer.answered and "韻達" in answer.snippets[0].text
    scores = [h.score for h in sorted(answer.hits, key=lambda h: h.fused_rank or h.rank)]
    assert scores == sorted(scores, reverse=True) and [h.rank for h in answer.hits] == list(range(1, len(answer.hits) + 1))


@pytest.mark.slow
def test_train_fusion_reproduces_a_model_from_the_seed_questions(tmp_path):
    """`qa train-fusion` end to end on the seed set alone (the shipped model adds ../shared)."""
    from qa.retrieve.fusion import FusionModel
    from qa_train.train_fusion import main

    out = tmp_path / "fusion.json"
    assert main(["--sets", "", "--index-dir", str(tmp_path / "idx"), "--out", str(out)]) == 0
    row = json.loads(out.read_text(encoding="utf-8"))
    model = FusionModel.from_json(row)
    assert row["trained_on"]["seeds"] >= 40 and np.abs(model.fusion.weights).sum() > 0
    assert row["validation"]["seeds"]["questions"] >= 5
