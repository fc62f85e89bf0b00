"""Property tests over hostile text for the three stages that must never lose or shift a
character: the cleaner, the normaliser and the chunker, here as the indexer runs them
together (qa.index.build.prepare). The single-stage properties live in tests/test_clean.py and
tests/test_chunk.py; these add what only shows when the stages are composed: passage and
sentence offsets map back to the original exactly, the matching text of each sentence sits
exactly where the indexer says it does, no article text falls between passages, and no
passage exceeds its limit."""
from __future__ import annotations

import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from qa.index.build import prepare
from qa.ingest.chunk import sentences
from qa.ingest.clean import clean
from qa.ingest.load import sha256_text
from qa.records import Document
from qa.settings import Settings
from qa.text.normalize import normalize

HANZI = "的一是了我不人在他有这个上们来到时大地为子中你说生国年着就那和要她出也得里后自以会戰爭鄉韻達"
PUNCT = "。！？，、；：“”‘’（）《》…!?.,;:"
ODD = ["(zhàn)", "(xiāng)", "\ufffd", "😀", "ｆｕｌｌ", "ＡＢＣ１２３", "\u3000", "\t", " ", "e\u0301", "ﬁ", "㍿", "Ⅻ",
       "<b>", "](javascript:", "\u200b", "\r\n", "\n", "\n\n", "首页 > 新闻 > 正文", "责任编辑：王某", "焙诔菭I"]
piece = st.one_of(st.text(st.sampled_from(HANZI), min_size=1, max_size=30), st.sampled_from(list(PUNCT)), st.sampled_from(ODD),
                  st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=4))
article_text = st.lists(piece, min_size=1, max_size=120).map("".join).map(lambda t: t.replace("\r\n", "\n").replace("\r", "\n"))
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def document(text: str, title: str = "") -> Document:
    return Document(id="doc.txt", text=text, title=title or "doc.txt", source="", date="", path="doc.txt", sha256=sha256_text(text))


@settings(max_examples=120)
@given(article_text, st.sampled_from(["", "标题", "戰(zhàn)爭新闻"]), st.integers(50, 200), st.data())
def test_prepared_passages_map_back_exactly_and_lose_nothing(text, title, max_chars, data):
    overlap = data.draw(st.integers(0, max_chars - 1), label="overlap")
    cfg = Settings(max_chars=max_chars, overlap_chars=overlap)
    doc = document(text, title)
    cleaned = clean(doc.text, doc.title)
    prepared = prepare(doc, cfg)
    for p in prepared:
        assert 0 <= p.start < p.end <= len(text)
        assert p.end - p.start <= max_chars  # no passage exceeds its limit
        assert sum(1 for a, b in cleaned.sections if a <= p.start and p.end <= b) == 1  # inside one section
        for (s, e), (rs, re_) in zip(p.sentences, p.sentence_ranges):
            assert p.start <= s < e <= p.end  # sentence offsets lie inside their passage
            # the indexer's range of each sentence in the embedded text is exactly its normalised visible text
            assert p.embed_text[rs:re_] == normalize(cleaned.visible(text, s, e))
        assert p.match_text in p.embed_text and p.embed_text.endswith(p.match_text)
    for a, b in zip(prepared, prepared[1:]):
        assert a.start < b.start
    # no text is lost between passages: every character of every sentence of the article text is in one
    covered = set()
    for p in prepared:
        covered.update(range(p.start, p.end))
    for a, b in cleaned.sections:
        for s, e in sentences(text, a, b):
            missing = [i for i in range(s, e) if i not in covered]
            assert not missing, f"characters {missing[:5]} of sentence {text[s:e]!r} are in no passage"


@settings(max_examples=200)
@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80) | article_text)
def test_normalise_is_idempotent_and_canonical(text):
    once = normalize(text)
    assert normalize(once) == once  # the same form however often it is applied
    assert once == once.strip() and "  " not in once and "\n" not in once and "\t" not in once
    assert unicodedata.normalize("NFKC", once) == once
    assert not any("\uff01" <= c <= "\uff5e" for c in once)  # no full-width ASCII left
    assert once == once.casefold()


@given(st.text(st.sampled_from("戰爭鄉韻達發現縣陽篩員黨"), min_size=1, max_size=20))
def test_normalise_makes_traditional_and_simplified_meet(text):
    from qa.text.normalize import to_simplified

    assert normalize(text) == normalize(to_simplified(text))


@settings(max_examples=150)
@given(article_text)
def test_clean_sections_and_visible_text_are_sound(text):
    """Sections are sorted, disjoint, in bounds and trimmed; what matching sees of a section
    never holds a loss marker or a control character, and is never longer than the section."""
    cleaned = clean(text)
    last = 0
    for a, b in cleaned.sections:
        assert last <= a < b <= len(text)
        assert not text[a].isspace() and not text[b - 1].isspace()
        last = b
        visible = cleaned.visible(text, a, b)
        assert "\ufffd" not in visible and not CONTROL.search(visible)
        assert len(visible) <= b - a  # hiding glosses only ever removes text
