"""qa.ingest.clean / qa.ingest.mojibake: the article is located inside the page as spans of the original
text; page chrome, mojibake runs and pinyin glosses stay out of what matching sees."""
from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from seed_ids import SEED_IDS

from qa.ingest.clean import Cleaned, clean
from qa.ingest.mojibake import find_mojibake
from qa.text.gloss import strip_glosses

DOC002 = "002_55bd9ca71670d804.txt"

# Page chrome each seed really contains (checked below), which no section may include.
CHROME = {
    "000_cad178f2f31bd5d0.txt": ["河北新闻>>本网原创>>", "来源:河北新闻网", "进入移动版", "责任编辑:张永猛", "更多精彩内容",
                                 "官方微信", "相关新闻", "立即打开", "网站首页", "我要评论", "分享文章", "回到顶部"],
    "001_4c3f5a124836c178.txt": ["2020/2/24 10:35"],
    "002_55bd9ca71670d804.txt": ["您當前的位置", "太原新聞網 >>", "來源:太原晚報", "作者: 司勇", "(責編:田洲)"],
    "003_747ace748feff19e.txt": ["撰 文 | 查旦一", "編 輯 |", "新媒體工作室 出品", "【津衛頭條兒】公安河西分局吹響青年集結號",
                                 "【津衛突擊隊】打贏這場戰“疫”,我們上!", "分享到:", "相關文章:"],
    "004_62723c32f6056b4d.txt": ["首页\xa0>\xa0网群", "本站发表时间", "来源:北京政法网", "[供稿单位:石景山区委政法委]",
                                 "[责任编辑:郜蕾]"],
}
# A sentence of the article body of each seed, which must survive cleaning.
BODY = {
    "000_cad178f2f31bd5d0.txt": "在原有398个检查站的基础上,一夜增加了900多个疫情检查站",
    "001_4c3f5a124836c178.txt": "武汉市公安局江岸区分局劳动街派出所湖边坊社区民警但建伟",
    "002_55bd9ca71670d804.txt": "韻達快遞物流園發(fā)現初篩陽性人員",
    "003_747ace748feff19e.txt": "他也因工作勞累,腰椎病多次發作。",
    "004_62723c32f6056b4d.txt": "他叫董健,是石景山公安分局八宝山派出所瑞达社区的一名社区民警。",
}
TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"


def _section_texts(doc) -> list[str]:
    cleaned = clean(doc.text, doc.title)
    return [doc.text[s:e] for s, e in cleaned.sections]


@pytest.mark.parametrize("doc_id", SEED_IDS)
def test_chrome_is_outside_all_sections(seed_docs, doc_id):
    """Navigation, share, related-article, editor and source lines never reach a section."""
    doc = seed_docs[doc_id]
    sections = _section_texts(doc)
    assert sections
    for phrase in CHROME[doc_id]:
        assert phrase in doc.text, f"test data: {phrase!r} is not in {doc_id}"
        assert not any(phrase in s for s in sections), f"{phrase!r} leaked into a section of {doc_id}"


@pytest.mark.parametrize("doc_id", SEED_IDS)
def test_headline_and_meta_lines_are_outside_sections(seed_docs, doc_id):
    """No section contains a whole line that is the page's headline or its date/source line."""
    doc = seed_docs[doc_id]
    lines = {line.strip() for line in doc.text.splitlines()}
    assert doc.title in lines
    for section in _section_texts(doc):
        assert doc.title not in section.splitlines()
        assert not any(line.strip().startswith(("来源", "來源")) for line in section.splitlines())


@pytest.mark.parametrize("doc_id", SEED_IDS)
def test_article_body_is_kept(seed_docs, doc_id):
    """A sentence from the middle of each article is inside a section."""
    assert any(BODY[doc_id] in s for s in _section_texts(seed_docs[doc_id]))


@pytest.mark.parametrize("doc_id", SEED_IDS)
def test_sections_are_sorted_trimmed_spans(seed_docs, doc_id):
    """Sections of a seed are sorted, disjoint, inside the text and start/end on non-space."""
    text = seed_docs[doc_id].text
    cleaned = clean(text, seed_docs[doc_id].title)
    prev_end = 0
    for s, e in cleaned.sections:
        assert prev_end <= s < e <= len(text)
        assert text[s:e] == text[s:e].strip()
        prev_end = e


def test_opening_quoted_question_of_003_is_kept(seed_docs):
    """The first line of 003's article (the child's question that the next paragraph answers) is article content."""
    doc = seed_docs["003_747ace748feff19e.txt"]
    line = "“爸爸,我好長時間沒看見你了,你什麼時候回來啊?”"
    assert line in doc.text
    assert any(line in s for s in _section_texts(doc))


# -- mojibake ---------------------------------------------------------------------------

@pytest.mark.parametrize("doc_id", [d for d in SEED_IDS if d != DOC002])
def test_no_mojibake_in_clean_seeds(seed_docs, doc_id):
    """find_mojibake reports nothing in the seeds without encoding damage (000, 001, 003, 004)."""
    assert find_mojibake(seed_docs[doc_id].text) == []


def test_mojibake_runs_of_002(seed_docs):
    """Each "?!" loss marker of 002 starts a mojibake span, and "?!焙诔菭I" lies wholly inside one."""
    text = seed_docs[DOC002].text
    spans = find_mojibake(text)
    markers = [m.start() for m in re.finditer(r"\?!", text)]
    assert len(markers) == 5
    assert [s for s, _ in spans] == markers
    run = text.index("?!焙诔菭I")
    assert any(s <= run and run + len("?!焙诔菭I") <= e for s, e in spans)


def test_mojibake_runs_of_002_are_outside_sections(seed_docs):
    """No section overlaps a mojibake run; the article resumes right where each run ends."""
    doc = seed_docs[DOC002]
    cleaned = clean(doc.text, doc.title)
    spans = find_mojibake(doc.text)
    for bs, be in spans:
        assert not any(s < be and bs < e for s, e in cleaned.sections)
        assert any(s == be for s, _ in cleaned.sections), "the text after a run is lost"
        assert any(e == bs for _, e in cleaned.sections), "the text before a run is lost"
    joined = "".join(doc.text[s:e] for s, e in cleaned.sections)
    for garbage in ("?!", "焙诔菭I", "坝辛丝h", "笨h", "耙钥熘瓶欤"):
        assert garbage not in joined
    assert "村黨總支書記薛紅江說。" in joined


def test_replacement_characters_are_cut_out():
    """U+FFFD left by a damaged download is cut out of the sections; the text around it stays."""
    text = "董健是石景山公安分局八宝山派出所的社区民警。\ufffd\ufffd瑞达社区常住人口5200余人。"
    cleaned = clean(text)
    joined = "".join(text[s:e] for s, e in cleaned.sections)
    assert "\ufffd" not in joined
    assert "董健是石景山公安分局八宝山派出所的社区民警。" in joined and "瑞达社区常住人口5200余人。" in joined


# -- pinyin glosses ---------------------------------------------------------------------

def test_glosses_of_002_are_hidden(seed_docs):
    """Every pinyin gloss in 002 (a toned syllable in brackets right after a hanzi) is a hidden span."""
    text = seed_docs[DOC002].text
    cleaned = clean(text, seed_docs[DOC002].title)
    expected = [(m.start(), m.end()) for m in re.finditer(rf"(?<=[\u4e00-\u9fff])\([a-z{TONED}ü]+\)", text)]
    assert len(expected) == 70
    assert list(cleaned.hidden) == expected
    assert {text[s:e] for s, e in cleaned.hidden} >= {"(zhàn)", "(xiāng)", "(qū)", "(fā)"}


def test_visible_removes_glosses(seed_docs):
    """Cleaned.visible() gives a section's text without its glosses: 戰(zhàn) → 戰."""
    doc = seed_docs[DOC002]
    cleaned = clean(doc.text, doc.title)
    for s, e in cleaned.sections:
        visible = cleaned.visible(doc.text, s, e)
        assert visible == strip_glosses(doc.text[s:e])
        assert not re.search(rf"\([a-z{TONED}]+\)", visible)
    s = doc.text.index("王答鄉(xiāng)韻達")
    assert cleaned.visible(doc.text, s, s + len("王答鄉(xiāng)韻達")) == "王答鄉韻達"


def test_visible_with_span_edges_inside_a_gloss():
    """A span that starts or ends inside a gloss shows no part of it."""
    text = "直擊清徐戰(zhàn)“疫”24小時"
    cleaned = Cleaned(sections=((0, len(text)),), hidden=((5, 11),))
    assert cleaned.visible(text, 0, len(text)) == "直擊清徐戰“疫”24小時"
    assert cleaned.visible(text, 7, len(text)) == "“疫”24小時"
    assert cleaned.visible(text, 0, 8) == "直擊清徐戰"


@pytest.mark.parametrize(
    "before,after",
    [
        ("戰(zhàn)“疫”", "戰“疫”"),
        ("王答鄉(xiāng)韻達快遞物流園發(fā)現", "王答鄉韻達快遞物流園發現"),
        ("開發(fā)區(qū)主要領導", "開發區主要領導"),
        ("包聯(社區(qū))奔走", "包聯(社區)奔走"),
        ("(責編:田洲)", "(責編:田洲)"),
        ("戰(zhan)", "戰(zhan)"),  # no tone mark: not a gloss
        ("abc(zhàn)", "abc(zhàn)"),  # not after a hanzi
        ("人員(COVID)", "人員(COVID)"),
    ],
)
def test_strip_glosses(before, after):
    """strip_glosses removes toned pinyin in brackets after a hanzi, and nothing else."""
    assert strip_glosses(before) == after


# -- properties -------------------------------------------------------------------------

PIECES = list("的一是了我不人在他有这个上们来到时大地为子中你说生国年着就那和要她出也得里后自以會員") + list(
    "。！？，、；：“”（）《》 \n\n\t?!.…") + [
    "\u3000", "责任编辑:", "分享到", "相关新闻", "来源:新华网", "2020-01-02", ">>", "?!焙诔菭I", "戰(zhàn)", "\ufffd",
    "\ue0e9", "【津衛新青年】", "abc", "(xiāng)", "回到顶部", "第一时间启动响应机制。",
]
page_text = st.lists(st.sampled_from(PIECES), max_size=200).map("".join)


@given(page_text, st.lists(st.sampled_from(PIECES), max_size=6).map("".join))
def test_clean_sections_property(text, title):
    """For any page: sections are sorted, disjoint, in bounds, non-empty and already stripped."""
    cleaned = clean(text, title)
    prev_end = 0
    for s, e in cleaned.sections:
        assert prev_end <= s < e <= len(text)
        assert text[s:e] and text[s:e] == text[s:e].strip()
        prev_end = e
    for s, e in cleaned.hidden:
        assert 0 <= s < e <= len(text)


@given(page_text)
def test_clean_never_keeps_loss_markers_property(text):
    """For any page: no section overlaps a span find_mojibake reports."""
    cleaned = clean(text)
    for bs, be in find_mojibake(text):
        assert not any(s < be and bs < e for s, e in cleaned.sections)


def test_short_lines_between_prose_are_the_articles_own_but_not_at_its_edges():
    """A list between two paragraphs (requirements, a table's rows) is article text; the same
    kind of run after the last paragraph is a page's link list or footer."""
    text = ("报考条件如下，请考生仔细阅读。\n热爱祖国\n身体健康\n年龄不超过45岁\n"
            "报名时请携带身份证复印件和学历证书。\n网站首页\n联系我们\n友情链接\n")
    sections = [text[s:e] for s, e in clean(text).sections]
    assert sections == ["报考条件如下，请考生仔细阅读。\n热爱祖国\n身体健康\n年龄不超过45岁\n报名时请携带身份证复印件和学历证书。"]
    assert clean(text, inner_runs=False).sections != clean(text).sections  # the old rule dropped the list too
