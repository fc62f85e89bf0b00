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
