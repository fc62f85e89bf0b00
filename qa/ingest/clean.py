"""Find the article inside a web page, without changing a character of it.

The result is a set of spans over the original text: ``sections`` are the stretches of real
article content (navigation, share links, related-article lists, editor and source lines,
repeated captions, duplicated paragraphs and mojibake runs fall between them), and
``hidden`` are inline stretches inside sections that matching must not see (pinyin glosses
such as the "(zhàn)" of "戰(zhàn)"). Offsets always index the original text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from qa.ingest import boilerplate as boilerplate
from qa.ingest.mojibake import find_mojibake
from qa.text.gloss import gloss_spans
from qa.text.normalize import normalize

_TAIL_MARKERS = re.compile(r"^(?:相关新闻|相關新聞|相关文章|相關文章|相关阅读|相關閱讀|相关链接|相關鏈接)\s*[:：]?$")
_LINK_RUN = 3  # this many link-like lines in a row are a list of links, not prose
_DUPLICATE_MIN = 12  # lines at least this long are dropped when they repeat


# Why a document with text yields no passage (IndexReport.not_indexed, load warnings).
CHROME_ONLY = "only page chrome (navigation, link lists, bylines), no article text"


@dataclass(frozen=True)
class Cleaned:
    sections: tuple[tuple[int, int], ...]
    hidden: tuple[tuple[int, int], ...]

    def visible(self, text: str, start: int, end: int) -> str:
        """text[start:end] without the hidden inline spans (what matching sees)."""
        parts, pos = [], start
        for hs, he in self.hidden:
            if he <= start or hs >= end:
                continue
            parts.append(text[pos:max(pos, hs)])
            pos = max(pos, he)
        parts.append(text[pos:end])
        return "".join(parts)


def _lines(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text)]


def _dropped_lines(text: str, lines: list[tuple[int, int]], title: str, inner_runs: bool = False) -> set[int]:
    dropped: set[int] = set()
    soft: set[int] = set()  # dropped for what they resemble (a headline, a link), not for what they are
    norm_title = normalize(title) if title else ""
    seen: set[str] = set()
    nonblank = [i for i, (s, e) in enumerate(lines) if text[s:e].strip()]
    for pos, i in enumerate(nonblank):
        s, e = lines[i]
        line = text[s:e].strip()
        norm = normalize(line)
        if _TAIL_MARKERS.match(line) and pos >= len(nonblank) * 0.5:
            dropped.update(nonblank[pos:])  # everything after "相关新闻" is the page's footer
            break
        if boilerplate.is_boilerplate_line(line) or (pos < 12 and boilerplate.is_meta_line(line)):
            dropped.add(i)
        elif boilerplate.byline(line):
            dropped.add(i)  # "記者 王明": metadata (Document.author, .credits), not a passage
        elif norm_title and norm == norm_title:
            dropped.add(i)  # the headline, repeated as a caption
            soft.add(i)
        elif len(norm) >= _DUPLICATE_MIN and norm in seen:
            dropped.add(i)  # the same paragraph again (pages that print the article twice)
        seen.add(norm)
    # Runs of short lines that end no sentence: link lists, footers, bylines. With
    # ``inner_runs`` kept (a page whose links the markup already took out), a run between
    # two stretches of prose is the article's own: a table, a list of requirements.
    run: list[int] = []
    runs: list[list[int]] = []
    prose: list[int] = []  # positions in nonblank of lines that are prose
    for pos, i in enumerate(nonblank + [None]):
        if i is not None and (i in dropped or boilerplate.is_link_like(text[lines[i][0]:lines[i][1]])):
            run.append(pos)
            continue
        if i is not None:
            prose.append(pos)
        if sum(1 for j in run if nonblank[j] not in dropped) and len(run) >= _LINK_RUN:
            runs.append(run)
        run = []
    for run in runs:
        if inner_runs and prose and prose[0] < run[0] and prose[-1] > run[-1]:
            continue
        lines_of_run = [nonblank[j] for j in run]
        soft.update(j for j in lines_of_run if j not in dropped)
        dropped.update(lines_of_run)
    # The copyright and licence lines themselves; they still bound the runs above, as a
    # table at the end of the article is the article's when only the footer follows it.
    dropped.update(i for i in nonblank if boilerplate.is_legal_line(text[lines[i][0]:lines[i][1]]))
    if soft and all(i in dropped for i in nonblank):
        # Nothing would be left: a one-paragraph brief whose only line was taken for its
        # headline, a short list that is the whole document. Its text is the article.
        dropped -= soft
    return dropped


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def clean(text: str, title: str = "", inner_runs: bool = True) -> Cleaned:
    """Locate the article content of ``text`` (a page whose headline is ``title``)."""
    lines = _lines(text)
    dropped = _dropped_lines(text, lines, title, inner_runs)
    sections: list[tuple[int, int]] = []
    current: list[int] | None = None
    for i, (s, e) in enumerate(lines):
        if not text[s:e].strip():
            continue
        if i in dropped:
            current = None
            continue
        if current is None:
            current = [s, e]
            sections.append(current)  # type: ignore[arg-type]
        else:
            current[1] = e
    # Mojibake runs cut sections: they must never reach a passage or an answer.
    cut: list[tuple[int, int]] = []
    bad = find_mojibake(text)
    for s, e in sections:
        pos = s
        for bs, be in bad:
            if be <= pos or bs >= e:
                continue
            cut.append((pos, bs))
            pos = be
        cut.append((pos, e))
    spans = tuple(t for t in (_trim(text, s, e) for s, e in cut) if t[1] > t[0])
    hidden = gloss_spans(text)
    return Cleaned(sections=spans, hidden=hidden)
