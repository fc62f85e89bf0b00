"""Issue 15, parts 3 and 6: real web pages. Unit tests of the markup signals on small pages
written here, and (slow) the measurement on ../shared/eval/web-pages with trafilatura beside."""
from __future__ import annotations

from pathlib import Path

import pytest

from qa.ingest.html import headline, page_meta, page_text
from qa.ingest.load import load_corpus
from qa.ingest.metadata import find_byline, find_date, plausible_author
from qa_train.webbench import body_scores, date_matches, half_of, measure_web_pages

WEB_PAGES = Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "web-pages"
BODY = "李楠介紹，全市共設立檢查站46個，其中城區12個，郊區34個。檢查站實行24小時值守。"

PAGE = f"""<html><head><title>全市設立檢查站46個_太原新聞網</title>
<meta property="og:site_name" content="太原新聞網"><meta name="author" content="www.tynews.com.cn,太原日報">
<meta property="article:published_time" content="2022-04-17T07:28:00+08:00"></head>
<body><div id="nav"><a href="/">首頁</a> <a href="/n">新聞</a></div>
<div class="article"><h1>全市設立檢查站46個</h1><p>{BODY}</p><p>（記者 王明）</p></div>
<ul class="list"><li><a href="/1">另一條新聞的標題很長很長</a></li><li><a href="/2">第二條相關新聞</a></li></ul>
<div class="comment-list"><p>網友甲：說得好，支持檢查站的工作人員。</p></div>
<div id="footer">Copyright © 1998 - 2019 Tencent. All Rights Reserved</div>
<aside><p>熱門排行：今天的天氣很好。</p></aside></body></html>"""


def test_markup_chrome_is_left_out():
    page = page_text(PAGE)
    assert BODY in page.text
    for chrome in ("首頁", "另一條新聞", "網友甲", "Copyright", "熱門排行"):
        assert chrome not in page.text
    assert page.dropped > 0


def test_page_loads_with_its_metadata(tmp_path):
    (tmp_path / "page.html").write_text(PAGE, encoding="utf-8")
    (doc,) = load_corpus([tmp_path]).documents
    assert doc.title == "全市設立檢查站46個"  # without the site's suffix
    assert doc.source == "太原新聞網" and doc.date == "2022-04-17" and doc.author == "王明"


@pytest.mark.parametrize("title,heads,expected", [
    ("为现代化巴彦淖尔建设凝聚强大智慧和力量——热烈祝贺市政协五届一次会议开幕_巴彦淖尔市人民政府网", [],
     ("为现代化巴彦淖尔建设凝聚强大智慧和力量——热烈祝贺市政协五届一次会议开幕", "巴彦淖尔市人民政府网")),
    ("17种产品、1个园区入选国家绿色制造名单 - 要闻云南", [], ("17种产品、1个园区入选国家绿色制造名单", "要闻云南")),
    ("工商部门初定SKII广告属于虚假宣传", [], ("工商部门初定SKII广告属于虚假宣传", "")),
    ("书记市长这一周 | 新华日报", ["书记市长这一周"], ("书记市长这一周", "新华日报")),
])
def test_headline_without_site_suffix(title, heads, expected):
    assert headline(title, heads) == expected


def test_meta_author_must_look_like_names():
    assert plausible_author("Discuz! Team and Comsenz UI Team") == ""
    assert plausible_author("www.yunnan.cn,云南日报报业集团,云南网") == ""
    assert plausible_author("安东尼") == "安东尼"
    assert page_meta(PAGE).author == ""  # the <meta> above names the site, not a person


@pytest.mark.parametrize("text,author", [
    ("工业企业绿色化改造，推动云南工业高质量发展。（记者 胡晓蓉）\n责任编辑：孙重远", "胡晓蓉"),
    ("新华网黑龙江频道\xa0 记者\xa0 伊琳\xa0 李清芬\n正文。", "伊琳 李清芬"),
    ("ggjjzhzz 发表于 2005-9-15 11:46:00\n正文。", "ggjjzhzz"),
    ("正文。\n本贴由大卫于2005年8月12日16:12:21在〖心灵体操〗发表.", "大卫"),
    ("标题 发布时间 2005/03/15 22:36:13 by duscha 〓\n正文。", "duscha"),
    ("执笔人：闵乐夫 赵兰波 刘韬", "闵乐夫 赵兰波 刘韬"),
    ("芊草凡凡 时间：2005-08-22 19:13:18", ""),
])
def test_bylines_in_prose_and_forums(text, author):
    assert find_byline(text)[0] == author


@pytest.mark.parametrize("text,title,author", [
    ("标题\n正文第一段。\n最后一段，谈判仍在继续。（李明 北京报道）\n网站版权所有", "标题", "李明"),
    ("标题\n正文。该剧目将于下月首演。（央视记者 王芳）", "标题", "王芳"),
    ("标题\n本报记者陈刚发自广州\n正文。", "标题", "陈刚"),
    ("标题\n顶端新闻记者刘洋/文 受访者供图\n正文。", "标题", "刘洋"),
    ("论下岗职工的再就业\n张伟、李娜\n近年来，下岗职工……", "论下岗职工的再就业", "张伟 李娜"),
    # Not signatures: an ending, a caption, an institution in parentheses, an outlet under the headline.
    ("标题\n正文。\n（完）", "标题", ""),
    ("标题\n正文。（图）", "标题", ""),
    ("标题\n评论人：胡春田（高雄应用科技大学管理学院）", "标题", ""),
    ("标题\n新华社\n正文。", "标题", ""),
])
def test_unlabelled_signatures_name_people_only(text, title, author):
    assert find_byline(text, title)[0] == author


def test_link_texts_are_not_read_as_signatures():
    assert find_byline("首页\n简体中文\n繁體中文", signed=False)[0] == ""


def test_a_sites_legal_footer_is_never_a_passage():
    from qa.ingest.clean import clean

    table = "".join(f"{k}、第{k}项要求\n" for k in range(1, 5))
    text = ("标题\n" + "这是文章的第一段，讲述了事情的经过。\n" * 3 + table
            + "云南日报网 滇ICP备11000491号-1 ® yndaily.com All Rights Reserved since 1999.11\n"
            + "互联网新闻信息服务许可证编号：53120170001\n")
    kept = "\n".join(text[s:e] for s, e in clean(text, "标题").sections)
    assert "ICP" not in kept and "许可证" not in kept
    assert "第4项要求" in kept  # the list before the footer is still the article's
    prose = "该公司表示，其产品包装上虽印有“版权所有”和ICP备案号字样，仍被大量仿冒，损失超过百万元。"
    text = "标题\n正文第一段，讲述了事情的经过。\n" + prose + "\n"
    assert prose in "\n".join(text[s:e] for s, e in clean(text, "标题").sections)  # a sentence about it is prose


def test_byline_names_stop_at_the_next_field():
    assert find_byline("作者：芊草凡凡 时间：2005-08-22 19:13:18\n正文。")[0] == "芊草凡凡"


@pytest.mark.parametrize("text,markup,expected", [
    ("标题\n2020-09-24 02:49:41 来源:河北新闻网\n正文。", "", "2020-09-24"),
    ("标题\n" + "正文。\n" * 20 + "发表于 2004年12月27日 12:40 - (阅读:3727)", "", "2004-12-27"),
    ("标题\n" + "正文。\n" * 20, "2011-06-17", "2011-06-17"),
    ("犬儒病\n2003年5月\n正文。", "", "2003-05"),
    ("犬儒病\n2003年5月\n正文。", "2005-07-18", "2005-07-18"),  # a full date from the markup beats a month
    ("正文。\nCopyRight@2004-2008 All rights reserved", "", ""),
    ("犬儒病\n" + "正文。\n" * 20 + "——《北京之春》1998年3月号", "1998", "1998-03"),  # htmldate's year, our month
    ("正文。\n" * 20, "1998", "1998"),
])
def test_publication_date(text, markup, expected):
    assert find_date(text, lambda: markup) == expected


def test_scores_and_halves():
    assert body_scores("甲乙丙丁", "甲乙丙丁") == (1.0, 1.0)
    assert body_scores("", "甲乙") == (0.0, 0.0)
    assert date_matches("1998-03-05", "1998-3") and not date_matches("1998-04-01", "1998-3")
    assert date_matches("2005-08-22", "2005-08-22 19:13:18") and not date_matches("", "2005")
    assert {half_of(f"page{i}") for i in range(20)} == {"tune", "report"}


@pytest.mark.slow
@pytest.mark.skipif(not WEB_PAGES.is_dir(), reason=f"{WEB_PAGES} is missing (the shared evaluation sets sit beside the project)")
def test_web_pages_measured_beside_trafilatura():
    """The issue's report: pages indexed, body recall and precision, dates and authors read,
    for zhqa and trafilatura on the same pages. Levels asserted: measured here (docs/real-pages.md) minus
    a small margin, on all 69 pages."""
    report = measure_web_pages(WEB_PAGES)
    print("\n" + report.text())
    ours, theirs = report.ours["all"], report.trafilatura["all"]
    assert ours.pages == ours.indexed == 69
    assert ours.recall >= 0.96 and ours.precision >= 0.90
    assert ours.dates >= 50 and ours.authors >= 22
    assert ours.recall > theirs.recall and ours.precision > theirs.precision and ours.dates > theirs.dates
    for half in ("tune", "report"):
        assert report.ours[half].recall >= 0.95, half
