"""What kind of answer a question asks for, and whether a sentence can hold one: a
question asking 多少例 needs a sentence with a count of 例, 哪一年 needs a year, 哪些 or
分别 a list. A cheap, explicit check that keeps an extractive system from answering with a
sentence that cannot contain the answer."""
from __future__ import annotations

import re

_NUM = r"(?:[0-9]+(?:[.,][0-9]+)?|[零〇一二两三四五六七八九十百千万亿几数]+)"
_COUNT_Q = re.compile(r"(?:多少|几)(?:个|名|位)?([^\s，,？?。的了是有]?)")
_YEAR_Q = re.compile(r"哪一?年|何年|什么年份|哪个年份")
_DATE_Q = re.compile(r"哪一?天|何时|什么时候|几月几[日号]|哪个月|几点")
_MEASURES = set("人名位个件家辆次天年月岁条例户所万亿元车床台架座张支只项批起分秒小")


def asked_type(question: str) -> tuple[str, str] | None:
    """("count", measure word or "") / ("year", "") / ("date", "") or None. ``question``
    is normalised (simplified script, half-width)."""
    if _YEAR_Q.search(question):
        return ("year", "")
    if _DATE_Q.search(question):
        return ("date", "")
    m = _COUNT_Q.search(question)
    if m:
        measure = m.group(1) if m.group(1) in _MEASURES else ""
        return ("count", measure)
    return None


def can_answer(kind: tuple[str, str] | None, sentence: str) -> bool:
    """Whether ``sentence`` (normalised) has something of the asked kind in it."""
    if kind is None:
        return True
    what, measure = kind
    if what == "year":
        return bool(re.search(r"(?:19|20)[0-9]{2}|[零〇一二三四五六七八九]{4}年|[0-9]{2,4}年", sentence))
    if what == "date":
        return bool(re.search(r"[0-9一二三四五六七八九十]+[月日号时点]|凌晨|上午|下午|晚上|深夜|今年|去年|春节|正月|初[一二三四五六七八九十]", sentence))
    if measure:
        return bool(re.search(_NUM + r"(?:多|余)?" + measure, sentence))
    return bool(re.search(_NUM, sentence))


_LIST_Q = re.compile(r"分别|哪些|哪几|哪[两二三四五六七八九十]")


def asks_list(question: str) -> bool:
    """Whether ``question`` (normalised) asks for several things at once: 哪些, 哪几, 哪三个,
    分别是什么."""
    return bool(_LIST_Q.search(question))


def enumerates(sentence: str) -> bool:
    """Whether ``sentence`` (normalised) lists things with the enumeration comma (甲、乙、丙)."""
    return "、" in sentence


_ADMIN_SUFFIX = "市省县区镇乡村州"


def named_entities(tokens) -> list[str]:
    """The place, person and organisation names among a question's BM25 terms. An unknown
    two-character word is as often a fragment (多大, 这支) as a name, so unknown words count
    from three characters on."""
    from qa.text.tokenize import is_name_like

    return [t for t in dict.fromkeys(tokens) if is_name_like(t, min_unknown=3)]


def missing_entities(tokens, evidence: str) -> list[str]:
    """The question's names that the evidence (normalised text) never mentions. A name
    counts as mentioned with or without its administrative suffix (石家庄市 ~ 石家庄),
    and a long organisation name by its leading place (上海市公安局 ~ 上海)."""
    missing = []
    for name in named_entities(tokens):
        forms = {name, name.rstrip(_ADMIN_SUFFIX)}
        if len(name) >= 4:
            forms |= {name[:2], name[:3]}
        if not any(len(f) >= 2 and f in evidence for f in forms):
            missing.append(name)
    return missing
