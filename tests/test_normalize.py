"""qa.text.normalize / qa.text.tokenize: the form questions and passages are compared in."""
from __future__ import annotations

import pytest

from qa.text.normalize import normalize, to_simplified
from qa.text.tokenize import tokens


@pytest.mark.parametrize(
    "traditional,simplified",
    [
        ("黨旗所指", "党旗所指"),
        ("黨旗所指 一往無前——直擊清徐", "党旗所指 一往无前——直击清徐"),
        ("韻達快遞物流園", "韵达快递物流园"),
        ("職責所在 義不容辭", "职责所在 义不容辞"),
    ],
)
def test_traditional_to_simplified(traditional, simplified):
    """OpenCC t2s turns traditional script into simplified, character by character."""
    assert to_simplified(traditional) == simplified
    assert normalize(traditional) == simplified


def test_simplified_text_is_unchanged():
    """Already simplified text comes back as it was."""
    assert normalize("清徐县疫情防控指挥部第一时间启动响应机制。") == "清徐县疫情防控指挥部第一时间启动响应机制。"


def test_full_width_to_half_width():
    """Full-width letters, digits and punctuation become ASCII (and letters lower case)."""
    assert normalize("ＡＢＣ１２３") == "abc123"
    assert normalize("你好！？（１）") == "你好!?(1)"


def test_compatibility_ideograph():
    """A compatibility ideograph becomes the unified one, then simplified (U+F900 → 豈 → 岂)."""
    assert normalize("\uf900") == "岂"


def test_case_folding():
    """Case is folded the Unicode way, not just lower-cased."""
    assert normalize("COVID Straße") == "covid strasse"


def test_whitespace_is_collapsed():
    """Runs of any whitespace (tabs, newlines, ideographic spaces) become one space; ends are stripped."""
    assert normalize("  清徐\t\n  縣 \u3000 疫情  ") == "清徐 县 疫情"


def test_both_scripts_give_the_same_tokens():
    """A question in either script yields the same BM25 terms, without question words or punctuation."""
    simplified = tokens(normalize("清徐县是在哪里发现初筛阳性人员的？"))
    traditional = tokens(normalize("清徐縣是在哪裡發現初篩陽性人員的？"))
    assert simplified == traditional == ["清徐", "清徐县", "发现", "初筛", "阳性", "人员"]


def test_english_tokens_drop_stopwords():
    """English questions keep their content words only."""
    assert tokens(normalize("What is the name of the Wuhan police officer?")) == ["what", "name", "wuhan", "police", "officer"]
