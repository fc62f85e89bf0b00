"""HTML for the web chat: answers with their citations, the full article with the cited
passage marked, "why these passages", the corpus list. Pure functions of records and
texts; every piece of text from the corpus or from a user goes through ``esc`` (HTML
escaping, and ``$ { }`` as entities so that no template engine reads them), so a
question or an article holding ``<script>`` shows as text.

Chat messages are one line of HTML with no blank line and no indentation: the chat's
Markdown renderer then passes them through as one HTML block, untouched.

A citation is a link ``<a class="zq-cite" href="#zq/WHERE/DOC/START/END">``; the app
catches clicks on it (see ``parse_cite``) and opens the article there.
"""
from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from urllib.parse import quote, unquote

from qa.records import Answer, Document, Hit, Snippet

HIGHLIGHT_ID = "zq-hl"
CONTEXT_CHARS = 120  # shown around a snippet that lies outside every retrieved passage
NO_ANSWER = "语料中没有答案。"
NO_ANSWER_EN = "The corpus has no answer to this question."
_CITE = re.compile(r"^#zq/(chat|corpus|why)/([^/]*)/(-?\d*)/(-?\d*)$")
_ASK = re.compile(r"^#zq/ask/([^/]+)$")


_BLANK_LINES = re.compile(r"[ \t\u3000]*\n[\s\u3000]*")


def esc(text: str, compact: bool = False) -> str:
    """Text as HTML that shows exactly ``text``: escaped, line breaks as ``<br>``. With
    ``compact``, a run of blank lines and indentation is one line break (for extracts)."""
    text = str(text).replace("\r\n", "\n")
    if compact:
        text = _BLANK_LINES.sub("\n", text)
    return _entities(text).replace("\n", "<br>")


def _entities(text: str) -> str:
    return html.escape(str(text), quote=True).replace("$", "&#36;").replace("{", "&#123;").replace("}", "&#125;")


def attr(text: str) -> str:
    """A value for inside a double-quoted HTML attribute."""
    return _entities(text).replace("\n", " ")


# -- citations ---------------------------------------------------------------------------
def cite_href(doc_id: str, start: int | None = None, end: int | None = None, where: str = "chat") -> str:
    """The link target of a citation: which panel opens it, the article, the span."""
    s = "" if start is None else str(int(start))
    e = "" if end is None else str(int(end))
    return f"#zq/{where}/{quote(doc_id, safe='')}/{s}/{e}"


def parse_cite(href: str) -> tuple[str, str, int | None, int | None] | None:
    """(where, doc id, start, end) of a citation link, or None for anything else."""
    m = _CITE.match(href or "")
    if not m:
        return None
    where, doc, s, e = m.groups()
    start = int(s) if s not in ("", "-") else None
    end = int(e) if e not in ("", "-") else None
    if start is not None and end is not None and (start < 0 or end < start):
        start = end = None
    return where, unquote(doc), start, end


def ask_href(question: str) -> str:
    """The link target that asks ``question`` in the chat (a failure in the Evaluate tab)."""
    return f"#zq/ask/{quote(question, safe='')}"


def parse_ask(href: str) -> str | None:
    """The question of an ``ask_href`` link, or None for anything else."""
    m = _ASK.match(href or "")
    return unquote(m.group(1)) if m else None


def _cite_link(label: str, doc_id: str, start: int | None, end: int | None, where: str, title: str = "", cls: str = "") -> str:
    extra = f" {cls}" if cls else ""
    tip = f' title="{attr(title)}"' if title else ""
    return f'<a class="zq-cite{extra}" href="{attr(cite_href(doc_id, start, end, where))}"{tip}>{esc(label)}</a>'


# -- highlighting ------------------------------------------------------------------------
def highlight(text: str, start: int, end: int, mark_id: str | None = None, offset: int = 0, compact: bool = False) -> str:
    """``text`` (which begins at ``offset`` of its document) escaped, with the document
    span [start, end) in ``<mark>``; the span is clipped to the text."""
    s = min(max(start - offset, 0), len(text))
    e = min(max(end - offset, s), len(text))
    if e <= s:
        return esc(text, compact)
    ident = f' id="{attr(mark_id)}"' if mark_id else ""
    return f"{esc(text[:s], compact)}<mark{ident}>{esc(text[s:e], compact)}</mark>{esc(text[e:], compact)}"


def context_span(snippet_start: int, snippet_end: int, hits: Sequence[Hit], doc_id: str, doc_len: int) -> tuple[int, int]:
    """The span shown under a citation: the retrieved passage that holds the snippet
    (widened to all of the snippet), else CONTEXT_CHARS either side of it."""
    best = None
    for h in hits:
        p = h.passage
        if p.doc_id != doc_id or p.end <= snippet_start or p.start >= snippet_end:
            continue
        overlap = min(p.end, snippet_end) - max(p.start, snippet_start)
        if best is None or overlap > best[0]:
            best = (overlap, p.start, p.end)
    if best is not None:
        return min(best[1], snippet_start), max(best[2], snippet_end)
    return max(0, snippet_start - CONTEXT_CHARS), min(doc_len, snippet_end + CONTEXT_CHARS)


def _meta(title: str | None, source: str, date: str) -> str:
    parts = [] if title is None else [f'<span class="zq-title">{esc(title)}</span>']
    parts.append(f'<span class="zq-outlet">{esc(source)}</span>' if source else '<span class="zq-outlet zq-unknown">来源不详</span>')
    parts.append(f'<span class="zq-date">{esc(date)}</span>' if date else '<span class="zq-date zq-unknown">日期不详</span>')
    return '<span class="zq-sep"> · </span>'.join(parts)


# -- answers -----------------------------------------------------------------------------
def rewrite_note(original: str, query: str) -> str:
    """按上文理解为：… — shown when a follow-up was rewritten with the conversation."""
    if not query or query == original:
        return ""
    return (f'<div class="zq-rewrite">按上文理解为：<b>{esc(query)}</b>'
            f' <span class="zq-en">(understood from the conversation as above)</span></div>')


def answer_html(answer: Answer, texts: Mapping[str, str], note: str = "",
                uploads: Mapping[str, Document] | None = None) -> str:
    """The chat message for an answer: the snippets, verbatim, each with its marker [n];
    then, for each, the source (title · outlet · date) and the passage with the snippet
    marked. ``texts`` maps document ids to their text; ``note`` is ``rewrite_note``;
    ``uploads`` holds the cited documents that were uploaded (marked as such)."""
    if not answer.answered or not answer.snippets:
        hint = ('<p class="zq-hint">最接近的段落列在侧栏「为何是这些段落」中。'
                '<span class="zq-en"> The closest passages are in the sidebar, under “Why these passages”.</span></p>'
                if answer.hits else "")
        return (f'<div class="zq-answer zq-none">{note}<p class="zq-noanswer"><b>{NO_ANSWER}</b>'
                f' <span class="zq-en">{NO_ANSWER_EN}</span></p>{hint}</div>')
    lines, sources = [], []
    for n, snip in enumerate(answer.snippets, 1):
        c = snip.citation
        lines.append(f'<p class="zq-snippet">{_with_span(snip, answer.claimed_span if n == 1 else None)} '
                     f'{_cite_link(f"[{n}]", c.doc_id, c.start, c.end, "chat", title=c.title)}</p>')
        sources.append(source_html(n, snip, answer.hits, texts.get(c.doc_id), (uploads or {}).get(c.doc_id)))
    return (f'<div class="zq-answer">{note}{confidence_html(answer)}<div class="zq-snippets">{"".join(lines)}</div>'
            f'<div class="zq-sources"><div class="zq-sources-h">来源 Sources</div>{"".join(sources)}</div></div>')


def confidence_html(answer: Answer) -> str:
    """What the answer claims and how sure it is (qa/answer/confidence.py): the bold span is
    the answer, or the first sentence is (no phrase in it claimed); empty without a confidence."""
    if answer.confidence is None:
        return ""
    what = ("答案为粗体部分 <span class=\"zq-en\">the answer is in bold</span>" if answer.claimed_span is not None else
            "答案在第一句中 <span class=\"zq-en\">the answer is in the first sentence</span>")
    return (f'<div class="zq-confidence" data-confidence="{answer.confidence:.2f}">{what} · '
            f'置信度 <span class="zq-en">confidence</span> {answer.confidence:.0%}</div>')


def _with_span(snip: Snippet, span) -> str:
    """The snippet's text, escaped, with the reader's answer span in bold where it lies
    inside it (the answer is always shown within its cited sentence)."""
    c = snip.citation
    if span is None or span.citation.doc_id != c.doc_id or not (c.start <= span.citation.start < span.citation.end <= c.end):
        return esc(snip.text)
    a, b = span.citation.start - c.start, span.citation.end - c.start
    return f'{esc(snip.text[:a])}<b class="zq-span">{esc(snip.text[a:b])}</b>{esc(snip.text[b:])}'


def source_html(n: int, snip: Snippet, hits: Sequence[Hit], doc_text: str | None, upload: Document | None = None) -> str:
    """One cited source under an answer: [n] title · outlet · date, the passage with the
    cited sentence marked, and a link to the whole article; an uploaded document says so,
    with the id it was uploaded as."""
    c = snip.citation
    if doc_text is not None and doc_text[c.start : c.end] == snip.text:
        cs, ce = context_span(c.start, c.end, hits, c.doc_id, len(doc_text))
        body = highlight(doc_text[cs:ce], c.start, c.end, offset=cs, compact=True)
        body = ("…" if cs > 0 else "") + body + ("…" if ce < len(doc_text) else "")
    else:  # the article changed since this answer: show the extract alone
        body = f"<mark>{esc(snip.text, compact=True)}</mark>"
    head = f'{_cite_link(f"[{n}]", c.doc_id, c.start, c.end, "chat", title=c.title)} {_meta(c.title, c.source, c.date)}'
    link = _cite_link("查看原文 View article →", c.doc_id, c.start, c.end, "chat", cls="zq-open")
    return (f'<div class="zq-source"><div class="zq-source-h">{head}{upload_badge(upload)}</div>'
            f'<div class="zq-passage">{body}</div><div class="zq-source-f">{link}'
            f' <span class="zq-docid">{esc(c.doc_id)} [{c.start}:{c.end}]</span></div></div>')


def upload_badge(doc: Document | Mapping | None) -> str:
    """上传 uploaded (as NAME, when, by whom): marks a document added through the web chat."""
    get = (lambda k: getattr(doc, k, "")) if isinstance(doc, Document) else (lambda k: (doc or {}).get(k) or "")
    if doc is None or not get("uploaded_at"):
        return ""
    who = f" · {esc(get('uploaded_by'))}" if get("uploaded_by") else ""
    return (f' <span class="zq-badge zq-uploaded" title="{attr(get("original_id"))}">上传 uploaded'
            f' · 原 id {esc(get("original_id"))} · {esc(get("uploaded_at"))}{who}</span>')


def question_html(question: str) -> str:
    """The user's message in the chat, as text."""
    return f'<div class="zq-question">{esc(question)}</div>'


# -- the article view --------------------------------------------------------------------
def article_html(doc: Document | None, start: int | None = None, end: int | None = None,
                 passages: int | None = None) -> str:
    """The whole article, escaped, its line breaks kept, the span [start, end) in
    ``<mark id="zq-hl">`` (scrolled into view by the app)."""
    if doc is None:
        return article_hint("这篇文章已不在索引中。", "This article is no longer in the index.")
    if start is not None and end is not None and 0 <= start < end <= len(doc.text):
        body = highlight(doc.text, start, end, HIGHLIGHT_ID)
    else:
        body = esc(doc.text)
    facts = [f"{len(doc.text):,} 字 chars"]
    if passages is not None:
        facts.append(f"{passages} 段 passages")
    facts.append(f'<span class="zq-docid">{esc(doc.id)}</span>')
    return (f'<div class="zq-article"><h3 class="zq-article-title">{esc(doc.title)}</h3>'
            f'<div class="zq-meta">{_meta(None, doc.source, doc.date)}'
            f'<span class="zq-sep"> · </span>{" · ".join(facts)}</div>'
            f'<div class="zq-text">{body}</div></div>')


def article_hint(zh: str = "点击引用标记（如 [1]）查看原文，引用的段落会被高亮。",
                        en: str = "Click a citation such as [1] to read the whole article with the passage highlighted.") -> str:
    return f'<div class="zq-hint"><p>{esc(zh)}</p><p class="zq-en">{esc(en)}</p></div>'


# -- why these passages ------------------------------------------------------------------
def _score(x: float | None, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def why_html(answer: Answer | None, asked: str = "") -> str:
    """For each retrieved passage: fused rank and score, the BM25 terms it matched, its
    dense (cosine) score and rank, its BM25 score and rank."""
    if answer is None:
        return ('<div class="zq-hint"><p>提问后，这里列出检索到的段落及其得分。</p>'
                '<p class="zq-en">After a question, the retrieved passages and their scores appear here.</p></div>')
    head = (f'<div class="zq-why-h">问题 Question: <b>{esc(asked or answer.question)}</b>'
            f' <span class="zq-badge">{esc(answer.mode)}</span></div>')
    if not answer.hits:
        return f'<div class="zq-why">{head}<p>没有检索到段落。<span class="zq-en"> No passage was retrieved.</span></p></div>'
    cited = {(s.citation.doc_id, s.citation.start) for s in answer.snippets}
    cards = []
    for h in answer.hits:
        p = h.passage
        used = any(d == p.doc_id and p.start <= s < p.end for d, s in cited)
        badge = ' <span class="zq-badge">已引用 cited</span>' if used else ""
        if h.moved_first:
            badge += ' <span class="zq-badge" title="moved ahead of passages scored higher">答案在此，移至首位 holds the answer shown, moved first</span>'
        terms = "".join(f'<span class="zq-term">{esc(t)}</span>' for t in h.matched_terms) or '<span class="zq-unknown">无 none</span>'
        preview = p.text if len(p.text) <= 90 else p.text[:90] + "…"
        cards.append(
            f'<div class="zq-hit{" zq-used" if used else ""}">'
            f'<div class="zq-hit-h"><span class="zq-rank">#{h.rank}</span> '
            f'{_cite_link(h.citation.title, p.doc_id, p.start, p.end, "chat", title=p.doc_id)}'
            f'{badge}</div>'
            f'<div class="zq-hit-text">{esc(preview, compact=True)}</div>'
            f'<table class="zq-scores"><tr><th>融合 fused</th><td>{_score(h.score)} (#{h.fused_rank or h.rank})</td></tr>'
            f'<tr><th>向量 dense</th><td>{_score(h.dense_score)}{f" (#{h.dense_rank})" if h.dense_rank else ""}</td></tr>'
            f'<tr><th>BM25</th><td>{_score(h.bm25_score, 2)}{f" (#{h.bm25_rank})" if h.bm25_rank else ""}</td></tr>'
            f'<tr><th>匹配词 terms</th><td>{terms}</td></tr></table></div>')
    return f'<div class="zq-why">{head}{"".join(cards)}</div>'


# -- the corpus --------------------------------------------------------------------------
def corpus_html(documents: Sequence[Mapping]) -> str:
    """The indexed articles (rows of id, title, source, date, passages and, for an
    upload, original_id, uploaded_at, uploaded_by): title, outlet, date, passages, each
    with a link that opens it in full; uploaded ones marked."""
    if not documents:
        return '<div class="zq-hint"><p>索引中还没有文章。</p><p class="zq-en">The index holds no article yet.</p></div>'
    rows = []
    for i, d in enumerate(documents, 1):
        rows.append(
            f'<tr><td class="zq-num">{i}</td><td>{_cite_link(d.get("title") or d["id"], d["id"], None, None, "corpus", cls="zq-doc")}'
            f'<div class="zq-docid">{esc(d["id"])}</div>{upload_badge(d)}</td>'
            f'<td>{esc(d.get("source") or "–")}</td><td class="zq-nowrap">{esc(d.get("date") or "–")}</td>'
            f'<td class="zq-num">{int(d.get("passages") or 0)}</td></tr>')
    return ('<table class="zq-corpus"><thead><tr><th>#</th><th>标题 Title</th><th>来源 Outlet</th>'
            '<th>日期 Date</th><th>段落 Passages</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table>")


def stats_html(info: Mapping) -> str:
    """One line about the index."""
    return (f'<div class="zq-stats">索引 Index: <b>{int(info.get("documents", 0))}</b> 篇文章 articles · '
            f'<b>{int(info.get("passages", 0))}</b> 段 passages · 模型 model {esc(info.get("model") or "?")}</div>')


# -- uploads -----------------------------------------------------------------------------
def upload_report_html(saved: Sequence[tuple[str, str]], problems: Sequence[str], report) -> str:
    """What an upload did: files kept (original name → the server's name), documents
    added (an IndexReport), files and documents not indexed and why."""
    parts = []
    if report is not None:
        done = "已索引 Indexed." if report.added else "没有新文档 Nothing new was indexed."
        parts.append(f'<p><b>{done}</b> 新增 added {len(report.added)} · '
                     f'索引共 {report.documents} 篇文章 articles, {report.passages} 段 passages '
                     f'<span class="zq-en">({report.seconds:.1f} s)</span></p>')
        if report.added:
            parts.append("<ul>" + "".join(f"<li>{_cite_link(i, i, None, None, 'corpus')}</li>" for i in report.added) + "</ul>")
    if saved:
        parts.append('<p class="zq-en">保存为 Saved as: ' + "; ".join(f"{esc(o)} → {esc(n)}" for o, n in saved) + "</p>")
    if problems:
        parts.append("<p>未索引 Not indexed:</p><ul>" + "".join(f"<li>{esc(p)}</li>" for p in problems) + "</ul>")
    return f'<div class="zq-upload-report">{"".join(parts)}</div>'


# -- evaluation --------------------------------------------------------------------------
def eval_hint() -> str:
    return ('<div class="zq-hint"><p>选择题目文件、检索方式和 k，然后点击「运行评测」。</p>'
            '<p class="zq-en">Choose a question file, the retrieval mode and k, then press Run.</p></div>')


def eval_summary_html(report, source: str) -> str:
    """One line over the results of an evaluation (an ``EvalReport``) of ``source``."""
    return (f'<div class="zq-eval-summary"><b>{esc(source)}</b> · {int(report.questions)} 题 questions · '
            f'top {int(report.k)} · {report.seconds:.1f} s <span class="zq-en">(recall@k: a passage of an expected '
            'article that holds the answer is within the top k; answer@1: the first snippet holds the answer; '
            'abstain: share of unanswerable questions declined)</span></div>')


def eval_section(title_zh: str, title_en: str, body: str, hint: str = "") -> str:
    """A titled block of the Evaluate tab around ``body``, HTML made by ``qa.evaluate.report``
    (escaped there); ``hint`` is plain text."""
    note = f'<p class="zq-hint">{esc(hint)}</p>' if hint else ""
    return f'<div class="zq-eval-section"><h3>{esc(title_zh)} <span class="zq-en">{esc(title_en)}</span></h3>{note}{body}</div>'
