"""Replacing a file whole: write a temporary file beside it, flush it to disk, then rename
it over the old one. A crash at any moment leaves the old file or the new one, never half
of either. Used for every file zhqa rewrites (index pointer, FAISS files, the ONNX graph,
reports, feedback rotation)."""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block ends without an error the
    file written there is synced and renamed over ``path``, otherwise it is removed."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8), atomically."""
    with replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
