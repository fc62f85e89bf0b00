"""Recognise the parts of a news web page that are not the article: navigation, share and
comment links, related-article lists, editor lines, and the date/source line."""
from __future__ import annotations

import re

# Whole-line phrases that only ever appear in page chrome, in both scripts.
_CHROME = re.compile(
    r"进入移动版|進入移動版|回到顶部|回到頂部|返回顶部|返回頂部|分享到|分享文章|我要评论|我要評論|网站首页|網站首頁"
    r"|相关新闻|相關新聞|相关文章|相關文章|相关阅读|相關閱讀|立即打开|立即打開|更多精彩内容|更多精彩內容"
    r"|官方微信|官方微博|扫一扫|掃一掃|打印本页|打印本頁|关闭窗口|關閉窗口|字号|字號|客户端|客戶端"
    r"|您当前的位置|您當前的位置|当前位置|當前位置|版权所有|版權所有|免责声明|免責聲明"
)
# The legal footer every Chinese site carries (ICP licence, copyright, illegal-content hotline).
_LEGAL = re.compile(
    r"ICP[备備证證]|公网安备|公網安備|all rights reserved|copyright\s*(?:©|\(c\)|&copy;|\d)|©\s*(?:\d|[A-Za-z])"
    r"|版权所有|版權所有|违法和不良信息|違法和不良信息|新闻信息服务许可证|新聞信息服務許可證",
    re.IGNORECASE,
)
_EDITOR = re.compile(
    r"^[\[\(（【]?\s*(?:责任编辑|責任編輯|责编|責編|编辑|編輯|供稿单位|供稿單位|审核|審核|校对|校對)\s*[:：]"
)
_BREADCRUMB = re.compile(r"(?:>>|»|\s>\s|\s＞\s)")
_META = re.compile(r"(?:来源|來源|作者|发布时间|發佈時間|发表时间|發表時間|时间|時間)\s*[:：]")
_DATE_ONLY = re.compile(r"^[\s\[\]【】]*(?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}日?[\s\d:：]*[\]】]?\s*$")
_SENTENCE_END = re.compile(r"[。！？!?；;…”」』]$")
_FULL_STOP = re.compile(r"[。；;]")


def is_breadcrumb(line: str) -> bool:
    return bool(_BREADCRUMB.search(line)) and len(line.strip()) <= 60


def is_meta_line(line: str) -> bool:
    """A date/source/author line such as "2020-09-24 02:49:41 来源:河北新闻网"."""
    line = line.strip()
    if _DATE_ONLY.match(line):
        return True
    return bool(_META.search(line)) and len(line) <= 80 and not _SENTENCE_END.search(line)


def is_boilerplate_line(line: str) -> bool:
    """Navigation, sharing, related-links and editor lines."""
    line = line.strip()
    if not line:
        return False
    if _EDITOR.search(line):
        return True
    if len(line) <= 40 and _CHROME.search(line):
        return True
    return is_breadcrumb(line)


def is_legal_line(line: str) -> bool:
    """A site's legal footer line: copyright, ICP licence number, reporting hotline."""
    line = line.strip()
    return 0 < len(line) <= 200 and bool(_LEGAL.search(line)) and not line.endswith(("。", "”", "」"))


def is_link_like(line: str) -> bool:
    """A short line without a full stop: a headline in a list of links, a footer item."""
    line = line.strip()
    # Quoted speech ("“爸爸,你什麼時候回來啊?”") is prose, however short.
    return 0 < len(line) <= 40 and not _FULL_STOP.search(line) and not line.endswith(("”", "」", "』"))


def _spaced(word: str) -> str:
    # "撰 文", "編 輯": pages space out short role words
    return r"\s*".join(word)


# Role words of bylines and credit lines, in both scripts. An author role names who wrote
# the piece; a credit role names everyone else who made it.
_AUTHOR_ROLES = ("作者", "记者", "記者", "本报记者", "本報記者", "实习记者", "實習記者", "特约记者", "特約記者",
                 "通讯员", "通訊員", "撰文", "撰稿", "执笔人", "執筆人", "执笔", "執筆", "文字", "文")
_CREDIT_ROLES = ("责任编辑", "責任編輯", "编辑", "編輯", "责编", "責編", "审核", "審核", "校对", "校對", "摄影", "攝影",
                 "图片", "圖片", "图", "圖", "视频", "視頻", "制作", "製作", "策划", "策劃", "监制", "監製", "统筹", "統籌",
                 "设计", "設計", "美编", "美編", "翻译", "翻譯", "供稿单位", "供稿單位", "出品")
_ROLE = "|".join(_spaced(r) for r in sorted(_AUTHOR_ROLES + _CREDIT_ROLES, key=len, reverse=True))
_AUTHOR_ROLE = re.compile("^(?:" + "|".join(_spaced(r) for r in sorted(_AUTHOR_ROLES, key=len, reverse=True)) + ")$")
# "記者 王明", "撰 文 | 查旦一", "（责编：田洲）", "文/张三": a role, a separator, names.
_BYLINE = re.compile(r"^[\[\(（【]?\s*(?P<role>" + _ROLE + r")\s*(?:[:：|｜丨/／]\s*|\s+)(?P<names>[^\s:：].*?)\s*[\]\)）】]?$")
# "新媒體工作室 出品", "XX中心制作": the maker, then the role.
_MAKER = re.compile(r"^(?P<names>\S.{0,30}?)\s*(?:出品|制作|製作|供稿)$")
_NAME_SPLIT = re.compile(r"[、，,;；]|\s{2,}")
_BYLINE_MAX = 40


def _names(text: str) -> tuple[str, ...]:
    names = []
    for part in _NAME_SPLIT.split(text):
        words = part.split()
        # "张三 李四" are two names, "小 楓" one name spaced out
        names += words if len(words) > 1 and all(len(w) >= 2 for w in words) else [" ".join(words)]
    return tuple(n for n in names if n)


def _field_byline(field: str) -> tuple[str, tuple[str, ...]] | None:
    m = _BYLINE.match(field)
    if m:
        role = re.sub(r"\s+", "", m["role"])
        if role in ("文", "图", "圖") and not re.match(r"^[\[\(（【]?\s*[文图圖]\s*[:：|｜丨/／]", field):
            return None  # "文化…", "图书…": a bare 文 or 图 needs its separator
        # "芊草凡凡 时间：2005-08-22": the names end where the line's next field starts
        names = _names(re.split(r"\s+\S{1,6}[:：]", m["names"], maxsplit=1)[0])
        if not names or any(len(n) > 20 for n in names):
            return None
        return ("author" if _AUTHOR_ROLE.match(role) else "credit"), names
    m = _MAKER.match(field)
    if m and not _FULL_STOP.search(field):
        return "credit", (m["names"].strip(),)
    return None


def byline(line: str) -> list[tuple[str, tuple[str, ...]]] | None:
    """The (kind, names) of each field of a byline or credit line, kind "author" or
    "credit" ("[供稿单位:X]   [责任编辑:Y]" has two); None when ``line`` is anything else
    (a sentence that mentions a reporter is prose, not a byline)."""
    line = line.strip()
    if not line or len(line) > _BYLINE_MAX or re.search(r"[。！？!?]", line):
        return None
    fields = [f for f in re.split(r"(?<=[\]】）)])\s*(?=[\[【（(])|\s{2,}", line) if f.strip()]
    for candidate in (fields, [line]) if len(fields) > 1 else ([line],):
        found = [_field_byline(f) for f in candidate]
        if all(found):
            return found  # type: ignore[return-value]
    return None
