"""What a news page says about itself: headline, outlet, publication date."""
from __future__ import annotations

import re

from qa.ingest import boilerplate as boilerplate

_DATE_PATTERNS = (
    re.compile(r"(?P<y>(?:19|20)\d{2})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})"),
)
_SOURCE = re.compile(r"(?:来源|來源|稿源|出处|出處)\s*[:：]\s*(?P<src>[^\s|｜,，]+)")
_HEAD_LINES = 12


def find_date(text: str) -> str:
    """The first full date in the page's head, as YYYY-MM-DD, or ""."""
    head = "\n".join(text.splitlines()[:_HEAD_LINES])
    for pattern in _DATE_PATTERNS:
        m = pattern.search(head)
        if m:
            y, mo, d = int(m["y"]), int(m["m"]), int(m["d"])
            if 1 <= mo <= 12 and 1 <= d <= 31:
                return f"{y:04d}-{mo:02d}-{d:02d}"
    return ""


def find_source(text: str) -> str:
    """The outlet named on a "来源:" line, else the site named in the breadcrumb."""
    m = _SOURCE.search(text)
    if m:
        return m["src"].strip("[]【】")
    for line in text.splitlines()[:3]:
        if boilerplate.is_breadcrumb(line):
            for part in re.split(r">>|>|＞|»|:|：", line):
                part = part.strip()
                if part.endswith(("网", "網", "报", "報", "新闻", "新聞")):
                    return part
    return ""


def find_title(text: str) -> str:
    """The headline: the first line in the page's head that is neither navigation nor a
    date/source line, and short enough to be a headline."""
    for line in text.splitlines()[:_HEAD_LINES]:
        line = line.strip()
        if not line or boilerplate.is_boilerplate_line(line) or boilerplate.is_meta_line(line):
            continue
        if len(line) <= 80:
            return line
        break
    return ""


_AUTHOR_FIELD = re.compile(r"(?:作者|記者|记者)\s*[:：]\s*(?P<names>[^\s|｜:：\[\]【】()（）]{2,20}(?:[ 、][^\s|｜:：\[\]【】()（）\d]{2,4})*)")


def find_byline(text: str) -> tuple[str, str]:
    """(author, credits) from the page's byline and credit lines: "記者 王明" gives the
    author 王明; "新媒體工作室 出品" and "責編:田洲" are credits, kept as written. The
    author field of a date/source line ("來源:太原晚報 作者: 司勇 2022年…") counts too."""
    authors: list[str] = []
    credits: list[str] = []
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for pos, line in enumerate(lines):
        fields = boilerplate.byline(line)
        if fields:
            for kind, names in fields:
                if kind == "author":
                    authors.extend(names)
            if any(kind == "credit" for kind, _ in fields):
                credits.append(line)
        elif pos < _HEAD_LINES and boilerplate.is_meta_line(line):
            m = _AUTHOR_FIELD.search(line)
            if m:
                authors.extend(n for n in re.split(r"[ 、]", m["names"]) if n)
    author = " ".join(dict.fromkeys(authors))
    return author, "；".join(dict.fromkeys(credits))
