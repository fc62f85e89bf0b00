"""Ratings of answers (👍/👎 in the chat), kept in ``feedback.jsonl`` with a fixed schema.

Nothing of a record comes from the client but the choice up or down and which answer of
the session it is about: the question, the extracts and their citations are what the
server answered in that session (``Turn``). Each answer has at most one rating per
session (a change replaces it, a withdrawal removes it); each record is capped in size,
and the file is rotated at ``max_bytes`` with ``keep`` older files, so nothing a client
sends can grow the server's disk without bound.
"""
from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from qa.errors import ZhqaError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None

RATINGS = ("up", "down")
MAX_RECORD_BYTES = 32 * 1024  # one rating: a question (≤ 2000 chars) and at most MAX_SNIPPETS extracts
MAX_SNIPPETS = 10
MAX_SNIPPET_CHARS = 1000
MAX_FILE_BYTES = 5 * 1024 * 1024
KEEP_ROTATED = 3  # feedback.1.jsonl … feedback.3.jsonl


class FeedbackError(ZhqaError):
    """A rating that cannot be taken (not up or down, not an answer of this session)."""

    label = "反馈未保存 Feedback not saved"


@dataclass(frozen=True)
class Rated:
    """What the server answered, as a rating records it."""

    question: str
    asked: str
    mode: str
    k: int
    doc_ids: tuple[str, ...]
    answered: bool
    snippets: tuple[dict, ...]


def rating_of(liked) -> str | None:
    """The rating a like event means: "up", "down", or None (withdrawn). Anything else a
    client sends is refused."""
    if liked is True or liked == "up":
        return "up"
    if liked is False or liked == "down":
        return "down"
    if liked is None or liked == "":
        return None
    raise FeedbackError("A rating is 👍 or 👎 (up or down); click one of the two buttons under the answer.")


def record(session: str, answer: int, rating: str, rated: Rated) -> dict:
    """One line of feedback.jsonl, within MAX_RECORD_BYTES (long extracts are cut)."""
    if rating not in RATINGS:
        raise FeedbackError("A rating is 👍 or 👎 (up or down); click one of the two buttons under the answer.")
    snippets = [dict(s, text=str(s.get("text", ""))[:MAX_SNIPPET_CHARS]) for s in rated.snippets[:MAX_SNIPPETS]]
    row = {"timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"), "session": session, "answer": int(answer),
           "rating": rating, "question": rated.question, "asked": rated.asked, "mode": rated.mode, "k": int(rated.k),
           "doc_ids": list(rated.doc_ids)[:MAX_SNIPPETS], "answered": bool(rated.answered), "snippets": snippets}
    while len(json.dumps(row, ensure_ascii=False).encode("utf-8")) > MAX_RECORD_BYTES and row["snippets"]:
        row["snippets"] = row["snippets"][:-1]
    return row


class FeedbackLog:
    """feedback.jsonl: one line per rated answer of a session. Appends are one
    ``O_APPEND`` write; a replaced or withdrawn rating rewrites the file to a temporary one
    renamed over it; a lock between threads and ``flock`` between processes keep writers
    apart. At ``max_bytes`` the file is rotated to feedback.1.jsonl (and so on, ``keep``)."""

    def __init__(self, path: Path, max_bytes: int = MAX_FILE_BYTES, keep: int = KEEP_ROTATED) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.keep = keep
        self._lock = threading.Lock()

    def rate(self, row: dict) -> None:
        """Store ``row`` (from ``record``), replacing the rating of the same answer of the
        same session if there is one."""
        self._write(row["session"], row["answer"], row)

    def withdraw(self, session: str, answer: int) -> None:
        """Forget the rating of this answer of this session (if still in the current file)."""
        self._write(session, answer, None)

    def rotated(self) -> list[Path]:
        return [p for n in range(1, self.keep + 1) if (p := self._rotated(n)).exists()]

    # -- files ------------------------------------------------------------------------------
    def _rotated(self, n: int) -> Path:
        return self.path.with_name(f"{self.path.stem}.{n}{self.path.suffix}")

    def _write(self, session: str, answer: int, row: dict | None) -> None:
        data = b"" if row is None else (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                lines = self._lines()
                kept = [line for line in lines if not _same(line, session, answer)]
                if len(kept) != len(lines):  # a change or a withdrawal: rewrite, then rename over
                    self._replace(b"".join(kept) + data)
                elif data:
                    if self.path.exists() and self.path.stat().st_size + len(data) > self.max_bytes:
                        self._rotate()
                    self._append(data)
            finally:
                os.close(fd)  # closing releases the flock

    def _lines(self) -> list[bytes]:
        try:
            with open(self.path, "rb") as fh:
                return fh.readlines()
        except FileNotFoundError:
            return []

    def _append(self, data: bytes) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)

    def _replace(self, data: bytes) -> None:
        tmp = self.path.with_name(f"{self.path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)

    def _rotate(self) -> None:
        self._rotated(self.keep).unlink(missing_ok=True)
        for n in range(self.keep - 1, 0, -1):
            if self._rotated(n).exists():
                os.replace(self._rotated(n), self._rotated(n + 1))
        os.replace(self.path, self._rotated(1))


def _same(line: bytes, session: str, answer: int) -> bool:
    try:
        row = json.loads(line)
    except ValueError:
        return False
    return isinstance(row, dict) and row.get("session") == session and row.get("answer") == answer
