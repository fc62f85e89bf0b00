"""qa.text.script: which script a text is in, and a question put into a passage's script."""
from __future__ import annotations

import pytest

from qa.text.script import in_script, script_of


@pytest.mark.parametrize("text, script", [
    ("黨旗所指 一往無前——直擊清徐戰“疫”24小時", "traditional"),
    ("陸特和漢斯雷頓開創了哪一地區對梵語的學術研究？", "traditional"),
    ("台北在哪裡？", "traditional"),  # 台 is Taiwan's and Hong Kong's form too: not simplified-only
    ("最高峰", None),  # 峰: OpenCC's own traditional standard writes 峯, Taiwan's 峰
    ("台北", None),
    ("這是什么", None),  # one traditional-only (這), one simplified-only (么): a tie
    ("清徐县疫情防控指挥部第一时间启动响应机制。", "simplified"),
    ("河北省公安厅的三道防线分别是什么？", "simplified"),
    ("日本天皇的生日", None),  # characters both scripts share
    ("Who founded it? 2022", None),
    ("", None),
])
def test_script_of(text, script):
    assert script_of(text) == script


def test_in_script_converts_only_the_other_script():
    assert in_script("河北省公安厅的三道防线分别是什么？", "traditional") == "河北省公安廳的三道防線分別是什麼？"
    assert in_script("陸特開創了哪一地區的學術研究？", "simplified") == "陆特开创了哪一地区的学术研究？"
    for text in ("河北省公安厅", "日本天皇的生日", "Who?", ""):
        assert in_script(text, "simplified") == text
        assert in_script(text, None) == text
    assert in_script("陸特開創了", "traditional") == "陸特開創了"
    assert in_script("日本天皇的生日", "traditional") == "日本天皇的生日"  # no definite script: as typed
    assert in_script("什么", "traditional ") == "什么"  # not a script: as typed
    assert in_script(None, "simplified") == ""


def test_early_exit_gives_the_full_counts_answer():
    """script_of stops once the traditional count exceeds what the simplified-only count can
    still reach; on mixed strings it agrees with counting all three conversions in full."""
    import random

    from qa.text.script import TO_TRADITIONAL, _rewritten

    def full(text):
        traditional = sum(_rewritten(text, "t2s"))
        simplified = sum(all(f) for f in zip(*(_rewritten(text, c) for c in TO_TRADITIONAL)))
        return "traditional" if traditional > simplified else "simplified" if simplified > traditional else None

    pool = "這是什么們们國国學学裡里裏台臺峰峯後后發发髮乾干只隻的了在和日本天皇，。"
    rng = random.Random(7)
    texts = ["".join(rng.choice(pool) for _ in range(rng.randint(1, 30))) for _ in range(500)]
    verdicts = [script_of.__wrapped__(t) for t in texts]
    assert verdicts == [full(t) for t in texts]
    assert {"traditional", "simplified", None} <= set(verdicts)


def test_into_traditional_takes_the_forms_the_passage_uses():
    question = "最高峰在哪里？"
    assert in_script(question, "traditional", like="玉山是臺灣的最高峰，位於裡面") == "最高峰在哪裡？"  # Taiwan's
    assert in_script(question, "traditional", like="最高峯在山裏") == "最高峯在哪裏？"  # OpenCC's and Hong Kong's
    assert in_script(question, "traditional") == "最高峯在哪裏？"  # nothing to go by: OpenCC's own
