"""An HTML page → its visible text, one line per block, with the page chrome that markup
gives away left out; and what the page's markup says about itself (headline, date, author,
outlet).

Left out, by general signals rather than phrase lists: what a browser does not show
(scripts, styles, templates, <head>), what markup declares as not the article (<nav>,
<aside>, forms, buttons, menus, iframes), and blocks that are mostly link text (lists of
related articles, reply threads, share bars, tag clouds: a line at least half of whose
characters are inside links)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree
from lxml import html as lxml_html

from qa.ingest.metadata import plausible_author

_CELL = {"td", "th"}  # a table row is one line, its cells separated by tabs
_BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "header",
          "footer", "blockquote", "pre", "table", "ul", "ol", "dl", "dd", "dt", "title", "center", "form", "hr",
          "main", "figure", "figcaption", "caption", "address", "tbody", "thead", "tfoot"}
_SKIP = {"script", "style", "noscript", "template", "svg", "head", "nav", "aside", "select", "option", "button",
         "textarea", "iframe", "object", "embed", "input", "label", "menu", "map", "canvas"}
# Containers whose class or id names them as not the article (readability's "unlikely
# candidates"), unless the same name also calls them the article's ("post-body", "main-content").
_UNLIKELY = re.compile(r"comment|repl(?:y|ies)|footer|sidebar|side_?nav|leftmenu|rightmenu|navbar|nav\b|^nav|menu\b|breadcrumb|"
                       r"crumb|share|social|related|recommend|copyright|sponsor|advert|banner|popup|login|pagination|pager",
                       re.I)
_MAYBE = re.compile(r"article|body|content|main|text|post|entry|story|detail", re.I)
_UNLIKELY_MAX_SHARE = 0.95  # never drop a container holding this much of the page's text
LINK_DENSITY = 0.3  # a block with at least this share of its characters inside links is a list of links
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)


@dataclass(frozen=True)
class Page:
    """The visible text of a page and its <title>; ``dropped`` counts the characters of
    link-dense blocks left out."""

    text: str
    title: str
    dropped: int = 0
    linked: str = ""  # the link-dense lines left out ("发表于 … by <a>name</a>"), where bylines and dates may hide


def _tree(markup: str):
    markup = _XML_DECL.sub("", markup, count=1)  # lxml refuses a str that declares its encoding
    try:
        return lxml_html.document_fromstring(markup)
    except (etree.ParserError, ValueError):
        return None


def _visible_chars(text: str) -> int:
    return sum(1 for c in text if not c.isspace())


def _unlikely_containers(root) -> set:
    """Elements whose class or id says they are comments, footers, menus, share bars or
    related lists, unless they hold the page's <h1> or most of its text (a wrapper)."""
    body = root.find("body")
    total = _visible_chars(body.text_content()) if body is not None else 0
    found = set()
    for el in root.iter():
        if not isinstance(el.tag, str) or el.tag in ("html", "body"):
            continue
        name = f"{el.get('class') or ''} {el.get('id') or ''}".strip()
        if not name or not _UNLIKELY.search(name) or _MAYBE.search(name):
            continue
        if el.find(".//h1") is not None:
            continue  # holds the headline: a wrapper, whatever its name
        if total and _visible_chars(el.text_content()) < _UNLIKELY_MAX_SHARE * total:
            found.add(el)
    return found


def page_text(markup: str) -> Page:
    """The visible text of an HTML page, one line per block; link-dense blocks left out."""
    root = _tree(markup)
    if root is None:
        return Page("", "")
    title_el = root.find(".//title")
    title = " ".join((title_el.text_content() if title_el is not None else "").split())
    lines: list[str] = []
    link_lines: list[str] = []
    pieces: list[str] = []
    linked = 0
    dropped = 0

    def flush() -> None:
        nonlocal linked, dropped
        line = "".join(pieces)
        total = _visible_chars(line)
        if total and linked / total >= LINK_DENSITY:
            dropped += total
            link_lines.append(" ".join(line.split()))
        elif line.strip():
            lines.append(line)
        pieces.clear()
        linked = 0

    unlikely = _unlikely_containers(root)
    skip = 0
    links = 0
    for event, el in etree.iterwalk(root, events=("start", "end")):
        tag = el.tag if isinstance(el.tag, str) and el not in unlikely else ""
        if event == "start":
            if tag in _SKIP or not tag:
                skip += 1
                continue
            if skip:
                continue
            if tag in _BLOCK:
                flush()
            elif tag in _CELL and "".join(pieces).strip():
                pieces.append("\t")
            if tag == "a":
                links += 1
            if el.text:
                pieces.append(el.text)
                if links:
                    linked += _visible_chars(el.text)
        else:
            if tag in _SKIP or not tag:
                skip -= 1
            elif not skip:
                if tag == "a":
                    links -= 1
                if tag in _BLOCK:
                    flush()
            if not skip and el.tail:
                pieces.append(el.tail)
                if links:
                    linked += _visible_chars(el.tail)
    flush()
    text = "\n\n".join(re.sub(r"[ \t\r\f\v]*\n\s*", "\n", line).strip() for line in lines)
    return Page(text.strip(), title, dropped, "\n".join(link_lines))


_TITLE_SEPARATORS = re.compile(r"\s*(?:_|\||｜|\s-\s|\s–\s|\s—\s|－|-{2,}|::)\s*")


@dataclass(frozen=True)
class PageMeta:
    """What a page's markup says about itself ("" for what it does not say)."""

    title: str = ""
    outlet: str = ""
    author: str = ""


def _meta(root, *names: str) -> str:
    for name in names:
        for el in root.iterfind(".//meta"):
            key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
            if key == name:
                value = " ".join((el.get("content") or "").split())
                if value:
                    return value
    return ""


def headline(title: str, heads: list[str]) -> tuple[str, str]:
    """(headline, site) from a <title> such as "…凝聚强大智慧和力量_巴彦淖尔市人民政府网": a
    heading of the page that the title starts with, else the title's longest part between
    site separators ("_", " - ", "|"); the site is the title's last other part."""
    title = " ".join(title.split())
    for head in heads:
        head = " ".join(head.split())
        if len(head) >= 4 and title.startswith(head) and len(head) < len(title):
            rest = [p for p in _TITLE_SEPARATORS.split(title[len(head):]) if p.strip()]
            return head, rest[-1] if rest else ""
    parts = [p for p in _TITLE_SEPARATORS.split(title) if p.strip()]
    if len(parts) <= 1:
        return title, ""
    best = max(parts, key=len)
    others = [p for p in parts if p is not best]
    return best, others[-1] if others else ""


def page_meta(markup: str) -> PageMeta:
    """Headline (without the site's suffix), outlet and author from a page's markup:
    Open Graph and <meta> tags, its headings and its <title>."""
    root = _tree(markup)
    if root is None:
        return PageMeta()
    title_el = root.find(".//title")
    title = title_el.text_content() if title_el is not None else ""
    og_title = _meta(root, "og:title", "twitter:title", "headline")
    heads = [og_title] + [" ".join(h.text_content().split()) for h in root.iterfind(".//h1")]
    heads += [" ".join(h.text_content().split()) for h in root.iterfind(".//h2")]
    head, site = headline(title, [h for h in heads if h])
    if not head and og_title:
        head = og_title
    outlet = _meta(root, "og:site_name", "application-name") or site
    author = plausible_author(_meta(root, "author", "article:author", "byl", "dc.creator"))
    if author == outlet:
        author = ""  # the site's own name is not a byline
    return PageMeta(head, outlet, author)


def markup_date(markup: str) -> str:
    """The publication date htmldate reads from the page (meta tags, <time>, the URL,
    date patterns), as YYYY-MM-DD (YYYY when it found only a year), or ""."""
    try:
        from htmldate import find_date

        found = find_date(markup, extensive_search=True, original_date=True, outputformat="%Y-%m-%d")
    except Exception:  # noqa: BLE001 - a page htmldate cannot read has no markup date
        return ""
    # htmldate fills a date it read as a year alone with January 1st: say only the year
    return found[:4] if found and found.endswith("-01-01") else found or ""
