"""A question as the library receives it: validated, cleaned of markup, normalised and cut
into the words BM25 looks for."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace

from qa.errors import BadQuestion
from qa.index.folder import IndexData
from qa.text.gloss import strip_glosses
from qa.text.normalize import normalize
from qa.text.wellformed import visible
from qa.text.tokenize import latin_name_terms
from qa.text.tokenize import tokens as bm25_tokens

MAX_QUESTION_CHARS = 2000  # longer is pasted text, not a question; every face refuses it with one sentence

_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
# Markdown links and images keep their text, lose their target; bare URLs and script
# schemes are not words anyone asks about.
_MD_LINK = re.compile(r"!?\[([^\[\]]*)\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+\"[^\"]*\")?\)")
_URL = re.compile(r"(?i)\b(?:https?|ftp|file|data|javascript|vbscript):[^\s<>\]）]*")


@dataclass(frozen=True)
class Query:
    """A question as asked, and the forms retrieval uses."""

    text: str
    normalized: str
    tokens: tuple[str, ...]


def make_query(question: str) -> Query:
    """Validate and normalise a question; raise BadQuestion with what to do instead."""
    text = check_question(question)
    # Markup in a question (pasted HTML, injection attempts) is not what is asked about, nor
    # are the pinyin glosses of a sentence pasted from a glossed page ("發(fā)現" asks 發現).
    without_tags = strip_glosses(_URL.sub(" ", _MD_LINK.sub(r" \1 ", _TAG.sub(" ", text))))
    normalized = normalize(without_tags if any(unicodedata.category(c)[0] in "LN" for c in without_tags) else text)
    return Query(text, normalized, tuple(bm25_tokens(normalized)))


def check_question(question: str) -> str:
    """The question as it will be asked, or BadQuestion with what to do instead; cheap (no
    dictionary loads), so a command can refuse a bad question before it loads anything."""
    if not isinstance(question, str):
        raise BadQuestion("The question must be text; type a question in Chinese or English.")
    # Lone surrogates become U+FFFD (every later stage needs well-formed Unicode); control
    # and format characters (bidi overrides such as U+202E, zero-width spaces) change how a
    # question looks, never what it asks: dropped, so none is echoed back either.
    text = visible(question).strip()
    if not text:
        raise BadQuestion("The question is empty; type a question, e.g. 清徐县是在哪里发现初筛阳性人员的？")
    if len(text) > MAX_QUESTION_CHARS:
        raise BadQuestion(f"The question is {len(text)} characters long; shorten it to at most {MAX_QUESTION_CHARS}.")
    if not any(unicodedata.category(c)[0] in "LN" for c in text):
        raise BadQuestion("The question has no words to search for; type a question with words in it.")
    return text


def with_name_aliases(query: Query, data: IndexData) -> Query:
    """Add the corpus's own words for the pinyin names of a question typed in Latin letters
    ("Dong Jian" → 董健, "Qingxu" → 清徐): the bridge that lets BM25 help English questions."""
    extra = [w for term in latin_name_terms(query.text) for w in data.bm25.aliases.get(term, ())]
    if not extra:
        return query
    return replace(query, tokens=tuple(dict.fromkeys(query.tokens + tuple(extra))))
