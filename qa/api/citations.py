"""The citation records every program receives, through MCP and the OpenAI-compatible API
alike: one extract copied verbatim from an article, and where it is. ``text`` is always
``article.text[start:end]`` (character offsets of the article as ``get_article`` returns it)."""
from __future__ import annotations

from qa.records import Answer, Citation, Hit


def record(text: str, citation: Citation, score: float) -> dict:
    """One citation: doc id, title, outlet, date, URL, character start and end, text, score."""
    return {"doc_id": citation.doc_id, "title": citation.title, "outlet": citation.source, "date": citation.date,
            "url": citation.url, "start": citation.start, "end": citation.end, "text": text, "score": round(float(score), 6)}


def citations(answer: Answer) -> list[dict]:
    """The extracts ``answer`` cites, in the order of their [n] markers (n = position + 1);
    empty when the corpus holds no answer."""
    return [{"n": n, **record(s.text, s.citation, s.score)} for n, s in enumerate(answer.snippets, 1)]


def passage(hit: Hit) -> dict:
    """A retrieved passage as a citation record (its rank first)."""
    return {"rank": hit.rank, **record(hit.passage.text, hit.citation, hit.score)}


def answer_span(answer: Answer) -> dict | None:
    """The answer itself, a span of one article, or None (no answer, or no reader ran)."""
    if answer.span is None:
        return None
    c = answer.span.citation
    return {"text": answer.span.text, "doc_id": c.doc_id, "start": c.start, "end": c.end, "n": 1}


def answer_text(answer: Answer) -> str:
    """The answer as a chat client shows it: the span, then each extract after its [n] marker
    with its source; or one line saying the corpus has no answer."""
    if not answer.answered or not answer.snippets:
        return "语料中没有这个问题的答案。The corpus has no answer to this question."
    lines = []
    if answer.span is not None:
        lines += [f"{answer.span.text} [1]", ""]
    for n, s in enumerate(answer.snippets, 1):
        c = s.citation
        source = "，".join(x for x in (f"《{c.title}》" if c.title else c.doc_id, c.source, c.date) if x)
        lines.append(f"[{n}] “{s.text}” —— {source}")
    return "\n".join(lines)
