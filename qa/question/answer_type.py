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
    """("count", measure word or "") / ("year", "") / ("date", "") / ("identity", the name
    asked about) or None. ``question`` is normalised (simplified script, half-width)."""
    subject = identity_subject(question)
    if subject:
        return ("identity", subject)
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
    if what == "identity":  # "董健的妻子": the sentence may name her 妻子 alone
        return any(defines(sentence, name) for name in dict.fromkeys((measure, measure.split("的")[-1])) if len(name) >= 2)
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


_IDENTITY_Q = re.compile(r"是谁|是哪位|什么人|何人|什么是|是什么(?:人|单位|机构|组织|地方|职务|身份|工作)|是做什么|是干什么|"
                         r"(?:^|[，,])谁是")


def asks_identity(question: str) -> bool:
    """Whether ``question`` (normalised) asks who or what someone or something is: X是谁,
    谁是X, 什么是X, X是什么人/单位, X是做什么的."""
    return bool(_IDENTITY_Q.search(question))


# What a question asks to be identified: the name before 是谁/是什么人/是做什么的, or after 什么是/谁是.
_SUBJECT_BEFORE = re.compile(r"^(?:请问)?(.{2,20}?)(?:到底|究竟)?(?:是谁|是哪位|是何人|是什么(?:人|单位|机构|组织|地方|职务|身份)|是做什么|是干什么)")
_SUBJECT_AFTER = re.compile(r"^(?:请问)?(?:什么是|谁是)(.{2,20}?)[?？。]?$")
# A description ends in a noun of role or kind: a person's (民警, 书记, 记者, 负责人), or a
# body's (派出所, 公司, 委员会), so "X是……的一名社区民警" or "社区民警X" identifies X.
_ROLE = (r"(?:员|者|家|师|长|官|警|士|手|生|工|人|匠|书记|主任|干部|代表|委员|领导|负责人|局|处|所|队|院|部|会|委|站|"
         r"中心|公司|集团|组织|机构|单位|学校|大学|企业|品牌|平台|项目|工程|节目|城市|地区|医院)")
_DESCRIBED = re.compile(r"(?:是|为|系|任|担任|作为)[^，,。；;！!？?]{0,40}?" + _ROLE + r"(?=[，,。；;！!？?]|$)")


def identity_subject(question: str) -> str | None:
    """The name ``question`` (normalised) asks to be identified ("董健是谁？" -> 董健, "什么是
    方舱医院" -> 方舱医院), or None; a pronoun (他, 她, 它, 这) is no name."""
    q = question.strip()
    m = _SUBJECT_BEFORE.search(q) or _SUBJECT_AFTER.search(q)
    if not m:
        return None
    name = m.group(1).strip(" ，,、")
    if len(name) < 2 or name[0] in "他她它这那其该" or any(c in name for c in "？?，,"):
        return None
    return name


def defines(sentence: str, name: str) -> bool:
    """Whether ``sentence`` (normalised) says who or what ``name`` is: the name (or, leading
    the sentence, a pronoun standing for it), then 是/为/系/任 and a description ending in a
    noun of role or kind in the same clause ("他叫董健,是……的一名社区民警"); or a role noun
    right before the name ("社区民警董健")."""
    at = sentence.find(name)
    if at < 0:
        lead = sentence.lstrip()[:2]
        if not lead or lead[0] not in "他她它其该":
            return False
        at = sentence.find(lead[0])
        after = sentence[at + 1 :]
    else:
        if re.search(_ROLE + "$", sentence[max(0, at - 6) : at]):
            return True
        after = sentence[at + len(name) :]
    return bool(_DESCRIBED.search(after[:80]))
