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


def test_into_traditional_takes_the_forms_the_passage_uses():
    question = "最高峰在哪里？"
    assert in_script(question, "traditional", like="玉山是臺灣的最高峰，位於裡面") == "最高峰在哪裡？"  # Taiwan's
    assert in_script(question, "traditional", like="最高峯在山裏") == "最高峯在哪裏？"  # OpenCC's and Hong Kong's
    assert in_script(question, "traditional") == "最高峯在哪裏？"  # nothing to go by: OpenCC's own
