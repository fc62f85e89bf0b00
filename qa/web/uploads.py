"""Documents added through the web chat: the files are saved under names the server
chooses, then ``QA.add_uploads`` indexes their documents in the upload namespace, where
they can add to the corpus but never replace an article. Only uploaded documents can be
removed here."""
from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from qa.errors import CorpusError
from qa.index.build import IndexReport
from qa.ingest.load import SUFFIXES

UPLOAD_SUFFIXES = (".txt", ".md", ".html", ".jsonl", ".pdf", ".docx")
assert set(UPLOAD_SUFFIXES) <= SUFFIXES
MAX_FILES = 20
MAX_FILE_MB = 10
MAX_FILE_BYTES = MAX_FILE_MB * 1024 * 1024
# All uploaded documents together: uploads add to the index, within bounds.
MAX_UPLOADED_DOCUMENTS = 1000
MAX_UPLOADED_CHARS = 50_000_000
UPLOADS = "uploads"  # in the index folder


@dataclass
class Upload:
    """What one upload did: the files kept (name as uploaded, server's name), the
    IndexReport (None when nothing reached the index) and every problem, one line each."""

    saved: list[tuple[str, str]] = field(default_factory=list)
    report: IndexReport | None = None
    problems: list[str] = field(default_factory=list)


def save_uploads(files: list[str], folder: Path, suffixes=UPLOAD_SUFFIXES) -> tuple[list[tuple[str, Path]], list[str]]:
    """Copy acceptable uploads into ``folder`` under names the server chooses; return
    ((original name, saved path) …) and one message per file refused. Nothing uploaded is
    ever used as a path or run: it is only read as bytes."""
    saved, refused = [], []
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return [], [f"无法保存上传的文件 Uploads cannot be saved in {folder} ({exc.strerror}); "
                    "start the app with a writable --index-dir."]
    for tmp in files:
        original = Path(str(tmp)).name
        suffix = Path(original).suffix.lower()
        if suffix not in suffixes:
            refused.append(f"{original}：只接受 {' '.join(suffixes)} 文件 (only {', '.join(suffixes)} files are accepted).")
            continue
        try:
            size = os.path.getsize(tmp)
        except OSError:
            refused.append(f"{original}：无法读取 (cannot be read).")
            continue
        if size > MAX_FILE_BYTES:
            refused.append(f"{original}：{size / 1024 / 1024:.1f} MB，超过每个文件 {MAX_FILE_MB} MB 的上限 (over the {MAX_FILE_MB} MB limit).")
            continue
        if size == 0:
            refused.append(f"{original}：空文件 (empty file).")
            continue
        target = folder / f"{datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(4)}{suffix}"
        try:
            with open(tmp, "rb") as src, open(target, "xb") as dst:
                shutil.copyfileobj(src, dst)
            os.chmod(target, 0o644)
        except OSError as exc:  # a full disk, a read-only folder: this file is refused, nothing half-kept
            target.unlink(missing_ok=True)
            refused.append(f"{original}：无法保存 (cannot be saved: {exc.strerror}).")
            continue
        saved.append((original, target))
    return saved, refused


def add_documents(qa, files: list[str], folder: Path, uploader: str | None = None) -> Upload:
    """Save ``files`` (Gradio's temporary copies) into ``folder`` and add their documents
    to ``qa``'s index as uploads by ``uploader``. A file that gave no new document is not
    kept. Raises CorpusError when there is nothing to do or too much at once."""
    files = [f for f in (files or []) if f]
    if not files:
        raise CorpusError("Choose one or more files first (请先选择文件).")
    if len(files) > MAX_FILES:
        raise CorpusError(f"At most {MAX_FILES} files at a time ({len(files)} given); upload them in smaller groups.")
    saved, refused = save_uploads(files, folder)
    result = Upload(problems=list(refused))
    if not saved:
        return result
    names = {str(path): original for original, path in saved}
    try:
        result.report = qa.add_uploads([path for _, path in saved], uploader=uploader, names=names,
                                       max_documents=MAX_UPLOADED_DOCUMENTS, max_chars=MAX_UPLOADED_CHARS)
    except BaseException:
        for _, path in saved:
            path.unlink(missing_ok=True)
        raise
    # Keep only the files some indexed document came from; name files as the user knows them.
    used = {_file_of(d.path) for d in qa.documents() if d.uploaded}
    for original, path in saved:
        if str(path) in used:
            result.saved.append((original, path.name))
        else:
            path.unlink(missing_ok=True)
    for warning in result.report.warnings:
        for server, original in names.items():
            warning = warning.replace(server, original)
        result.problems.append(warning.replace(str(folder) + os.sep, ""))
    return result


def remove_upload(qa, doc_id: str, folder: Path) -> IndexReport:
    """Remove one uploaded document (never a corpus article) and its saved file, once no
    other document comes from it."""
    if not doc_id:
        raise CorpusError("Choose an uploaded document to remove first (请先选择上传的文档).")
    doc = qa.data().documents.get(doc_id)
    report = qa.remove_uploads([doc_id])
    if doc is not None and doc.path:
        path = Path(_file_of(doc.path))
        still_used = any(_file_of(d.path) == str(path) for d in qa.documents())
        if not still_used and path.parent.resolve() == Path(folder).resolve() and path.is_file():
            path.unlink(missing_ok=True)
    return report


def _file_of(doc_path: str) -> str:
    """The file a document came from: its path, or FILE of a .jsonl line's "FILE:LINE"."""
    head, sep, tail = doc_path.rpartition(":")
    return head if sep and tail.isdigit() else doc_path
