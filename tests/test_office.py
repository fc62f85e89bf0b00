"""Issue 15, part 4: PDF (through its text layer, page numbers in citations) and Word .docx
(headings kept). The tests build their own files: fpdf2 with a CJK font from Debian, python-docx.
A scanned PDF, an encrypted or damaged PDF, a long report and a zip-bomb .docx each give one
clear line, and nothing else in the folder is lost."""
from __future__ import annotations

import os

import io
import zipfile
from pathlib import Path

import pytest

from qa.ingest import office
from qa.ingest.load import load_corpus
from qa.records import Citation

FONTS = [Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"), Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")]
SIMPLIFIED = "李楠介绍，全市共设立检查站46个，其中城区12个，郊区34个。检查站实行24小时值守，每班不少于三人，确保来往车辆逐一登记。"
TRADITIONAL = "臺北市政府宣布，明年起公車票價調整為每段二十五元，學生與長者另有優惠。"


@pytest.fixture(scope="module")
def cjk_font() -> Path:
    for font in FONTS:
        if font.exists():
            return font
    message = "no CJK font: apt-get install fonts-wqy-zenhei (.ci/run does)"
    # In CI (as .ci/run sets CI) a missing font is a failure, not a skip.
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(message)
    pytest.skip(message)


def _pdf(font: Path, pages: list[str], **meta) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("zh", fname=str(font), collection_font_number=0 if font.suffix == ".ttc" else None)
    pdf.set_font("zh", size=12)
    if meta.get("title"):
        pdf.set_title(meta["title"])
    if meta.get("author"):
        pdf.set_author(meta["author"])
    if meta.get("password"):
        pdf.set_encryption(owner_password="owner", user_password=meta["password"])
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 8, text)
        else:
            pdf.rect(20, 20, 100, 100, style="F")  # a scanned page: marks, no text
    return bytes(pdf.output())


def test_pdf_pages_and_citation(tmp_path, cjk_font):
    """Two pages, simplified then traditional: the text layer with the wrapped line joined
    back, page offsets, and the page number on a citation."""
    path = tmp_path / "report.pdf"
    path.write_bytes(_pdf(cjk_font, ["检查站报告\n" + SIMPLIFIED, TRADITIONAL], title="全市檢查站報告", author="王明"))
    result = load_corpus([path])
    assert result.warnings == []
    (doc,) = result.documents
    assert SIMPLIFIED in doc.text  # fpdf2 wraps it over two lines; the reader joins them
    assert doc.title == "全市檢查站報告" and doc.author == "王明"
    assert len(doc.pages) == 2 and doc.text[doc.pages[1]:] == TRADITIONAL
    start = doc.text.index("公車票價")
    assert doc.page_at(start) == 2 and doc.page_at(doc.text.index("检查站实行")) == 1
    assert Citation.of(doc, start, start + 4).page == 2


def test_scanned_encrypted_and_damaged_pdfs_are_one_line_each(tmp_path, cjk_font):
    (tmp_path / "scan.pdf").write_bytes(_pdf(cjk_font, ["", ""]))
    (tmp_path / "locked.pdf").write_bytes(_pdf(cjk_font, [SIMPLIFIED], password="secret"))
    (tmp_path / "broken.pdf").write_bytes(_pdf(cjk_font, [SIMPLIFIED])[:300])
    (tmp_path / "ok.txt").write_text(TRADITIONAL, encoding="utf-8")
    result = load_corpus([tmp_path])
    assert [d.id for d in result.documents] == ["ok.txt"]
    by_name = {Path(w.split(": ", 1)[0]).name: w.split(": ", 1)[1] for w in result.warnings}
    assert by_name["scan.pdf"].startswith("has no text layer (2 pages of images, probably scanned); run OCR")
    assert by_name["locked.pdf"].startswith("is an encrypted PDF; save an unprotected copy")
    assert by_name["broken.pdf"].startswith("is not a readable PDF")
    assert all(w.count("\n") == 0 for w in result.warnings)
    assert dict((Path(w).name, why) for w, why in result.skipped)["scan.pdf"] == "no text layer"


def test_long_pdf_is_indexed_within_the_page_limit(tmp_path, cjk_font, monkeypatch):
    """A 500-page report is read whole; past the limit the first pages are indexed and the rest named."""
    pages = [f"第{i}页。{SIMPLIFIED}" for i in range(1, 501)]
    path = tmp_path / "long.pdf"
    path.write_bytes(_pdf(cjk_font, pages))
    (doc,) = load_corpus([path]).documents
    assert len(doc.pages) == 500 and doc.page_at(doc.text.index("第500页")) == 500
    monkeypatch.setattr(office, "MAX_PDF_PAGES", 120)
    result = load_corpus([path])
    assert len(result.documents[0].pages) == 120
    assert result.warnings == [f"{path}: 500 pages; only the first 120 are indexed (split the PDF to index the rest)."]


def _docx(paragraphs: list[tuple[str, str]], table: list[list[str]] | None = None) -> bytes:
    import docx

    document = docx.Document()
    for style, text in paragraphs:
        if style.startswith("Heading"):
            document.add_heading(text, level=int(style[-1]))
        else:
            document.add_paragraph(text)
    if table:
        t = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, cell in enumerate(row):
                t.cell(r, c).text = cell
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_docx_with_headings_and_a_table(tmp_path):
    path = tmp_path / "notice.docx"
    path.write_bytes(_docx([("Heading 1", "關於票價調整的通知"), ("", TRADITIONAL), ("Heading 2", "檢查站"), ("", SIMPLIFIED)],
                           table=[["区域", "数量"], ["城区", "12个"]]))
    result = load_corpus([path])
    assert result.warnings == []
    (doc,) = result.documents
    assert doc.title == "關於票價調整的通知"
    assert doc.author == ""  # python-docx's own name is not an author
    lines = doc.text.split("\n")
    assert lines[:4] == ["關於票價調整的通知", TRADITIONAL, "檢查站", SIMPLIFIED]
    assert "城区\t12个" in lines


def test_zip_bomb_and_fake_docx_are_refused_in_one_line(tmp_path):
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", " " * (30 * 1024 * 1024))
    (tmp_path / "bomb.docx").write_bytes(bomb.getvalue())
    (tmp_path / "old.docx").write_bytes(b"\xd0\xcf\x11\xe0 an old binary .doc renamed")
    (tmp_path / "ok.docx").write_bytes(_docx([("", SIMPLIFIED)]))
    result = load_corpus([tmp_path])
    assert [d.id for d in result.documents] == ["ok.docx"]
    by_name = {Path(w.split(": ", 1)[0]).name: w.split(": ", 1)[1] for w in result.warnings}
    assert "(a zip bomb?); refused" in by_name["bomb.docx"]
    assert by_name["old.docx"].startswith("is not a Word .docx file (an old .doc, or damaged); save it as .docx")
