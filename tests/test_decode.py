"""qa.ingest.decode.decode_bytes: bytes in any encoding Chinese news files come in → the same text."""
from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from qa.ingest.decode import NotText, decode_bytes

SEEDS = Path(__file__).resolve().parent.parent / "seeds"

# Simplified: the body paragraphs of 004 (GB18030 territory).
SIMPLIFIED = "\n\n".join(
    line.strip() for line in (SEEDS / "004_62723c32f6056b4d.txt").read_text(encoding="utf-8").splitlines()[6:16] if line.strip()
)
# Traditional: the opening paragraphs of 003 (every character exists in Big5).
TRADITIONAL = "\n\n".join((SEEDS / "003_747ace748feff19e.txt").read_text(encoding="utf-8").split("\n\n")[3:6])


def test_sample_texts_are_what_they_claim():
    """The fixtures themselves: long Chinese texts, one simplified, one traditional and Big5-encodable."""
    assert len(SIMPLIFIED) > 200 and "董健" in SIMPLIFIED and "這" not in SIMPLIFIED
    assert len(TRADITIONAL) > 200 and "這" in TRADITIONAL and "李楠" in TRADITIONAL
    TRADITIONAL.encode("big5")  # raises if not


BOM_CASES = [
    ("utf-8", lambda t: t.encode("utf-8"), "utf-8"),
    ("utf-8 with BOM", lambda t: codecs.BOM_UTF8 + t.encode("utf-8"), "utf-8-sig"),
    ("utf-16-le with BOM", lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le"), "utf-16"),
    ("utf-16-be with BOM", lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"), "utf-16"),
    ("utf-32-le with BOM", lambda t: codecs.BOM_UTF32_LE + t.encode("utf-32-le"), "utf-32"),
]


@pytest.mark.parametrize("text", [SIMPLIFIED, TRADITIONAL], ids=["simplified", "traditional"])
@pytest.mark.parametrize("name,encode,encoding", BOM_CASES, ids=[c[0] for c in BOM_CASES])
def test_unicode_encodings_round_trip(text, name, encode, encoding):
    """UTF-8 (with or without BOM), UTF-16 LE/BE and UTF-32 with BOM decode to the exact text."""
    decoded = decode_bytes(encode(text))
    assert decoded.text == text
    assert decoded.encoding == encoding
    assert decoded.replaced == 0


def test_gb18030_simplified_round_trips():
    """Simplified Chinese saved as GB18030 decodes to the exact text, recognised as GB18030."""
    decoded = decode_bytes(SIMPLIFIED.encode("gb18030"))
    assert decoded.text == SIMPLIFIED
    assert decoded.encoding == "gb18030"


def test_big5_traditional_round_trips():
    """Traditional Chinese from seeds/003 saved as Big5 decodes to the exact text, read as Big5."""
    decoded = decode_bytes(TRADITIONAL.encode("big5"))
    assert decoded.text == TRADITIONAL
    assert decoded.encoding == "big5hkscs"


def test_gb18030_traditional_round_trips():
    """Traditional characters saved as GB18030 (mainland sites do this) are not mistaken for Big5."""
    decoded = decode_bytes(TRADITIONAL.encode("gb18030"))
    assert decoded.text == TRADITIONAL
    assert decoded.encoding == "gb18030"


@pytest.mark.parametrize("phrase", ["李楠", "黨旗所指 一往無前", "職責所在 義不容辭", "電話這頭的李楠習慣性的答道。"])
def test_short_big5_phrases(phrase):
    """Even a two-character Big5 text is told apart from GB18030 by how Chinese it reads."""
    decoded = decode_bytes(phrase.encode("big5"))
    assert (decoded.text, decoded.encoding) == (phrase, "big5hkscs")


@pytest.mark.parametrize("phrase", ["董健", "党旗所指 一往无前", "社区民警", "清徐县疫情防控指挥部第一时间启动响应机制。"])
def test_short_gb18030_phrases(phrase):
    """Short GB18030 texts are read as GB18030, not as Big5."""
    decoded = decode_bytes(phrase.encode("gb18030"))
    assert (decoded.text, decoded.encoding) == (phrase, "gb18030")


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x06\x00\x00\x00",
        b"\x89PNG\r\n\x1a\n",
        "清徐县".encode("utf-8") + b"\x00\x00\x00" + "疫情".encode("utf-8"),
        bytes(64),
        bytes(range(256)),
    ],
    ids=["png-header", "png-signature", "nul-bytes-in-text", "all-nul", "all-bytes"],
)
def test_binary_is_not_text(data):
    """Binary data (image headers, NUL bytes, control characters) raises NotText."""
    with pytest.raises(NotText):
        decode_bytes(data)


def test_bom_with_invalid_body_is_not_text():
    """A UTF-8 BOM followed by bytes that are not UTF-8 raises NotText, not garbage."""
    with pytest.raises(NotText):
        decode_bytes(codecs.BOM_UTF8 + b"\xff\xfe\xfd\xfc")


@pytest.mark.parametrize("bad", [b"\xff", b"\xff\xfe", b"\x80\x80", b"\xc3", b"\xff\xff\xff"])
def test_utf8_with_a_few_broken_bytes(bad):
    """UTF-8 with a few invalid bytes in the middle keeps all the text and marks each broken byte with U+FFFD."""
    raw = SIMPLIFIED.encode("utf-8")
    cut = len(SIMPLIFIED) // 2
    data = SIMPLIFIED[:cut].encode("utf-8") + bad + SIMPLIFIED[cut:].encode("utf-8")
    assert len(raw) + len(bad) == len(data)
    decoded = decode_bytes(data)
    assert decoded.encoding == "utf-8"
    assert decoded.replaced == len(bad) > 0
    assert decoded.text == SIMPLIFIED[:cut] + "\ufffd" * len(bad) + SIMPLIFIED[cut:]


def test_mostly_broken_utf8_is_not_text():
    """When broken bytes are more than a few, the data is refused instead of decoded to noise."""
    with pytest.raises(NotText):
        decode_bytes(b"\xff" * 50 + "中文".encode("utf-8"))


# -- issue 15: a browser's order (declared charset, then detection) -------------------------

PHRASE = "李楠介紹，全市共設立檢查站46個。"


def _page(charset_tag: str, body: str, encoding: str) -> bytes:
    encoding, _, errors = encoding.partition(":")
    page = f"<html><head>{charset_tag}<title>t</title></head><body><p>{body}</p></body></html>"
    return page.encode(encoding, errors or "strict")


@pytest.mark.parametrize("tag", ['<meta charset="big5">', '<meta http-equiv="Content-Type" content="text/html; charset=BIG5">'])
def test_declared_big5_is_read_as_big5(tag):
    """A short traditional page whose bytes are also valid GB18030: the declaration decides."""
    data = _page(tag, PHRASE, "big5")
    data.decode("gb18030")  # the ambiguity the declaration settles
    decoded = decode_bytes(data)
    assert decoded.encoding == "big5hkscs" and decoded.declared == "big5" and PHRASE in decoded.text


def test_xml_declaration_and_http_header_are_declarations():
    data = f'<?xml version="1.0" encoding="GB2312"?><doc>{SIMPLIFIED[:60]}</doc>'.encode("gb2312")
    assert decode_bytes(data).declared == "gb2312" and SIMPLIFIED[:60] in decode_bytes(data).text
    body = PHRASE.encode("big5")
    decoded = decode_bytes(body, content_type="text/plain; charset=big5")
    assert decoded.text == PHRASE and decoded.declared == "big5"


def test_utf8_page_declared_gb2312_is_read_as_utf8():
    """A page saved as UTF-8 that still declares gb2312 (one of the web-pages set does)."""
    decoded = decode_bytes(_page('<meta charset="gb2312">', SIMPLIFIED[:200], "utf-8"))
    assert decoded.encoding == "utf-8" and SIMPLIFIED[:200] in decoded.text


def test_chinese_page_declared_latin1_is_detected():
    """iso-8859-1 decodes any bytes, so such a declaration never beats detection."""
    decoded = decode_bytes(_page('<meta charset="iso-8859-1">', SIMPLIFIED[:200], "gb18030"))
    assert decoded.encoding == "gb18030" and SIMPLIFIED[:200] in decoded.text


@pytest.mark.parametrize("text,encoding,label", [(SIMPLIFIED, "gb2312", "gb2312"), (TRADITIONAL, "big5", "big5"),
                                                  (SIMPLIFIED, "gb2312", "")])
def test_legacy_page_with_broken_bytes_is_read(text, encoding, label):
    """GB2312 and Big5 pages with a few broken bytes (declared or not) are read; each broken
    byte is one U+FFFD, and the cleaner keeps it out of every section."""
    from qa.ingest.clean import clean

    # a byte no Chinese encoding starts a character with, twice, between characters
    broken = text[:100] + "\udcff" + text[100:-30] + "\udcff" + text[-30:]
    data = _page(f'<meta charset="{label}">' if label else "", broken, encoding + ":surrogateescape")
    decoded = decode_bytes(data)
    assert decoded.encoding in ("gb18030", "big5hkscs") and decoded.replaced == 2
    assert text[:100] + "\ufffd" + text[100:-30] in decoded.text
    cleaned = clean(decoded.text)
    assert cleaned.sections and all("\ufffd" not in decoded.text[s:e] for s, e in cleaned.sections)


def test_other_encodings_fall_back_to_charset_normalizer():
    russian = "Москва — столица России, крупнейший по численности населения город страны. " * 4
    decoded = decode_bytes(russian.encode("cp1251"))
    assert decoded.text == russian
