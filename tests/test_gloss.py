"""Pinyin glosses (qa.text.gloss): found, stripped, and a view without them mapped back."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from qa.text.gloss import gloss_spans, strip_glosses, without_glosses


def test_a_view_without_glosses_maps_back_onto_the_text():
    text = "王答鄉(xiāng)韻達快遞物流園發(fā)現,荨(qián)麻(COVID)"
    view, index = without_glosses(text)
    assert view == strip_glosses(text) == "王答鄉韻達快遞物流園發現,荨麻(COVID)"
    assert len(index) == len(view) + 1 and index[-1] == len(text)
    assert [text[i] for i in index[:-1]] == list(view)
    a = view.index("鄉")
    assert text[index[a] : index[a + 1]] == "鄉(xiāng)"  # a character and its gloss
    assert text[index[a] : index[a] + 1] == "鄉"


def test_a_text_without_glosses_is_its_own_view():
    for text in ["", "戰(zhan)", "人員(COVID)", "abc(zhàn)", "普通的句子。"]:
        assert without_glosses(text) == (text, None)
        assert gloss_spans(text) == ()


PIECES = ["戰", "(zhàn)", "發", "(fā)", "現", "(xiàn)", "(", ")", "a", "，", " ", "\n", "(COVID)", "區", "(qū)"]


@given(st.lists(st.sampled_from(PIECES), max_size=60).map("".join), st.data())
def test_every_view_range_maps_to_the_same_text_with_its_glosses(text, data):
    view, index = without_glosses(text)
    if index is None:
        assert view == text and not gloss_spans(text)
        return
    a = data.draw(st.integers(0, len(view)))
    b = data.draw(st.integers(a, len(view)))
    if b > a:
        start, end = int(index[a]), int(index[b - 1]) + 1
        assert strip_glosses(text[start:end]) == view[a:b]
        assert not any(s < end <= e - 1 or s <= start < e for s, e in gloss_spans(text))
