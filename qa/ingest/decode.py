"""Bytes → text, whatever the encoding, in a browser's order: a byte-order mark first, then
the charset the page declares (an HTTP Content-Type, a <meta> tag, an XML declaration) when
its bytes really are in it, then detection: strict UTF-8, the Chinese legacy encodings
(GB18030 vs Big5 chosen by how Chinese the result reads), charset-normalizer for anything
else, and last a Chinese or UTF-8 text with a few broken bytes, each shown as U+FFFD (which
the cleaner keeps out of every passage)."""
from __future__ import annotations

import codecs
import re
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


# WHATWG encoding labels for the Chinese encodings, mapped to the Python codec a browser's
# decoder matches: GBK pages are decoded as GB18030 (a superset), Big5 as Big5-HKSCS.
_LABELS = {
    **dict.fromkeys(("gb2312", "gbk", "x-gbk", "gb_2312-80", "gb_2312", "chinese", "csgb2312", "iso-ir-58",
                     "euc-cn", "gb18030", "cp936", "windows-936"), "gb18030"),
    **dict.fromkeys(("big5", "big5-hkscs", "cn-big5", "csbig5", "x-x-big5", "big5hkscs", "cp950"), "big5hkscs"),
    **dict.fromkeys(("utf-8", "utf8", "unicode-1-1-utf-8"), "utf-8"),
}
# Declarations that pages get wrong most often (a Chinese page saved by a tool that wrote
# its default): any byte string decodes in them, so they are never trusted over detection.
_WEAK = {"iso-8859-1", "latin1", "latin-1", "ascii", "us-ascii", "windows-1252", "cp1252"}
_META = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.I)
_XML = re.compile(rb"^\s*<\?xml[^>]*\bencoding\s*=\s*[\"']([A-Za-z0-9_.:-]+)", re.I)
_PRESCAN = 4096  # browsers look at the first 1,024 bytes; saved pages put comments first


class NotText(ValueError):
    """The bytes are not text in any encoding we read."""


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    replaced: int = 0  # characters that could not be decoded and became U+FFFD
    declared: str = ""  # the charset the bytes declared, when they did


def declared_charset(data: bytes, content_type: str = "") -> str:
    """The charset declared by an HTTP ``content_type`` header, else by the page's own
    markup (a <meta> tag or an XML declaration in its first bytes); "" when none is."""
    m = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", content_type or "", re.I)
    if m:
        return m.group(1).lower()
    head = data[:_PRESCAN]
    m = _XML.match(head) or _META.search(head)
    return m.group(1).decode("ascii").lower() if m else ""


def _codec(label: str) -> str | None:
    """The Python codec for an encoding label, or None when Python has none."""
    if label in _LABELS:
        return _LABELS[label]
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _few(replaced: int, length: int) -> bool:
    # A handful of broken bytes (a truncated download, one bad copy): the text is worth keeping.
    return replaced <= max(8, length // 100)




def _looks_binary(data: bytes) -> bool:
    sample = data[:_SAMPLE]
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13, 27))
    return controls > len(sample) * 0.01


def decode_bytes(data: bytes, content_type: str = "") -> Decoded:
    """Decode a file's (or a fetched page's) bytes; ``content_type`` is an HTTP
    Content-Type header, when there is one. Raises NotText for binary data."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return Decoded(data.decode(encoding), encoding)
            except UnicodeDecodeError as exc:
                raise NotText(f"starts with a {encoding} byte-order mark but is not valid {encoding}") from exc
    if _looks_binary(data):
        raise NotText("contains binary data")
    label = declared_charset(data, content_type)
    declared = _codec(label) if label and label not in _WEAK else None
    # A wrong declaration, or a few broken bytes, falls through: valid UTF-8 and detection come first.
    text = _strict(data, declared) if declared else None
    if text is not None:
        return Decoded(text, declared, declared=label)
    try:
        return Decoded(data.decode("utf-8"), "utf-8", declared=label)
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
        return Decoded(text, encoding, declared=label)
    # A few broken bytes in the declared charset, or in UTF-8 or a Chinese encoding: keep the
    # text, mark the damage with U+FFFD. The declared charset wins a tie, then the reading
    # with fewest broken bytes.
    lenient = []
    for encoding in dict.fromkeys(e for e in (declared, "utf-8", *_LEGACY) if e):
        text = data.decode(encoding, errors="replace")
        replaced = text.count("\ufffd")
        if _few(replaced, len(text)):
            if encoding == declared:
                return Decoded(text, encoding, replaced, declared=label)
            lenient.append((commonness(text[:20000]), -replaced, encoding, text))
    if lenient:
        _, minus_replaced, encoding, text = max(lenient)
        return Decoded(text, encoding, -minus_replaced, declared=label)
    guess = _detect(data)
    if guess is not None:
        return Decoded(guess[1], guess[0], declared=label)
    raise NotText("is not UTF-8, UTF-16, GB18030 or Big5 text, nor in any encoding charset-normalizer recognises")


def _detect(data: bytes) -> tuple[str, str] | None:
    """(codec, text) from charset-normalizer, for texts in none of the encodings above
    (Shift-JIS, EUC-KR, Windows-1251…); None when it finds nothing coherent. On the 69 pages
    of the web-pages set it named a Chinese page's encoding less often than the checks above
    (one read as ptcp154, one not at all), so it comes last."""
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    # Some single-byte codec decodes any bytes: accept a reading only when it is orderly
    # and reads as some language.
    if best is None or best.chaos > 0.2 or best.coherence < 0.1:
        return None
    return best.encoding, str(best)


def _strict(data: bytes, codec: str) -> str | None:
    """``data`` decoded with ``codec`` if every byte is valid in it, else None."""
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        return None
