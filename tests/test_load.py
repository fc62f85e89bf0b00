"""qa.ingest.load.load_corpus: folders and JSON Lines files → documents with their metadata; what
cannot be read is reported as a warning, never fatal."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.errors import CorpusError
from qa.ingest.load import load_corpus, sha256_text

SEEDS = Path(__file__).resolve().parent.parent / "seeds"

EXPECTED_SEEDS = {
    "000_cad178f2f31bd5d0.txt": (
        "抗疫英雄 河北骄傲|河北省公安厅警务协作总队党支部:“三道防线”筑牢疫情防控铜墙铁壁", "河北新闻网", "2020-09-24"),
    "001_4c3f5a124836c178.txt": ("不漏一人不漏一户湖北公安机关全力做好四类人员排查送治", "", "2020-02-24"),
    "002_55bd9ca71670d804.txt": ("黨旗所指 一往無前——直擊清徐戰(zhàn)“疫”24小時", "太原晚報", "2022-04-17"),
    "003_747ace748feff19e.txt": ("【津衛新青年】李楠:職責所在 義不容辭", "", ""),
    "004_62723c32f6056b4d.txt": ("奔走在社区“疫”线的一抹藏蓝", "北京政法网", "2020-04-02"),
}

ARTICLE_SIMPLIFIED = (
    "社区民警坚守一线\n2021-03-05 来源:测试新闻网\n\n"
    "他叫董健，是石景山公安分局八宝山派出所瑞达社区的一名社区民警。"
    "瑞达社区常住人口5200余人，流动人口2000余人。\n"
)
ARTICLE_TWICE = "湖北公安机关全力做好排查送治\n\n民警但建伟同社区工作人员，又一次来到焦女士家门口。\n门终于开了。\n"
ARTICLE_TRADITIONAL = "職責所在 義不容辭\n\n電話這頭的李楠習慣性的答道。作為治安防控組日常工作的牽頭負責人，他始終奮戰在防疫一線。\n"


def test_seeds_load_five_documents(seed_load):
    """seeds/ loads as exactly five documents, ids = file names, with nothing to warn about."""
    assert [d.id for d in seed_load.documents] == sorted(EXPECTED_SEEDS)
    assert seed_load.warnings == []
    assert seed_load.duplicates == []


@pytest.mark.parametrize("doc_id", sorted(EXPECTED_SEEDS))
def test_seed_metadata(seed_docs, doc_id):
    """Each seed's headline, outlet and date are extracted as the page states them."""
    doc = seed_docs[doc_id]
    assert (doc.title, doc.source, doc.date) == EXPECTED_SEEDS[doc_id]


@pytest.mark.parametrize("doc_id", sorted(EXPECTED_SEEDS))
def test_seed_text_is_the_original(seed_docs, doc_id):
    """A document's text is the file's text, untouched, and its sha256 is that of the text."""
    doc = seed_docs[doc_id]
    assert doc.text == (SEEDS / doc_id).read_text(encoding="utf-8")
    assert doc.sha256 == sha256_text(doc.text)
    assert Path(doc.path) == SEEDS / doc_id


@pytest.fixture
def messy_folder(tmp_path):
    """A folder with every kind of file a real corpus folder ends up with."""
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "empty.txt").write_bytes(b"")
    (root / "blank.txt").write_bytes(b"  \n\t\n")
    (root / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02")
    (root / "gb.txt").write_bytes(ARTICLE_SIMPLIFIED.encode("gb18030"))
    (root / "big5.txt").write_bytes(ARTICLE_TRADITIONAL.encode("big5"))
    (root / "page.html").write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>董健：社区民警 &amp; 居委会</title>"
        "<script>var secret = '脚本里的文字';</script><style>p { color: red }</style></head>"
        "<body><div>首页 &gt; 新闻</div><p>他叫董健，是一名社区民警。</p>"
        "<script>alert('第二段脚本')</script><p>瑞达社区常住人口5200余人。</p></body></html>",
        encoding="utf-8",
    )
    sub = root / "子 目录"
    sub.mkdir()
    (sub / "新闻 稿 一.txt").write_text("湖北公安\n\n民警但建伟同社区工作人员，又一次来到焦女士家门口。\n", encoding="utf-8")
    (root / "copy_a.txt").write_text(ARTICLE_TWICE, encoding="utf-8")
    (root / "copy_b.txt").write_text(ARTICLE_TWICE.replace("\n", "\r\n"), encoding="utf-8")  # same article, CRLF
    (root / "notes.pdf").write_bytes(b"%PDF-1.4 not a corpus file")
    (root / ".hidden.txt").write_text("隐藏文件不读", encoding="utf-8")
    return root


def test_messy_folder_documents(messy_folder):
    """Readable files become documents (ids = file names); empty, binary, hidden and foreign files do not."""
    result = load_corpus([messy_folder])
    assert sorted(d.id for d in result.documents) == sorted(
        ["big5.txt", "copy_a.txt", "gb.txt", "page.html", "新闻 稿 一.txt"]
    )


def test_messy_folder_warnings(messy_folder):
    """Each unreadable file and the duplicate is reported once, with its path, in walk order."""
    result = load_corpus([messy_folder])
    root = messy_folder
    assert result.warnings == [
        f"{root / 'blank.txt'}: empty file; skipped.",
        f"{root / 'empty.txt'}: empty file; skipped.",
        f"{root / 'image.txt'}: not a text file (contains binary data); skipped.",
        f"{root / 'notes.pdf'}: is not a readable PDF (damaged or not a PDF); export it again and index the new file.",
        f"{root / 'copy_b.txt'}: same text as 'copy_a.txt'; kept once.",
    ]


def test_same_article_under_two_names_is_kept_once(messy_folder):
    """The same article under two names (even with other line endings) is kept once and reported."""
    result = load_corpus([messy_folder])
    assert result.duplicates == [("copy_b.txt", "copy_a.txt")]
    kept = {d.id: d for d in result.documents}["copy_a.txt"]
    assert kept.text == ARTICLE_TWICE


def test_legacy_encodings_in_a_folder(messy_folder):
    """A GB18030 file and a Big5 file load with their exact text and their own metadata."""
    docs = {d.id: d for d in load_corpus([messy_folder]).documents}
    assert docs["gb.txt"].text == ARTICLE_SIMPLIFIED
    assert (docs["gb.txt"].title, docs["gb.txt"].source, docs["gb.txt"].date) == ("社区民警坚守一线", "测试新闻网", "2021-03-05")
    assert docs["big5.txt"].text == ARTICLE_TRADITIONAL
    assert docs["big5.txt"].title == "職責所在 義不容辭"


def test_html_page(messy_folder):
    """An HTML page: the title comes from <title>, script and style contents are not text, entities are decoded."""
    doc = {d.id: d for d in load_corpus([messy_folder]).documents}["page.html"]
    assert doc.title == "董健：社区民警 & 居委会"
    assert doc.text == "首页 > 新闻\n\n他叫董健，是一名社区民警。\n\n瑞达社区常住人口5200余人。"
    assert "脚本" not in doc.text and "secret" not in doc.text and "color" not in doc.text


def test_html_title_is_unescaped_once(tmp_path):
    """An escaped entity in <title> ('&amp;nbsp;') is shown as written on the page ('&nbsp;'), not decoded twice."""
    page = tmp_path / "entity.html"
    page.write_text("<html><head><title>网页里的&amp;nbsp;和&amp;lt;p&amp;gt;</title></head>"
                    "<body><p>正文。</p></body></html>", encoding="utf-8")
    doc = load_corpus([page]).documents[0]
    assert doc.title == "网页里的&nbsp;和&lt;p&gt;"


def test_path_with_spaces_and_chinese(messy_folder):
    """A file in a folder whose names have spaces and Chinese characters loads with its full path."""
    doc = {d.id: d for d in load_corpus([messy_folder]).documents}["新闻 稿 一.txt"]
    assert doc.path == str(messy_folder / "子 目录" / "新闻 稿 一.txt")
    assert doc.text.startswith("湖北公安\n\n民警但建伟")


def test_single_file_path(messy_folder):
    """A file given directly loads on its own; the id is still its file name."""
    result = load_corpus([messy_folder / "子 目录" / "新闻 稿 一.txt"])
    assert [d.id for d in result.documents] == ["新闻 稿 一.txt"]
    assert result.warnings == []


def test_unsupported_file_given_directly(messy_folder):
    """A file of an unsupported type given directly is skipped with a warning."""
    (messy_folder / "sheet.xlsx").write_bytes(b"PK\x03\x04 not a corpus file")
    result = load_corpus([messy_folder / "sheet.xlsx"])
    assert result.documents == []
    assert result.warnings == [f"{messy_folder / 'sheet.xlsx'}: not a .txt, .md, .html, .jsonl, .pdf or .docx file; skipped."]


def test_crlf_is_normalised(tmp_path):
    """Windows and old-Mac line endings become \\n, so offsets mean the same everywhere."""
    f = tmp_path / "crlf.txt"
    f.write_bytes("第一行。\r\n第二行。\r第三行。".encode("utf-8"))
    assert load_corpus([f]).documents[0].text == "第一行。\n第二行。\n第三行。"


def test_utf8_with_broken_bytes_is_loaded_with_a_warning(tmp_path):
    """A UTF-8 file with two broken bytes loads; the damage is U+FFFD and reported."""
    f = tmp_path / "damaged.txt"
    f.write_bytes("董健是社区民警。".encode("utf-8") + b"\xff\xfe" + "瑞达社区常住人口5200余人。".encode("utf-8"))
    result = load_corpus([f])
    assert result.documents[0].text == "董健是社区民警。\ufffd\ufffd瑞达社区常住人口5200余人。"
    assert result.warnings == [f"{f}: 2 undecodable bytes replaced; they are kept out of answers."]


def test_jsonl_corpus(tmp_path):
    """JSON Lines: good records load; broken lines, missing text, non-objects and a repeated id are reported and skipped."""
    f = tmp_path / "corpus.jsonl"
    lines = [
        json.dumps({"id": "a", "text": "董健是社区民警。", "title": " 标题A ", "source": "来源A", "date": "2021-01-02"}, ensure_ascii=False),
        '{"id": "b", "text": "断掉的一行',
        json.dumps({"id": "c"}),
        json.dumps({"id": "d", "text": "   "}),
        json.dumps({"id": "a", "text": "另一篇文章用了同一个id。"}, ensure_ascii=False),
        "",
        json.dumps({"id": 7, "text": "数字编号的文章\n\n正文第一句。"}, ensure_ascii=False),
        json.dumps([1, 2, 3]),
    ]
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = load_corpus([f])
    docs = {d.id: d for d in result.documents}
    assert sorted(docs) == ["7", "a"]
    a = docs["a"]
    assert (a.text, a.title, a.source, a.date, a.path) == ("董健是社区民警。", "标题A", "来源A", "2021-01-02", f"{f}:1")
    assert docs["7"].title == "数字编号的文章"
    assert result.warnings == [
        f"{f}:2: not valid JSON; line skipped.",
        f"{f}:3: needs an \"id\" and a non-empty \"text\"; line skipped.",
        f"{f}:4: needs an \"id\" and a non-empty \"text\"; line skipped.",
        f"{f}:8: not a JSON object; line skipped.",
        f"{f}:5: id 'a' already used by {f}:1; skipped.",
    ]


def test_jsonl_with_bom(tmp_path):
    """A JSON Lines file saved with a UTF-8 BOM (Windows editors) still reads its first record."""
    f = tmp_path / "bom.jsonl"
    f.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": "x", "text": "正文。"}, ensure_ascii=False).encode("utf-8") + b"\n")
    result = load_corpus([f])
    assert [d.id for d in result.documents] == ["x"] and result.warnings == []


def test_missing_path_raises_corpus_error(tmp_path):
    """A path that does not exist is an error the user must fix, not a warning."""
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus([tmp_path / "no-such-folder"])


def test_folder_and_file_together(tmp_path, seeds_dir):
    """Several paths load together; a seed given twice (folder and file) is kept once under its id."""
    result = load_corpus([seeds_dir, seeds_dir / "004_62723c32f6056b4d.txt"])
    assert [d.id for d in result.documents] == sorted(EXPECTED_SEEDS)
    assert result.warnings == [
        f"{seeds_dir / '004_62723c32f6056b4d.txt'}: id '004_62723c32f6056b4d.txt' already used by "
        f"{seeds_dir / '004_62723c32f6056b4d.txt'}; skipped."
    ]
