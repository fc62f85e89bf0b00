"""The answer span: the reader's span is the answer, cut from the article's original text,
inside the first snippet; the JSON contract carries it; without the reader nothing changes
but the span."""
from __future__ import annotations

import pytest

from qa.engine import QA
from qa.settings import Settings

QINGXU = "清徐县是在哪里发现初筛阳性人员的？"


@pytest.fixture(scope="module")
def no_reader(seeds_index_dir, encoder):
    return QA(Settings(index_dir=seeds_index_dir, reader=False), encoder=encoder)


def test_answer_span_is_original_text_inside_the_first_snippet(seeds_qa, seed_docs):
    answer = seeds_qa.ask(QINGXU)
    assert answer.answered and answer.span is not None
    span, first = answer.span, answer.snippets[0]
    doc = seed_docs[span.citation.doc_id]
    assert doc.text[span.citation.start:span.citation.end] == span.text
    assert first.citation.doc_id == span.citation.doc_id
    assert first.citation.start <= span.citation.start < span.citation.end <= first.citation.end
    assert 0 < len(span.text) < len(first.text) + 1


def test_json_contract_carries_the_answer(seeds_qa, seed_docs):
    out = seeds_qa.ask(QINGXU).to_json()
    a = out["answer"]
    assert set(a) == {"text", "doc_id", "start", "end", "score"}
    assert seed_docs[a["doc_id"]].text[a["start"]:a["end"]] == a["text"]
    assert out["snippets"][0]["start"] <= a["start"] and a["end"] <= out["snippets"][0]["end"]


def test_unanswered_has_no_answer(seeds_qa):
    out = seeds_qa.ask("2018年世界杯冠军是哪个国家？").to_json()
    assert out["answered"] is False and out["answer"] is None and out["snippets"] == []


def test_reader_finds_the_span_in_the_article(seeds_qa):
    """The span names the place (韻達快遞物流園), not just a sentence about the event."""
    span = seeds_qa.ask(QINGXU).span
    assert span is not None and "物流園" in span.text and len(span.text) <= 30


def test_without_the_reader_the_same_passages_and_no_span(seeds_qa, no_reader):
    with_reader, without = seeds_qa.ask(QINGXU).to_json(), no_reader.ask(QINGXU).to_json()
    assert without["answer"] is None
    assert with_reader["passages"] == without["passages"]
    assert with_reader["answered"] == without["answered"]


def test_chat_shows_the_span_in_bold_inside_its_sentence(seeds_qa, seed_docs):
    """The chat message holds the first snippet with the answer span, escaped, in <b class="zq-span">."""
    from qa.web import render

    answer = seeds_qa.ask(QINGXU)
    html = render.answer_html(answer, {d: seed_docs[d].text for d in seed_docs})
    assert f'<b class="zq-span">{render.esc(answer.span.text)}</b>' in html
    assert html.count('class="zq-span"') == 1


def test_span_markup_is_escaped():
    """A span whose text holds markup is shown as text, bold, never as HTML."""
    from qa.records import Answer, AnswerSpan, Citation, Snippet
    from qa.web import render

    text = "前文<script>alert(1)</script>后文。"
    cite = Citation("d", "t", "", "", 0, len(text))
    span = AnswerSpan("<script>alert(1)</script>", Citation("d", "t", "", "", 2, 27), -1.0)
    html = render.answer_html(Answer("q", True, (Snippet(text, cite, 1.0),), (), span=span), {"d": text})
    assert "<script>" not in html and '<b class="zq-span">&lt;script&gt;' in html
