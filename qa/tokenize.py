"""Words for BM25: jieba's search-engine segmentation of normalised text, without
punctuation, whitespace and Chinese function words."""
from __future__ import annotations

import logging
import re
from functools import cache

_WORD = re.compile(r"[\w\u3400-\u9fff]", re.UNICODE)


@cache
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


@cache
def stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_CHINESE, STOPWORDS_EN

    # Question words carry the question's form, not its topic.
    extra = {"什么", "哪些", "哪个", "哪里", "哪儿", "多少", "怎么", "怎样", "如何", "为什么", "是否", "吗", "呢", "谁", "几"}
    return frozenset(STOPWORDS_CHINESE) | frozenset(STOPWORDS_EN) | extra


def tokens(normalized: str) -> list[str]:
    """BM25 terms of an already normalised text (see normalize.normalize)."""
    stop = stopwords()
    return [t for t in _jieba().cut_for_search(normalized) if _WORD.search(t) and t not in stop and not t.isspace()]


# -- a bridge for English questions about Chinese names ---------------------------------
# "Dong Jian", "Qingxu County", "Hubei" are pinyin. The index maps the pinyin of every
# name-like word of its vocabulary back to the word (dongjian → 董健), and the capitalised
# words of a question are looked up there, alone and joined in pairs ("Li Nan" → linan).
_CAPITALISED_RUN = re.compile(r"(?:\b[A-Z][a-z]+\b[\s-]*)+")
_NAME_TAGS = ("nr", "ns", "nt", "nz")


@cache
def _name_tags() -> dict:
    import jieba.posseg

    _jieba()
    return jieba.posseg.dt.word_tag_tab


def pinyin_terms(words: list[str]) -> list[tuple[str, str]]:
    """(word, pinyin with syllables joined, no tones) for the name-like words among
    ``words``: words jieba's dictionary tags as names, and words it does not know."""
    from pypinyin import lazy_pinyin

    tags, known = _name_tags(), _jieba().dt.FREQ
    out = []
    for w in dict.fromkeys(words):
        if len(w) >= 2 and all("\u3400" <= c <= "\u9fff" for c in w) and (tags.get(w) in _NAME_TAGS or w not in known):
            out.append((w, "".join(lazy_pinyin(w))))
    return out


def latin_name_terms(text: str) -> list[str]:
    """Capitalised words of a question as it was typed, alone and joined in pairs."""
    out = []
    for run in _CAPITALISED_RUN.finditer(text):
        words = [w.lower() for w in re.findall(r"[A-Za-z]+", run.group())]
        out += words + [a + b for a, b in zip(words, words[1:])]
    stop = stopwords()
    return [t for t in dict.fromkeys(out) if t not in stop]
