"""Read a corpus: folders of .txt/.md/.html files and JSON Lines files, in any encoding.
Every document keeps its original text; what cannot be read is reported, never fatal."""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from qa.errors import CorpusError
from qa.ingest.clean import CHROME_ONLY
from qa.ingest.decode import NotText, decode_bytes
from qa.ingest.fetch import FetchError, fetch, is_url, source_file
from qa.ingest.html import markup_date, page_meta, page_text
from qa.ingest.metadata import find_byline, find_date, find_source, find_title
from qa.ingest.office import Unreadable, read_docx, read_pdf
from qa.records import Document

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
PDF_SUFFIXES = {".pdf"}
DOCX_SUFFIXES = {".docx"}
SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES | PDF_SUFFIXES | DOCX_SUFFIXES


@dataclass
class LoadResult:
    documents: list[Document] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (dropped id, kept id)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file or line, why it gave no document)

    def skip(self, where: str, why: str, message: str) -> None:
        """Record a file (or .jsonl line) that gives no document: ``why`` in a few words
        ("empty", "not text"), ``message`` the one-line warning."""
        self.skipped.append((where, why))
        self.warnings.append(message)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def html_to_text(markup: str) -> tuple[str, str]:
    """(visible text, <title>) of an HTML page (see qa.ingest.html)."""
    page = page_text(markup)
    return page.text, page.title


def _document(doc_id: str, text: str, path: str, title: str = "", source: str = "", date: str = "",
              author: str = "", fallback_author: str = "", **extra) -> Document:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    title = title or find_title(text)
    found_author, credits = find_byline(text, title)
    found_author = found_author or fallback_author
    return Document(
        id=doc_id,
        text=text,
        title=title or doc_id,
        source=source or find_source(text),
        date=date or find_date(text),
        path=path,
        sha256=sha256_text(text),
        author=author or found_author,
        credits=credits,
        **extra,
    )


def load_file(path: Path, result: LoadResult, doc_id: str | None = None) -> None:
    """Add the document(s) in one file to ``result``."""
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        load_jsonl(path, result)
        return
    try:
        data = path.read_bytes()
    except OSError as exc:
        result.skip(str(path), "unreadable", f"{path}: cannot be read ({exc.strerror}); skipped.")
        return
    load_bytes(data, suffix, doc_id or path.name, str(path), result)


def load_bytes(data: bytes, suffix: str, doc_id: str, where: str, result: LoadResult,
               content_type: str = "", url: str = "") -> Document | None:
    """Add the document in ``data`` (a file's or a fetched page's bytes, read as ``suffix``
    says) to ``result`` and return it; what cannot be read is named in ``result.skipped``.
    ``where`` names it in messages and is kept as its path."""
    if not data.strip():
        result.skip(where, "empty", f"{where}: empty file; skipped.")
        return None
    if suffix in PDF_SUFFIXES or suffix in DOCX_SUFFIXES:
        return _load_office(data, suffix, doc_id, where, result, url)
    try:
        decoded = decode_bytes(data, content_type)
    except NotText as exc:
        result.skip(where, "not text", f"{where}: not a text file ({exc}); skipped.")
        return None
    if decoded.replaced:
        result.warnings.append(f"{where}: {decoded.replaced} undecodable bytes replaced; they are kept out of answers.")
    if suffix in HTML_SUFFIXES:
        markup = decoded.text
        page = page_text(markup)
        if not page.text.strip():
            why = CHROME_ONLY if page.dropped else "no text"
            result.skip(where, why, f"{where}: {why}; skipped.")
            return None
        meta = page_meta(markup)
        text = page.text
        # Bylines and dates in link-dense lines ("发表于 … by <a>name</a>") are read after the
        # page's own text has had its say.
        date = find_date(text, lambda: find_date(page.linked, lambda: markup_date(markup), head=False))
        doc = _document(doc_id, text, where, title=meta.title or page.title, source=find_source(text) or meta.outlet,
                        date=date, fallback_author=find_byline(page.linked, signed=False)[0] or meta.author, url=url)
    else:
        if not decoded.text.strip():
            result.skip(where, "no text", f"{where}: no text; skipped.")
            return None
        doc = _document(doc_id, decoded.text, where, url=url)
    result.documents.append(doc)
    return doc


def _load_office(data: bytes, suffix: str, doc_id: str, where: str, result: LoadResult, url: str) -> Document | None:
    try:
        got = read_pdf(data) if suffix in PDF_SUFFIXES else read_docx(data)
    except Unreadable as exc:
        why = "no text layer" if "no text layer" in str(exc) else "unreadable"
        result.skip(where, why, f"{where}: {exc}.")
        return None
    if got.note:
        result.warnings.append(f"{where}: {got.note}.")
    if not got.text.strip():
        result.skip(where, "no text", f"{where}: no text; skipped.")
        return None
    # Titles that tools write by themselves ("Microsoft Word - 報告.docx") say nothing.
    title = "" if re.search(r"\.(docx?|pdf)$|^Microsoft Word|^untitled$", got.title, re.I) else got.title
    author = "" if got.author.lower() in ("python-docx", "administrator", "user", "microsoft office user") else got.author
    doc = _document(doc_id, got.text, where, title=title, date=find_date(got.text) or got.date,
                    fallback_author=author, url=url, pages=got.pages)
    result.documents.append(doc)
    return doc


def load_jsonl(path: Path, result: LoadResult) -> None:
    """One document per line: ``id`` and ``text`` required; ``title``, ``source``, ``date`` optional."""
    try:
        fh = open(path, "rb")
    except OSError as exc:
        result.skip(str(path), "unreadable", f"{path}: cannot be read ({exc.strerror}); skipped.")
        return
    with fh:
        for lineno, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw.decode("utf-8-sig"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                result.skip(f"{path}:{lineno}", "not JSON", f"{path}:{lineno}: not valid JSON; line skipped.")
                continue
            if not isinstance(record, dict):
                result.skip(f"{path}:{lineno}", "not a JSON object", f"{path}:{lineno}: not a JSON object; line skipped.")
                continue
            doc_id, text = record.get("id"), record.get("text")
            if doc_id is None or not isinstance(text, str) or not text.strip():
                result.skip(f"{path}:{lineno}", "no id or text",
                            f"{path}:{lineno}: needs an \"id\" and a non-empty \"text\"; line skipped.")
                continue
            def field_str(name: str) -> str:
                value = record.get(name)
                return value.strip() if isinstance(value, str) else ""

            result.documents.append(
                _document(str(doc_id), text, f"{path}:{lineno}", field_str("title"), field_str("source"), field_str("date"),
                          field_str("author"))
            )


def _walk(folder: Path) -> list[Path]:
    files = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        files += [Path(root) / n for n in sorted(names) if not n.startswith(".") and Path(n).suffix.lower() in SUFFIXES]
    return files


def load_url(url: str, result: LoadResult, allow_private: bool = False, fetched_dir: Path | None = None) -> Document | None:
    """Fetch ``url`` (see qa.ingest.fetch) and add its document to ``result``: its id is the
    URL as given, its citation carries the URL it was finally served from, and its bytes are
    kept in ``fetched_dir`` as its source file. A refusal or failure is one warning."""
    try:
        fetched = fetch(url, allow_private=allow_private)
    except FetchError as exc:
        result.skip(url, "not fetched", f"{url}: {exc}.")
        return None
    doc = load_bytes(fetched.data, fetched.suffix, url, url, result, fetched.content_type, url=fetched.url)
    if doc is not None and fetched_dir is not None:
        try:
            kept = source_file(Path(fetched_dir), fetched)
        except OSError as exc:
            result.warnings.append(f"{url}: the fetched page could not be kept ({exc.strerror}); it is indexed all the same.")
        else:
            result.documents[-1] = doc = replace(doc, path=str(kept))
    return doc


def load_corpus(paths: list[Path | str], allow_private_urls: bool = False, fetched_dir: Path | None = None) -> LoadResult:
    """Load every document under ``paths``: files, folders, and http(s) URLs (fetched, their
    bytes kept in ``fetched_dir``; private addresses only with ``allow_private_urls``). Two
    documents with the same id, or the same text under two names, are kept once and the
    repeat is reported."""
    result = LoadResult()
    for path in paths:
        if is_url(str(path)):
            load_url(str(path), result, allow_private_urls, fetched_dir)
            continue
        path = Path(path)
        if path.is_dir():
            for file in _walk(path):
                load_file(file, result)
        elif path.is_file():
            if path.suffix.lower() not in SUFFIXES:
                result.skip(str(path), "unsupported", f"{path}: not a .txt, .md, .html, .jsonl, .pdf or .docx file; skipped.")
                continue
            load_file(path, result)
        else:
            raise CorpusError(f"{path} does not exist; give a folder of .txt/.md/.html/.pdf/.docx files, a .jsonl file or an https:// address.")
    kept: list[Document] = []
    by_id: dict[str, Document] = {}
    by_sha: dict[str, Document] = {}
    for doc in result.documents:
        if doc.id in by_id:
            result.warnings.append(f"{doc.path}: id {doc.id!r} already used by {by_id[doc.id].path}; skipped.")
            continue
        if doc.sha256 in by_sha:
            result.duplicates.append((doc.id, by_sha[doc.sha256].id))
            result.warnings.append(f"{doc.path}: same text as {by_sha[doc.sha256].id!r}; kept once.")
            continue
        by_id[doc.id] = by_sha[doc.sha256] = doc
        kept.append(doc)
    result.documents = kept
    return result
