"""Bytes → text, whatever the encoding: BOMs first, then strict UTF-8, then the Chinese
legacy encodings, choosing between GB18030 and Big5 by how Chinese the result reads."""
from __future__ import annotations

import codecs
from dataclasses import dataclass

from qa.text.charstats import commonness

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_LEGACY = ("gb18030", "big5hkscs")
_SAMPLE = 64 * 1024


class NotText(ValueError):
    """The bytes are not text in any encoding we read."""


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    replaced: int = 0  # characters that could not be decoded and became U+FFFD


def _looks_binary(data: bytes) -> bool:
    sample = data[:_SAMPLE]
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13, 27))
    return controls > len(sample) * 0.01


def decode_bytes(data: bytes) -> Decoded:
    """Decode a file's bytes. Raises NotText for binary data."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return Decoded(data.decode(encoding), encoding)
            except UnicodeDecodeError as exc:
                raise NotText(f"starts with a {encoding} byte-order mark but is not valid {encoding}") from exc
    if _looks_binary(data):
        raise NotText("contains binary data")
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    candidates = []
    for encoding in _LEGACY:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        candidates.append((commonness(text[:20000]), encoding, text))
    if candidates:
        _, encoding, text = max(candidates)
        return Decoded(text, encoding)
    # Mostly UTF-8 with a few broken bytes (a truncated download, a bad copy-paste):
    # keep the text, mark the damage with U+FFFD, which the cleaner keeps out of answers.
    text = data.decode("utf-8", errors="replace")
    replaced = text.count("\ufffd")
    if replaced <= max(8, len(text) // 100):
        return Decoded(text, "utf-8", replaced)
    raise NotText("is not UTF-8, UTF-16, GB18030 or Big5 text")
