"""What a news page says about itself: headline, outlet, publication date."""
from __future__ import annotations

import re
from collections.abc import Callable

from qa.ingest import boilerplate as boilerplate

_FULL_DATE = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})(?!\d)")
_MONTH = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})\s*年\s*(?P<m>\d{1,2})\s*月(?!\s*\d)")
# Words that say a date on the same line is when the piece was published.
_PUBLISHED = re.compile(r"发表|發表|发布|發佈|發布|发稿|發稿|刊登|时间|時間|日期|更新|posted|published|updated", re.I)
_SOURCE = re.compile(r"(?:来源|來源|稿源|出处|出處)\s*[:：]\s*(?P<src>[^\s|｜,，]+)")
_HEAD_LINES = 12


def _full(m: re.Match) -> str:
    y, mo, d = int(m["y"]), int(m["m"]), int(m["d"])
    return f"{y:04d}-{mo:02d}-{d:02d}" if 1 <= mo <= 12 and 1 <= d <= 31 else ""


def find_date(text: str, from_markup: Callable[[], str] | None = None, head: bool = True) -> str:
    """The publication date a page states, as YYYY-MM-DD (YYYY-MM when it names only the
    month), or "": the first full date in the page's head; else a date on a line that says
    it is the publication's ("发表于 2004年12月27日", "本贴由…于2005年8月12日…发表"); else
    what ``from_markup`` reads from the page's markup (htmldate); else a "1998年3月" in the
    head. With ``head`` false only a line that says it holds the publication date counts
    (for lines that may be lists of other articles)."""
    lines = text.splitlines()
    top = "\n".join(lines[:_HEAD_LINES]) if head else ""
    for m in _FULL_DATE.finditer(top):
        if _full(m):
            return _full(m)
    for line in lines:
        if len(line) <= 200 and _PUBLISHED.search(line):
            for m in _FULL_DATE.finditer(line):
                if _full(m):
                    return _full(m)
    found = from_markup() if from_markup is not None else ""
    if re.fullmatch(r"\d{4}", found):
        # a year alone (htmldate found no month): a "1998年3月" of that year anywhere says more
        for m in _MONTH.finditer(text):
            if m["y"] == found and 1 <= int(m["m"]) <= 12:
                return f"{found}-{int(m['m']):02d}"
    if found:
        return found
    m = _MONTH.search(top)
    if m and 1 <= int(m["m"]) <= 12:
        return f"{int(m['y']):04d}-{int(m['m']):02d}"
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


_NAME = r"[\u3400-\u9fffA-Za-z·•][\u3400-\u9fffA-Za-z·•\s\u3000\xa0]{0,30}?"
# Bylines inside prose or after an outlet's name: "…改造。（记者 胡晓蓉）", "新华网黑龙江频道 记者 伊琳 李清芬",
# and forum posts: "ggjjzhzz 发表于 2005-9-15", "本贴由大卫于2005年8月12日…发表", "… 22:36:13 by duscha".
_INLINE_AUTHOR = (
    re.compile(r"[（(]\s*(?:本报|本報|实习|實習|特约|特約)?(?:记者|記者|通讯员|通訊員)[\s\u3000\xa0]*(?P<names>" + _NAME + r")\s*[）)]"),
    re.compile(r"^.{0,24}?(?:记者|記者)[\s\u3000\xa0]+(?P<names>" + _NAME + r")\s*$"),
    re.compile(r"^\s*(?P<names>[^\s:：]{2,20})\s+(?:发表于|發表於)\s*(?:19|20)\d\d"),
    re.compile(r"本[贴帖貼]由(?P<names>[^\s于於]{2,12})[于於]\s*(?:19|20)\d\d"),
    re.compile(r"\d{1,2}:\d{2}(?::\d{2})?\s+by\s+(?P<names>[A-Za-z0-9_\-\u3400-\u9fff]{2,20})", re.I),
)


# A reporter's signoff: "记者马俊峰/文", "本报记者罗科苏盈发自北京", "记者 王明 报道".
_REPORTED_BY = re.compile(r"(?:记者|記者)[\s\u3000\xa0]*(?P<names>[\u3400-\u9fff]{2,8}(?:[\s、][\u3400-\u9fff]{2,4}){0,3})"
                          r"[\s\u3000\xa0]*(?:/\s*[文图圖摄攝]|[发發]自|[报報]道)")
# The closing parenthesis of an article: "（姚峰 上海报道）", "（总台记者 张倩）", "（袁源）".
_SIGNOFF = re.compile(r"[（(]\s*(?P<inside>[^（）()，,。；;：:！？!?]{2,20}?)\s*[）)]\s*$")
# What may follow the names in a signoff: where from and what ("上海报道", "北京电", "摄").
_SIGNOFF_REST = re.compile(r"(?:[\u3400-\u9fff]{0,6}?(?:报道|報道|[发發]自\S{0,6}|电|電|摄|攝|/?文|整理|编译|編譯))?")
_NAME_LINE = re.compile(r"^[\u3400-\u9fff]{2,4}(?:[\s\u3000\xa0、]+[\u3400-\u9fff]{2,4}){0,3}$")


def _person_names(text: str) -> list[str]:
    """The words of ``text`` that jieba's part-of-speech tagger reads as people's names."""
    import jieba.posseg

    from qa.text.tokenize import quiet_jieba

    quiet_jieba()  # initialised quietly, once
    return [w.word for w in jieba.posseg.lcut(text) if w.flag.startswith("nr") and len(w.word) >= 2]


def _signed_names(lines: list[str], title: str) -> list[str]:
    """Authors named the way Chinese articles sign them outside a labelled byline: "记者 X
    发自…" anywhere; a paragraph's closing "（X 上海报道）" (the last one); or a line of names
    alone right under the headline (essays, forum posts). A name must read as a person's name
    to jieba's tagger, so "（完）", "新华社" or a one-word caption never count."""
    for line in lines:
        m = _REPORTED_BY.search(line) if len(line) <= 400 else None
        if m and _person_names(m["names"]):
            return _plausible_names(m["names"])
    for line in reversed(lines):
        m = _SIGNOFF.search(line) if len(line) <= 2000 else None
        if m:
            inside = re.sub(r"^.*?(?:记者|記者|通讯员|通訊員)", "", m["inside"])
            names = _person_names(inside)
            rest = inside.strip()
            for name in names:
                rest = rest.removeprefix(name).lstrip(" \u3000\xa0、")
            if names and inside.strip().startswith(names[0]) and _SIGNOFF_REST.fullmatch(rest):
                return names
    body = [line for line in lines if line != title][:8]
    for line in body:
        if _NAME_LINE.match(line):
            words = [w for w in re.split(r"[\s\u3000\xa0、]+", line) if w]
            if _person_names(words[0]) == [words[0]]:
                return words
    return []


def _plausible_names(text: str) -> list[str]:
    names = [n for n in re.split(r"[\s\u3000\xa0、，,]+", text) if n]
    return names if names and all(len(n) <= 12 and not re.search(r"\d|www|\.", n) for n in names) else []


def find_byline(text: str, title: str = "", signed: bool = True) -> tuple[str, str]:
    """(author, credits) from the page's byline and credit lines: "記者 王明" gives the
    author 王明; "新媒體工作室 出品" and "責編:田洲" are credits, kept as written. The
    author field of a date/source line ("來源:太原晚報 作者: 司勇 2022年…") counts too.
    With ``signed`` (text, not a page's link texts), so do unlabelled signatures (_signed_names)."""
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
    if not authors:
        for line in lines:
            if len(line) > 400:
                continue
            for pattern in _INLINE_AUTHOR:
                m = pattern.search(line)
                if m and _plausible_names(m["names"]):
                    authors.extend(_plausible_names(m["names"]))
                    break
            if authors:
                break
    if not authors and signed:
        authors = _signed_names(lines, title.strip())
    author = " ".join(dict.fromkeys(authors))
    return author, "；".join(dict.fromkeys(credits))


def plausible_author(value: str) -> str:
    """``value`` when it reads as people's names, else "" (pages put their site's name,
    a URL or a CMS's credits in the author <meta>)."""
    value = " ".join(value.split())
    if not value or len(value) > 30 or re.search(r"https?:|www\.|\.(?:com|cn|net)|team|inc\b|[,;，；|]", value, re.I):
        return ""
    return value
