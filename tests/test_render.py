"""HTML of the web chat (qa.web.render): everything escaped, highlights at the right offsets."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from qa.records import Answer, Citation, Document, Hit, Passage, Snippet
from qa.web import render as render

EVIL = '<img src=x onerror=alert(1)><script>alert("x")</script>${alert(2)}{{value}}'
DOC_TEXT = "标题：测试文章\n\n  第一段，没有什么。\n\n  韵达快递物流园发现初筛阳性人员。第二句在这里。\n结尾。"
SNIPPET = "韵达快递物流园发现初筛阳性人员。"


class _Tags(HTMLParser):
    """Every start tag and attribute in a piece of HTML."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def names(self) -> set[str]:
        return {t for t, _ in self.tags}

    def shown(self) -> str:
        return "".join(self.text)


def _doc(text=DOC_TEXT, doc_id="doc 1/a#b.txt", title="测试文章", source="测试日报", date="2026-11-20") -> Document:
    return Document(id=doc_id, text=text, title=title, source=source, date=date)


def _answer(doc: Document, snippet: str = SNIPPET, answered: bool = True, question: str = "问题？") -> Answer:
    start = doc.text.index(snippet)
    end = start + len(snippet)
    p_start = doc.text.index("第一段")
    passage = Passage(0, doc.id, p_start, len(doc.text), doc.text[p_start:], doc.text[p_start:])
    cite = Citation(doc.id, doc.title, doc.source, doc.date, start, end)
    hit = Hit(passage, Citation(doc.id, doc.title, doc.source, doc.date, passage.start, passage.end), 0.9, 1,
              dense_score=0.87, dense_rank=2, bm25_score=7.5, bm25_rank=1, matched_terms=("韵达", "初筛"))
    snippets = (Snippet(doc.text[start:end], cite, 1.2),) if answered else ()
    return Answer(question, answered, snippets, (hit,), "hybrid")


# -- escaping ----------------------------------------------------------------------------
def test_esc_shows_markup_as_text():
    out = render.esc(EVIL)
    assert "<img" not in out and "<script" not in out
    assert "$" not in out and "{" not in out and "}" not in out  # no template engine can read it
    assert _Tags(out).names() == set()
    assert _Tags(out).shown() == EVIL


def test_esc_keeps_line_breaks_and_compact_folds_blank_lines():
    assert render.esc("a\nb\r\nc") == "a<br>b<br>c"
    assert render.esc("a\n\n  \n  b", compact=True) == "a<br>b"
    assert "\n" not in render.esc("a\n\nb")


def test_question_is_escaped():
    out = render.question_html(EVIL)
    assert _Tags(out).names() == {"div"}
    assert _Tags(out).shown() == EVIL


def test_answer_escapes_everything_from_the_corpus():
    doc = _doc(text=f"{EVIL}\n第一段{EVIL}\n{SNIPPET}{EVIL}", doc_id=f"{EVIL}.txt", title=EVIL, source=EVIL, date=EVIL)
    answer = _answer(doc)
    out = render.answer_html(answer, {doc.id: doc.text}, render.rewrite_note(EVIL, EVIL + "？"))
    tags = _Tags(out)
    assert "img" not in tags.names() and "script" not in tags.names()
    assert EVIL in tags.shown()
    for page in (render.article_html(doc, 0, 5), render.why_html(answer, EVIL),
                 render.corpus_html([{"id": doc.id, "title": EVIL, "source": EVIL, "date": EVIL, "passages": 1}])):
        tags = _Tags(page)
        assert not tags.names() & {"img", "script"}, page
        assert EVIL in tags.shown()


def test_attributes_cannot_be_broken_out_of():
    doc = _doc(doc_id='x" onmouseover="alert(1)', title='t" onclick="alert(1)')
    out = render.answer_html(_answer(doc), {doc.id: doc.text})
    for _, attrs in _Tags(out).tags:
        assert not any(name.startswith("on") for name in attrs)


# -- citations ---------------------------------------------------------------------------
@pytest.mark.parametrize("doc_id", ["002_55bd9ca71670d804.txt", "a/b c#?.txt", "新闻 1.md", EVIL, "%2F..%2F"])
def test_cite_href_round_trip(doc_id):
    href = render.cite_href(doc_id, 12, 40, "chat")
    assert href.startswith("#zq/chat/")
    assert render.parse_cite(href) == ("chat", doc_id, 12, 40)
    assert render.parse_cite(render.cite_href(doc_id, where="corpus")) == ("corpus", doc_id, None, None)


@pytest.mark.parametrize("href", ["", "#", "#zq/", "#zq/evil/x/1/2", "javascript:alert(1)", "#zq/chat/x/a/b", None])
def test_parse_cite_rejects_anything_else(href):
    assert render.parse_cite(href) is None


def test_parse_cite_drops_a_backwards_span():
    assert render.parse_cite("#zq/chat/x/9/3") == ("chat", "x", None, None)


# -- highlights --------------------------------------------------------------------------
def test_highlight_marks_exactly_the_span():
    text = "甲乙丙丁戊己"
    assert render.highlight(text, 2, 4) == "甲乙<mark>丙丁</mark>戊己"
    assert render.highlight(text, 2, 4, "zq-hl") == '甲乙<mark id="zq-hl">丙丁</mark>戊己'
    # a text that begins at offset 10 of its document
    assert render.highlight(text, 12, 14, offset=10) == "甲乙<mark>丙丁</mark>戊己"
    # clipped to the text; an empty span marks nothing
    assert render.highlight(text, 8, 30, offset=4) == "甲乙丙丁<mark>戊己</mark>"
    assert render.highlight(text, 3, 3) == "甲乙丙丁戊己"
    assert render.highlight("<b>", 0, 3) == "<mark>&lt;b&gt;</mark>"


def test_article_marks_the_cited_span_and_keeps_line_breaks():
    doc = _doc()
    start = doc.text.index(SNIPPET)
    out = render.article_html(doc, start, start + len(SNIPPET), passages=2)
    marked = re.search(r'<mark id="zq-hl">(.*?)</mark>', out)
    assert marked and marked.group(1) == SNIPPET
    assert out.count("<mark") == 1
    assert "<br><br>  第一段" in out  # original line breaks and indentation
    assert "测试日报" in out and "2026-11-20" in out and "2 段" in out
    # no span, or a span outside the text: the article without a mark
    assert "<mark" not in render.article_html(doc)
    assert "<mark" not in render.article_html(doc, 5, 10_000)
    assert "不在索引中" in render.article_html(None)


def test_answer_cites_and_marks_the_snippet():
    doc = _doc()
    answer = _answer(doc)
    out = render.answer_html(answer, {doc.id: doc.text})
    assert "\n" not in out  # one HTML block for the chat's Markdown
    assert SNIPPET in out
    links = [a for t, a in _Tags(out).tags if t == "a"]
    assert links and all("zq-cite" in a["class"] for a in links)
    start = doc.text.index(SNIPPET)
    assert {render.parse_cite(a["href"]) for a in links} == {("chat", doc.id, start, start + len(SNIPPET))}
    assert "[1]" in _Tags(out).shown()
    # the passage under the citation, with the cited sentence in <mark>
    assert f"<mark>{SNIPPET}</mark>" in out
    assert "第一段" in out and "测试日报" in out and "2026-11-20" in out


def test_answer_without_article_text_still_shows_the_extract():
    doc = _doc()
    out = render.answer_html(_answer(doc), {})
    assert f"<mark>{SNIPPET}</mark>" in out


def test_context_span_is_the_passage_or_a_window():
    doc = _doc()
    answer = _answer(doc)
    s, e = answer.snippets[0].citation.start, answer.snippets[0].citation.end
    assert render.context_span(s, e, answer.hits, doc.id, len(doc.text)) == (answer.hits[0].passage.start, len(doc.text))
    assert render.context_span(s, e, [], doc.id, len(doc.text)) == (max(0, s - render.CONTEXT_CHARS), min(len(doc.text), e + render.CONTEXT_CHARS))


def test_no_answer_is_said_plainly():
    out = render.answer_html(_answer(_doc(), answered=False), {})
    assert render.NO_ANSWER in out and "语料中没有答案" in out
    assert "<mark" not in out and "zq-cite" not in out


def test_rewrite_note():
    assert render.rewrite_note("他的妻子是做什么的？", "他的妻子是做什么的？") == ""
    note = render.rewrite_note("他的妻子是做什么的？", "董健的妻子是做什么的？")
    assert "按上文理解为：" in _Tags(note).shown() and "董健的妻子是做什么的？" in note


def test_why_lists_every_score():
    doc = _doc()
    out = render.why_html(_answer(doc), "问题？")
    shown = _Tags(out).shown()
    for piece in ("#1", "0.900", "0.870", "(#2)", "7.50", "韵达", "初筛", "已引用"):
        assert piece in shown, piece
    assert "提问后" in render.why_html(None)


def test_corpus_lists_articles_with_links():
    docs = [{"id": "a.txt", "title": "甲", "source": "", "date": "", "passages": 3},
            {"id": "b.txt", "title": "乙", "source": "日报", "date": "2020-01-01", "passages": 5}]
    out = render.corpus_html(docs)
    hrefs = [a["href"] for t, a in _Tags(out).tags if t == "a"]
    assert [render.parse_cite(h) for h in hrefs] == [("corpus", "a.txt", None, None), ("corpus", "b.txt", None, None)]
    assert "日报" in out and "2020-01-01" in out
    assert "还没有文章" in render.corpus_html([])


def test_upload_report_escapes_file_names():
    from qa.index.build import IndexReport

    report = IndexReport(documents=6, passages=53, added=["20261122-x.txt"])
    out = render.upload_report_html([(EVIL + ".txt", "20261122-x.txt")], [EVIL, f"{EVIL}: same text as the indexed 'a.txt'"], report)
    assert not _Tags(out).names() & {"img", "script"}
    assert "已索引 Indexed." in out and "新增 added 1" in out
    assert [render.parse_cite(a["href"]) for t, a in _Tags(out).tags if t == "a"] == [("corpus", "20261122-x.txt", None, None)]
    assert "Nothing new" in render.upload_report_html([], [], IndexReport(documents=5, passages=52))
