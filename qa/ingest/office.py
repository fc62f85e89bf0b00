"""PDF and Word documents → text: a .pdf through its text layer (pypdfium2), each page's
start kept so a citation can name its page; a .docx through python-docx, its headings as
lines of their own. What cannot be read (a scanned PDF without a text layer, an encrypted or
damaged file, a .docx that would unpack to more than a sane size) raises Unreadable with
one sentence saying what to do."""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

MAX_PDF_PAGES = 2000  # a longer PDF is indexed up to here, and says so
MAX_UNPACKED = 200 * 1024 * 1024  # a .docx unpacking to more is refused (a zip bomb, or not a text document)
MAX_RATIO = 200  # ... as is one compressed more than this (text XML compresses about 10 to 1)

_SENTENCE_END = re.compile(r"[。！？!?；;：:…”」』）)]$")


class Unreadable(ValueError):
    """The file cannot be read as text; the message says why and what to do."""


@dataclass(frozen=True)
class Extracted:
    text: str
    title: str = ""
    author: str = ""
    date: str = ""
    pages: tuple[int, ...] = ()  # offset in text where each page starts
    note: str = ""  # a warning to pass on (pages left out)


def _unwrap(lines: list[str]) -> str:
    """Join the lines of one PDF page back into paragraphs: a line that fills the page's
    width and ends no sentence was wrapped by the layout, not by the author."""
    lines = [line.rstrip() for line in lines]
    width = max((len(line) for line in lines), default=0)
    out: list[str] = []
    for line in lines:
        if out and out[-1] and not out[-1].endswith("\n") and line.strip():
            prev = out[-1]
            if len(prev) >= 0.8 * width and not _SENTENCE_END.search(prev):
                # CJK text has no spaces between words; Latin text keeps one
                joiner = " " if prev[-1:].isascii() and line[:1].isascii() else ""
                out[-1] = prev + joiner + line.strip()
                continue
        out.append(line)
    return "\n".join(out)


def _pdf_date(value: str) -> str:
    m = re.match(r"^D:(\d{4})(\d{2})(\d{2})", value or "")
    return f"{m[1]}-{m[2]}-{m[3]}" if m else ""


def read_pdf(data: bytes) -> Extracted:
    """The text layer of a PDF, page by page."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise Unreadable("is an encrypted PDF; save an unprotected copy and index that") from exc
        raise Unreadable("is not a readable PDF (damaged or not a PDF); export it again and index the new file") from exc
    try:
        count = len(pdf)
        parts: list[str] = []
        pages: list[int] = []
        pos = 0
        for i in range(min(count, MAX_PDF_PAGES)):
            page = pdf[i]
            try:
                textpage = page.get_textpage()
                raw = textpage.get_text_range()
                textpage.close()
            finally:
                page.close()
            text = _unwrap(raw.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").split("\n")).strip()
            if parts:
                parts.append("\n\n")
                pos += 2
            pages.append(pos)
            parts.append(text)
            pos += len(text)
        meta = pdf.get_metadata_dict()
    except pdfium.PdfiumError as exc:
        raise Unreadable("is a damaged PDF whose pages cannot be read; export it again and index the new file") from exc
    finally:
        pdf.close()
    text = "".join(parts)
    if count and not text.strip():
        raise Unreadable(f"has no text layer ({count} pages of images, probably scanned); run OCR on it first "
                         "(for example ocrmypdf) and index the result")
    note = (f"{count} pages; only the first {MAX_PDF_PAGES} are indexed (split the PDF to index the rest)"
            if count > MAX_PDF_PAGES else "")
    return Extracted(text, (meta.get("Title") or "").strip(), (meta.get("Author") or "").strip(),
                     _pdf_date(meta.get("CreationDate", "")), tuple(pages), note)


def _check_zip(data: bytes) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise Unreadable("is not a Word .docx file (an old .doc, or damaged); save it as .docx and index that") from exc
    with archive:
        entries = archive.infolist()
        unpacked = sum(e.file_size for e in entries)
        packed = sum(e.compress_size for e in entries) or 1
        if unpacked > MAX_UNPACKED or unpacked / packed > MAX_RATIO:
            raise Unreadable(f"would unpack to {unpacked / 1e6:,.0f} MB from {len(data) / 1e6:,.1f} MB (a zip bomb?); "
                             "refused, index a plain .docx of its text instead")
        if "word/document.xml" not in archive.namelist():
            raise Unreadable("is a zip file but not a Word document; save it as .docx and index that")


def read_docx(data: bytes) -> Extracted:
    """The paragraphs and tables of a .docx, in order; headings as lines of their own."""
    _check_zip(data)
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - python-docx raises many kinds on damaged files
        raise Unreadable("is a damaged Word document; open and save it again, then index it") from exc
    lines: list[str] = []
    title = ""
    for block in document.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = Paragraph(block, document)
            text = paragraph.text.strip()
            style = (paragraph.style.name if paragraph.style is not None else "") or ""
            if text and not title and (style == "Title" or style.startswith("Heading")):
                title = text
            lines.append(text)
        elif tag == "tbl":
            # one line per row, cells separated by a tab: a table stays a table, not a word salad
            for row in Table(block, document).rows:
                cells = [c.text.strip() for c in row.cells]
                if any(cells):
                    lines.append("\t".join(dict.fromkeys(cells)))
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    props = document.core_properties
    date = props.created.strftime("%Y-%m-%d") if props.created else ""
    return Extracted(text, props.title or title, props.author or "", date)
