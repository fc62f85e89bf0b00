"""Issue 15, part 1: nothing is lost silently. One-paragraph briefs, one-line files and a
paragraph followed by its byline all yield passages covering their prose; bylines and credits
become metadata; a document that yields no passage is named with why, never counted as added."""
from __future__ import annotations

import json

import pytest

from qa.engine import QA
from qa.index.build import IndexReport, covered, prepare, without_passages
from qa.ingest.clean import clean
from qa.ingest.load import load_corpus
from qa.ingest.metadata import find_byline
from qa.records import Citation, Document
from qa.settings import Settings

# Wire briefs as a .jsonl without titles: one paragraph each, each with a question it answers.
BRIEFS = [
    ("b1", "李楠介紹，全市共設立檢查站46個。", "全市共设立多少个检查站？", "46"),
    ("b2", "北京市气象台今天上午发布大风蓝色预警，阵风可达七级。", "北京的大风阵风可达几级？", "七级"),
    ("b3", "台中市政府宣布，明年起公車票價調整為每段二十五元。", "台中公车票价调整为多少？", "二十五元"),
    ("b4", "据统计，今年一季度全省新增就业岗位十二万个", "一季度全省新增多少就业岗位？", "十二万"),
    ("b5", "長江大橋維修工程於本月十日完工", "长江大桥维修工程什么时候完工？", "十日"),
]


def _prose_covered(doc: Document, settings: Settings) -> str:
    return "".join(doc.text[p.start:p.end] for p in prepare(doc, settings))


@pytest.mark.parametrize("doc_id,text,_q,_a", BRIEFS)
def test_one_paragraph_brief_keeps_its_only_paragraph(doc_id, text, _q, _a):
    """The first line is taken as the title, but a document's only paragraph is never dropped as its headline."""
    doc = Document(id=doc_id, text=text, title=text)
    assert [doc.text[s:e] for s, e in clean(doc.text, doc.title).sections] == [text]
    assert _prose_covered(doc, Settings()) == text


def test_headline_repeated_before_a_body_is_still_dropped():
    text = "全市設立檢查站46個\n李楠介紹，全市共設立檢查站46個，其中城區12個。"
    sections = [text[s:e] for s, e in clean(text, "全市設立檢查站46個").sections]
    assert sections == ["李楠介紹，全市共設立檢查站46個，其中城區12個。"]


def test_paragraph_then_byline(tmp_path):
    """"李楠介紹…" then "記者 王明": the paragraph is the passage, the byline the author."""
    path = tmp_path / "brief.txt"
    path.write_text("李楠介紹，全市共設立檢查站46個。\n記者 王明\n", encoding="utf-8")
    (doc,) = load_corpus([path]).documents
    assert doc.author == "王明"
    prepared = prepare(doc, Settings())
    assert [doc.text[p.start:p.end] for p in prepared] == ["李楠介紹，全市共設立檢查站46個。"]
    assert "王明" in prepared[0].tokens  # searchable by keyword, not a passage of its own


@pytest.mark.parametrize("line,kind,names", [
    ("記者 王明", "author", ("王明",)),
    ("撰 文 | 查旦一", "author", ("查旦一",)),
    ("本报记者 张三 李四", "author", ("张三", "李四")),
    ("文/张三", "author", ("张三",)),
    ("新媒體工作室 出品", "credit", ("新媒體工作室",)),
    ("(責編:田洲)", "credit", ("田洲",)),
    ("編 輯 | 查旦一、小 楓", "credit", ("查旦一", "小 楓")),
])
def test_bylines_and_credits_are_recognised(line, kind, names):
    from qa.ingest.boilerplate import byline

    assert byline(line) == [(kind, names)]


@pytest.mark.parametrize("line", ["文化部今天发布通知", "记者节到了", "記者王明說，檢查站共有46個。", "图为现场"])
def test_prose_is_not_a_byline(line):
    from qa.ingest.boilerplate import byline

    assert byline(line) is None


def test_seed_bylines_become_metadata(seed_docs):
    assert seed_docs["002_55bd9ca71670d804.txt"].author == "司勇"
    doc003 = seed_docs["003_747ace748feff19e.txt"]
    assert doc003.author == "查旦一"
    assert "新媒體工作室 出品" in doc003.credits
    text = doc003.text
    for s, e in clean(text, doc003.title).sections:
        assert "新媒體工作室 出品" not in text[s:e] and "撰 文 | 查旦一" not in text[s:e]


def test_citation_carries_author_url_and_page():
    doc = Document(id="d", text="第一頁。第二頁。", author="王明", url="https://example.org/a", pages=(0, 4))
    assert Citation.of(doc, 5, 8) == Citation("d", "", "", "", 5, 8, "王明", "https://example.org/a", 2)
    # documents.jsonl rows of an older zhqa (no such fields) and JSON lists still load
    assert Document(**{"id": "x", "text": "t", "title": "", "source": "", "date": "", "path": "", "sha256": ""}).pages == ()
    assert Document(id="y", text="ab", pages=[0, 1]).pages == (0, 1)


def test_chrome_only_document_is_named_not_indexed():
    docs = {
        "chrome.html": Document(id="chrome.html", text="网站首页\n分享到:\n返回顶部", path="chrome.html"),
        "ok.txt": Document(id="ok.txt", text="全市共設立檢查站46個。", path="ok.txt"),
    }
    report = IndexReport()
    kept = without_passages(docs, None, report)
    assert list(kept) == ["ok.txt"]
    assert report.not_indexed == [("chrome.html", "only page chrome (navigation, link lists, bylines), no article text")]
    assert any(w.startswith("chrome.html: only page chrome") for w in report.warnings)


def test_covered_counts_overlapping_spans_once():
    assert covered([(0, 10), (5, 15), (20, 25)]) == 20
    assert covered([]) == 0


def test_briefs_are_indexed_and_answerable(tmp_path, encoder):
    """Every item of a corpus of one-paragraph briefs (no titles) is answerable; a
    chrome-only page and an empty file are named with why and not counted as added."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    with open(corpus / "briefs.jsonl", "w", encoding="utf-8") as fh:
        for doc_id, text, _, _ in BRIEFS:
            fh.write(json.dumps({"id": doc_id, "text": text}, ensure_ascii=False) + "\n")
    (corpus / "one-line.txt").write_text("颐和园今年接待游客八百万人次", encoding="utf-8")
    (corpus / "nav.html").write_text("<html><body><ul><li><a href='/'>网站首页</a></li><li><a href='/s'>分享到</a></li>"
                                     "<li><a href='/t'>返回顶部</a></li></ul></body></html>", encoding="utf-8")
    (corpus / "empty.txt").write_bytes(b"")
    qa = QA(Settings(index_dir=tmp_path / "index"), encoder=encoder)
    report = qa.index([corpus])
    assert sorted(report.added) == sorted([b[0] for b in BRIEFS] + ["one-line.txt"])
    named = {where.rsplit("/", 1)[-1]: why for where, why in report.not_indexed}
    assert named == {"nav.html": "only page chrome (navigation, link lists, bylines), no article text", "empty.txt": "empty"}
    for doc_id, _, question, answer in BRIEFS + [("one-line.txt", "", "颐和园今年接待多少游客？", "八百万")]:
        result = qa.ask(question, k=3)
        assert result.hits[0].passage.doc_id == doc_id, question
        assert answer in result.hits[0].passage.text
    info = {d["id"]: d for d in qa.info()["document_list"]}
    assert info["b1"]["kept"] == info["b1"]["chars"] == len(BRIEFS[0][1])
    assert info["b1"]["passages"] == 1
    # indexing again: nothing added or updated, the chrome page named again
    again = qa.index([corpus])
    assert again.added == [] and again.updated == [] and len(again.not_indexed) == 2


def test_info_documents_shows_kept_characters(tmp_path, encoder, monkeypatch):
    from click.testing import CliRunner

    from qa import cli

    (tmp_path / "a.txt").write_text("全市共設立檢查站46個。\n記者 王明\n", encoding="utf-8")
    qa = QA(Settings(index_dir=tmp_path / "index"), encoder=encoder)
    qa.index([tmp_path / "a.txt"])
    result = CliRunner().invoke(cli.main, ["info", "--documents", "--index-dir", str(tmp_path / "index")])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.strip().startswith("a.txt"))
    assert "1 passages" in line and "12/19 chars kept (63%)" in line


def test_find_byline_reads_the_author_field_of_a_meta_line():
    assert find_byline("標題\n來源:太原晚報 作者: 司勇 2022年04月17日 07:28\n正文。") == ("司勇", "")
