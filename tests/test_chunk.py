"""qa.ingest.chunk: sentences and passages as exact spans of the original text; passages hold whole
sentences, stay under max_chars, and lose no text between them."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from seed_ids import SEED_IDS

from qa.ingest.chunk import passage_spans, sentences
from qa.ingest.clean import clean
from qa.text.normalize import normalize

MAX_CHARS, OVERLAP = 300, 80  # the defaults of qa.settings.Settings


def _texts(text, spans):
    return [text[s:e] for s, e in spans]


# -- sentences ----------------------------------------------------------------------------

def test_sentences_split_at_chinese_enders_and_closing_quotes():
    """。！？ end a sentence, and a closing quote right after belongs to the sentence it closes."""
    text = "他说：“你好。”我说！真的？好"
    spans = sentences(text)
    assert spans == [(0, 8), (8, 11), (11, 14), (14, 15)]
    assert _texts(text, spans) == ["他说：“你好。”", "我说！", "真的？", "好"]


def test_sentences_other_enders():
    """Ellipses, semicolons, ASCII ?! and line breaks end sentences; brackets close with them."""
    text = "等等……然后呢?走吧!第一；第二（注。）最后\n下一行"
    assert _texts(text, sentences(text)) == ["等等……", "然后呢?", "走吧!", "第一；", "第二（注。）", "最后", "下一行"]


def test_sentences_are_trimmed_with_exact_offsets():
    """Whitespace around sentences is not part of them, and offsets index the original text."""
    text = "  第一句。  \n\n 第二句！ \u3000"
    spans = sentences(text)
    assert spans == [(2, 6), (11, 15)]
    assert _texts(text, spans) == ["第一句。", "第二句！"]


def test_sentences_of_a_slice_use_absolute_offsets():
    """sentences(text, start, end) looks only inside [start, end) and returns offsets into text."""
    text = "前文。第一句。第二句。后文。"
    assert sentences(text, 3, 11) == [(3, 7), (7, 11)]
    assert _texts(text, sentences(text, 3, 11)) == ["第一句。", "第二句。"]


# -- passages over the seeds ------------------------------------------------------------

def _seed_passages(doc):
    cleaned = clean(doc.text, doc.title)
    spans = passage_spans(doc.text, cleaned.sections, MAX_CHARS, OVERLAP)
    sents = [s for sec in cleaned.sections for s in sentences(doc.text, *sec)]
    return cleaned, spans, sents


@pytest.mark.parametrize("doc_id", SEED_IDS)
def test_seed_passages_fit_max_chars(seed_docs, doc_id):
    """No seed has a sentence over max_chars, so every passage is at most max_chars long."""
    _, spans, sents = _seed_passages(seed_docs[doc_id])
    assert max(e - s for s, e in sents) <= MAX_CHARS
    assert spans and all(0 < e - s <= MAX_CHARS for s, e in spans)


@pytest.mark.parametrize("doc_id", SEED_IDS)
def test_seed_passages_on_sentence_boundaries(seed_docs, doc_id):
    """Every passage starts where a sentence starts and ends where a sentence ends, inside one section."""
    cleaned, spans, sents = _seed_passages(seed_docs[doc_id])
    starts, ends = {s for s, _ in sents}, {e for _, e in sents}
    for s, e in spans:
        assert s in starts and e in ends
        assert sum(1 for a, b in cleaned.sections if a <= s and e <= b) == 1


@pytest.mark.parametrize("doc_id", SEED_IDS)
def test_seed_passages_lose_no_text(seed_docs, doc_id):
    """Passages cover every sentence of every section; consecutive ones overlap or touch (only whitespace between)."""
    doc = seed_docs[doc_id]
    cleaned, spans, sents = _seed_passages(doc)
    for s, e in sents:
        assert any(ps <= s and e <= pe for ps, pe in spans), f"sentence {doc.text[s:e]!r} is in no passage"
    for sec_start, sec_end in cleaned.sections:
        inside = [p for p in spans if sec_start <= p[0] and p[1] <= sec_end]
        assert inside[0][0] == sec_start and inside[-1][1] == sec_end
        for (_, prev_end), (next_start, _) in zip(inside, inside[1:]):
            assert next_start <= prev_end or doc.text[prev_end:next_start].strip() == ""


@pytest.mark.parametrize("doc_id", SEED_IDS)
def test_seed_passages_overlap_by_at_most_overlap_chars(seed_docs, doc_id):
    """Consecutive passages of a section share at most overlap_chars characters, and each starts later."""
    cleaned, spans, _ = _seed_passages(seed_docs[doc_id])
    for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
        assert s1 < s2 and e1 < e2
        assert max(0, e1 - s2) <= OVERLAP


def test_indexed_passages_are_exact_spans(seeds_qa, seed_docs):
    """Indexed passages are the chunker's spans, text == doc.text[start:end], match text = normalised visible text."""
    data = seeds_qa.data()
    assert set(data.documents) == set(SEED_IDS)
    for doc_id in SEED_IDS:
        doc = seed_docs[doc_id]
        cleaned, spans, _ = _seed_passages(doc)
        indexed = [p for p in data.passages if p.doc_id == doc_id]
        assert [(p.start, p.end) for p in indexed] == spans
        for p in indexed:
            assert p.text == doc.text[p.start:p.end]
            visible = normalize(cleaned.visible(doc.text, p.start, p.end))
            assert p.match_text.replace(" ", "") == visible.replace(" ", "")


# -- long sentences -----------------------------------------------------------------------

def test_unpunctuated_run_is_cut_blindly_into_pieces():
    """A clause longer than max_chars is cut into max_chars pieces that tile it exactly."""
    text = "字" * 130
    assert passage_spans(text, ((0, 130),), 50, 0) == [(0, 50), (50, 100), (100, 130)]


def test_long_sentence_is_cut_at_clause_punctuation():
    """A sentence longer than max_chars is cut after its last comma that leaves a piece over a third of the limit."""
    text = "甲" * 30 + "，" + "乙" * 30 + "，" + "丙" * 30 + "。"
    spans = passage_spans(text, ((0, len(text)),), 50, 0)
    assert spans == [(0, 31), (31, 62), (62, 93)]
    assert _texts(text, spans) == ["甲" * 30 + "，", "乙" * 30 + "，", "丙" * 30 + "。"]


def test_bad_chunk_settings_raise():
    """max_chars below 20 or an overlap not below max_chars is refused."""
    with pytest.raises(ValueError):
        passage_spans("句子。", ((0, 3),), 19, 0)
    with pytest.raises(ValueError):
        passage_spans("句子。", ((0, 3),), 50, 50)


def test_every_passage_adds_new_text():
    """No passage lies inside the one before it (sentences of 20, 25 and 30 chars, max 50, overlap 30)."""
    text = "甲" * 19 + "。" + "乙" * 24 + "。" + "丙" * 29 + "。"
    spans = passage_spans(text, ((0, len(text)),), 50, 30)
    for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
        assert e2 > e1, f"{text[s2:e2]!r} is inside {text[s1:e1]!r}"


def test_every_seed_passage_adds_new_text_with_a_large_overlap(seed_docs):
    """With max_chars 200 and overlap 120 (allowed settings), each passage of a seed ends after the previous one."""
    for doc in seed_docs.values():
        cleaned = clean(doc.text, doc.title)
        spans = passage_spans(doc.text, cleaned.sections, 200, 120)
        for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
            assert e2 > e1, f"{doc.id}: passage [{s2}:{e2}] lies inside [{s1}:{e1}]"


# -- properties -----------------------------------------------------------------------------

HANZI = "的一是了我不人在他有这个上们来到时大地为子中你说生国年着就那和要她出也得里后自以会"
PUNCT = "。！？，、；：“”‘’（）《》…!?.,;: \n\t\u3000"
chinese_ish = st.text(alphabet=st.sampled_from(HANZI * 3 + PUNCT + "ab12"), max_size=400)


@given(chinese_ish, st.integers(20, 150), st.data())
def test_passages_property(text, max_chars, data):
    """For any text and settings: passages are in bounds, at most max_chars, and cover every sentence."""
    overlap = data.draw(st.integers(0, max_chars - 1), label="overlap")
    spans = passage_spans(text, ((0, len(text)),), max_chars, overlap)
    for s, e in spans:
        assert 0 <= s < e <= len(text)
        assert e - s <= max_chars
    for s, e in sentences(text):
        for i in range(s, e):
            assert any(ps <= i < pe for ps, pe in spans), f"character {i} of sentence [{s}:{e}] is in no passage"
    for (s1, _), (s2, _) in zip(spans, spans[1:]):
        assert s1 < s2


@given(chinese_ish, st.integers(20, 150))
def test_passages_over_cleaned_sections_property(text, max_chars):
    """Over the sections clean() finds, every passage lies inside one section and all section text is covered."""
    sections = clean(text).sections
    spans = passage_spans(text, sections, max_chars, max_chars // 4)
    for s, e in spans:
        assert sum(1 for a, b in sections if a <= s and e <= b) == 1
        assert e - s <= max_chars
    for a, b in sections:
        for s, e in sentences(text, a, b):
            assert all(any(ps <= i < pe for ps, pe in spans) for i in range(s, e))
