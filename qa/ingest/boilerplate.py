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


def is_link_like(line: str) -> bool:
    """A short line without a full stop: a headline in a list of links, a footer item."""
    line = line.strip()
    # Quoted speech ("“爸爸,你什麼時候回來啊?”") is prose, however short.
    return 0 < len(line) <= 40 and not _FULL_STOP.search(line) and not line.endswith(("”", "」", "』"))
