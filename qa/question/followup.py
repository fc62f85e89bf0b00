"""Follow-up questions: "他的妻子是做什么的？" after a question about 董健 means 董健的妻子.

``resolve(question, previous)`` decides whether a question leans on the conversation (it
has a reference it does not resolve itself — 他, 她, 其, 该县, 这里, he, her … — or it is
too short to search on, or it is an ellipsis such as 那李楠呢？) and, if so, rewrites it
with the key terms of the latest earlier question that has some: the person, place and
organisation names jieba's part-of-speech tagger finds in it (nr/ns/nt), or failing those
its weightiest BM25 terms. A pure function: the same question, history and earlier answers
always give the same rewrite, and nothing is asked of the index but through ``answer_of``.

A pronoun may stand for an earlier question's *answer* rather than a word of it: after
"哪位副总队长从警20余年？", 他 is the man the answer names (蔡路强), and after "焦女士是哪个
社区的疑似患者？", 那里 is the community the answer gives. When the latest earlier question
asked for a person or a place (``asked_referent``) and the pronoun is a singular personal
one or a place word, ``resolve`` asks ``answer_of`` (the engine derives it by asking the
earlier question, qa/question/antecedent.py) and puts the answer's name in its place. A
plural (它们, 他们) after a question that counted something (多少个疫情检查站) stands for
the counted noun (疫情检查站).

``readings(question, previous)`` lists what the engine asks for a follow-up: the rewrite,
the question as typed (not for a rewritten ellipsis such as 那李楠呢？, which asks nothing
alone), and the question after the latest earlier one (the context a follow-up such as
为什么要这样做？ or 几点起来？ leaves unsaid). ``QA.ask`` asks each and keeps
the answered one whose best sentence scores highest (docs/fusion-and-choice.md, "Follow-ups").
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

from qa.question.query import MAX_QUESTION_CHARS
from qa.text.normalize import normalize, to_simplified
from qa.text.tokenize import tokens as bm25_tokens

# Pronouns that stand for a person (or people) and can be replaced by the name.
PERSON = {"他", "她", "他们", "她们", "此人", "该人", "本人", "这个人", "那个人", "这人", "那人", "其人", "该男子", "该女子"}
# Pronouns that stand for a thing or an organisation.
THING = {"它", "它们", "此事", "这件事", "那件事", "该事"}
# Pronouns that stand for a place.
PLACE = {"这里", "那里", "这儿", "那儿", "此地", "该地", "当地", "这边", "那边", "那地方", "这个地方", "那个地方"}
# Determiners that point back without naming: 这位民警, 该县, 其妻子.
DETERMINERS = {"其", "该", "这位", "那位", "这名", "那名", "该名", "此", "这个", "那个", "这些", "那些"}
# English pronouns (whole words): the name replaces them; possessives get "'s".
EN_SUBJECT = {"he", "she", "him", "they", "them"}
EN_POSSESSIVE = {"his", "her", "their"}
# Words that open or close an ellipsis: 那李楠呢？ 还有张晗呢？
ELLIPSIS_OPEN = ("那么", "那", "还有", "另外", "what about", "how about")
# Kin words that 她 / 他 may point at: 董健的妻子 … 她在哪里工作？
FEMALE_KIN = ("妻子", "夫人", "爱人", "老婆", "母亲", "妈妈", "女儿", "姐姐", "妹妹", "奶奶", "外婆")
MALE_KIN = ("丈夫", "老公", "父亲", "爸爸", "儿子", "哥哥", "弟弟", "爷爷", "外公")

ENTITY_FLAGS = ("nr", "ns", "nt")  # person, place, organisation names (nr, nrfg, nrt …)
# Words that are never part of a name: verbs, prepositions, particles, pronouns, conjunctions,
# adverbs, numerals, measure words, directions, punctuation, modal particles.
_FUNCTION_FLAGS = ("v", "p", "u", "r", "c", "d", "m", "q", "f", "x", "y", "e")
SHORT_CHARS = 6  # a question of at most this many letters, with at most one search term, is "very short"
MAX_CARRIED = 3
LOOK_BACK = 3  # earlier questions searched for terms to carry, newest first
MAX_PLACE_CHARS = 12  # a longer answer is a phrase, not a place a 那里 can stand for

_EN_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")
_EN_NAME = re.compile(r"\b[A-Z][a-z]+(?:[ -][A-Z][a-z]+)*\b")
_EN_FUNCTION = {"who", "what", "where", "when", "why", "how", "which", "whose", "is", "are", "was", "were", "did",
                "does", "do", "the", "a", "an", "in", "on", "at", "of", "and", "tell", "me", "please", "can", "could"}
_LETTER = re.compile(r"[\w\u3400-\u9fff]", re.UNICODE)
_END_PUNCT = "？?。.!！ "


@dataclass(frozen=True)
class Resolved:
    """A question and what retrieval is asked instead."""

    question: str  # as typed
    query: str  # what is sent to retrieval (== question when nothing was carried)
    carried: tuple[str, ...] = ()  # the terms taken from earlier questions
    reason: str = ""  # "" | "pronoun" | "answer" (an earlier question's answer) | "ellipsis" | "short" | "context"

    @property
    def rewritten(self) -> bool:
        return self.query != self.question

    def note(self) -> str:
        """What the chat shows: 按上文理解为：董健的妻子是做什么的？"""
        return f"按上文理解为：{self.query}" if self.rewritten else ""


@dataclass(frozen=True)
class _Word:
    text: str  # as typed (same span of the original question)
    simple: str  # simplified, case-folded: what the word lists hold
    flag: str
    start: int
    end: int


@cache
def _posseg():
    import logging

    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    return jieba.posseg


def _words(question: str) -> list[_Word]:
    """jieba's tagged words of ``question``, each with its span in the original text.
    Tagging runs on the simplified form; OpenCC maps character for character in almost
    every case, and where it did not the simplified text is used as the original."""
    simple = to_simplified(question)
    original = question if len(simple) == len(question) else simple
    out, pos = [], 0
    for pair in _posseg().cut(simple):
        word, flag = pair.word, pair.flag
        out.append(_Word(original[pos : pos + len(word)], word.casefold(), flag, pos, pos + len(word)))
        pos += len(word)
    return _join_split_names(out)


def _join_split_names(words: list[_Word]) -> list[_Word]:
    """A name jieba does not know comes out as a surname and loose characters (杨/nr 文/ng
    燊/zg): join a one-character nr word with the one or two one-character content words
    after it, so the name is one nr word (杨文燊)."""
    out: list[_Word] = []
    i = 0
    while i < len(words):
        w = words[i]
        j = i + 1
        if w.flag == "nr" and len(w.text) == 1:
            while (j < len(words) and j - i <= 2 and len(words[j].text) == 1 and _letters(words[j].text)
                   and not words[j].flag.startswith(_FUNCTION_FLAGS)):
                j += 1
        if j - i >= 2:
            w = _Word("".join(x.text for x in words[i:j]), "".join(x.simple for x in words[i:j]), "nr",
                      w.start, words[j - 1].end)
        out.append(w)
        i = j
    return out


def entities(question: str) -> list[str]:
    """Person, place and organisation names in ``question`` (as typed), in order, once each:
    jieba's nr/ns/nt words, and runs of capitalised English words (Dong Jian, Qingxu)."""
    names: list[str] = []
    for w in _words(question):
        if w.flag.startswith(ENTITY_FLAGS) and len(w.text) >= 2 and w.text not in names and w.simple not in _ALL_REFS:
            names.append(w.text)
    return names + [n for n in _english_names(question) if n not in names]


def _english_names(question: str) -> list[str]:
    names = []
    for m in _EN_NAME.finditer(question):
        words = m.group().split()
        while words and words[0].casefold() in _EN_FUNCTION:
            words = words[1:]
        if words:
            names.append(" ".join(words))
    return list(dict.fromkeys(names))


def _person_entities(question: str) -> list[str]:
    """The person names among ``entities``: jieba's nr words, and English names (which
    cannot be told from places)."""
    return list(dict.fromkeys([*(w.text for w in _words(question)
                                 if w.flag.startswith("nr") and len(w.text) >= 2 and w.simple not in _ALL_REFS),
                               *_english_names(question)]))


_ALL_REFS = PERSON | THING | PLACE | DETERMINERS
PLURAL = {"他们", "她们", "它们"}


def person_mentions(text: str) -> list[tuple[int, str]]:
    """(offset, name) of each person name jieba finds in ``text``, in order."""
    return [(w.start, w.text) for w in _words(text)
            if w.flag.startswith("nr") and len(w.text) >= 2 and w.simple not in _ALL_REFS]


@dataclass(frozen=True)
class EarlierAnswer:
    """What the corpus answered to an earlier question, when the answer is trusted
    (qa/question/antecedent.py derives it from the engine's ``Answer``)."""

    question: str  # the earlier question, as sent to retrieval
    text: str  # the span shown as the answer, "" when only its sentence is trusted
    person: str = ""  # the person the answer names, "" when it names none it can be told by


# What an earlier question asked for, when a pronoun may stand for its answer.
_PERSON_ASKED = re.compile(r"谁|哪位|哪一位|哪个人|叫什么|什么名字|姓什么|姓名")
_PLACE_ASKED = re.compile(r"哪里|哪儿|何处|何地|什么地方|在哪|哪(?:个|一个|座)?[^\s，,？?的]{0,2}?"
                          r"(?:社区|小区|街道|乡|镇|村|县|市|省|区|州|国家|城市|地区)")
_COUNTED = ("多少", "几")


def asked_referent(question: str) -> str | None:
    """"person" when ``question`` asks who (谁, 哪位, 叫什么), "place" when it asks where
    (哪里, 哪个社区, 哪個鄉), else None."""
    simple = to_simplified(question)
    if _PLACE_ASKED.search(simple):
        return "place"
    if _PERSON_ASKED.search(simple):
        return "person"
    return None


def counted_noun(question: str) -> str | None:
    """The noun ``question`` counts (多少个疫情检查站 → 疫情检查站, 多少名員工 → 員工), as typed."""
    words = _words(question)
    for i, w in enumerate(words):
        if w.simple not in _COUNTED:
            continue
        j = i + 1
        while j < len(words) and words[j].flag.startswith(("q", "m")):
            j += 1
        run = []
        while j < len(words) and words[j].flag.startswith(("n", "vn", "j")) and not words[j].flag.startswith(ENTITY_FLAGS):
            run.append(words[j].text)
            j += 1
        noun = "".join(run)
        if _letters(noun) >= 2:
            return noun
    return None


def _substitute(question: str, refs, replacement: str) -> str:
    """``question`` with each reference of ``refs`` (start, end, …) replaced."""
    out = question
    for start, end, *_ in sorted(refs, reverse=True):
        out = out[:start] + replacement + out[end:]
    return out


def _by_antecedent(question: str, refs, earlier: str,
                   answer_of: Callable[[str], EarlierAnswer | None] | None) -> Resolved | None:
    """The question with its pronoun replaced by what it stands for in the latest earlier
    question's answer (a person, a place) or by the noun that question counted; None when
    no such reading applies."""
    asked = asked_referent(earlier)
    singular = [r for r in refs if r[2] == "person" and r[3] not in PLURAL]
    places = [r for r in refs if r[2] == "place"]
    # A 他/她 stands for the person an earlier "who" question's answer names, unless the
    # earlier question names her already (董健的妻子是谁？ + 她… is 董健的妻子, as before),
    # and when the earlier question names a person itself (但建伟和谁…？, 董健是谁？), 他/她 is
    # more likely that person than whoever its answer names: the rules below keep to it
    if (answer_of is not None and asked == "person" and singular and not _person_entities(earlier)
            and not _person_entities(question)):
        found = answer_of(earlier)
        if found is not None and found.person:
            return Resolved(question, _substitute(question, singular, found.person), (found.person,), "answer")
    if answer_of is not None and asked == "place" and places and not entities(question):
        found = answer_of(earlier)
        if found is not None and found.text and _letters(found.text) <= MAX_PLACE_CHARS:
            return Resolved(question, _substitute(question, places, found.text), (found.text,), "answer")
    plural = [r for r in refs if r[3] in PLURAL]
    noun = counted_noun(earlier) if plural and not _person_entities(question) else None
    if noun is not None:
        return Resolved(question, _substitute(question, plural, noun), (noun,), "pronoun")
    return None


def _letters(text: str) -> int:
    return len(_LETTER.findall(text))


def key_terms(question: str, weight: Callable[[str], float] | None = None, n: int = 2) -> list[str]:
    """What an earlier question was about: its names, else its ``n`` weightiest search
    terms (by ``weight``, e.g. the index's BM25 idf; by length when none is given)."""
    names = entities(question)
    if names:
        return names[:MAX_CARRIED]
    terms = [t for t in dict.fromkeys(bm25_tokens(normalize(question))) if t not in _ALL_REFS and _letters(t) >= 2]
    key = (lambda t: (-weight(t), -len(t))) if weight else (lambda t: -len(t))
    ranked = sorted(terms, key=key)
    # cut_for_search yields both 清徐县 and 清徐: keep the longer, drop what it contains
    kept: list[str] = []
    for t in ranked:
        if not any(t in k or k in t for k in kept):
            kept.append(t)
        if len(kept) >= n:
            break
    return [t for t in terms if t in kept]  # in the question's order


def _references(words: list[_Word], question: str) -> list[tuple[int, int, str, str]]:
    """(start, end, kind, word) of each unresolved reference; kind is person, thing, place,
    determiner, en_subject or en_possessive."""
    refs = []
    for w in words:
        if not w.flag.startswith("r") and w.simple not in PLACE | THING:
            continue
        for kind, vocabulary in (("person", PERSON), ("thing", THING), ("place", PLACE)):
            if w.simple in vocabulary:
                refs.append((w.start, w.end, kind, w.simple))
                break
        else:
            if w.simple in DETERMINERS or (len(w.simple) == 2 and w.simple[0] in "该此" and w.flag == "r"):
                refs.append((w.start, w.end, "determiner", w.simple))
    for m in _EN_WORD.finditer(question):
        word = m.group().casefold()
        if word in EN_SUBJECT:
            refs.append((m.start(), m.end(), "en_subject", word))
        elif word in EN_POSSESSIVE:
            refs.append((m.start(), m.end(), "en_possessive", word))
    return sorted(refs)


def _resolved_inside(refs, question: str) -> bool:
    """A reference the question resolves itself: 李楠的孩子生病时他在做什么？"""
    kinds = {r[2] for r in refs}
    own_people = _person_entities(question)
    own_names = entities(question)
    if kinds <= {"person", "en_subject", "en_possessive"}:
        return bool(own_people)
    return bool(own_names)


def _ellipsis(question: str) -> str | None:
    """The new subject of 那李楠呢？ / 还有张晗呢？ / What about Li Nan?, else None."""
    core = question.strip().rstrip(_END_PUNCT)
    lowered = core.casefold()
    if not (core.endswith(("呢", "嗎", "吗")) or lowered.startswith(("what about", "how about"))):
        return None
    for opener in sorted(ELLIPSIS_OPEN, key=len, reverse=True):
        if lowered.startswith(opener):
            core = core[len(opener) :].strip(" ，,")
            break
    else:
        if not core.endswith("呢"):
            return None
    core = core.rstrip("呢嗎吗 ").strip()
    return core if 0 < len(core) <= 12 else None


def _join(names: Sequence[str]) -> str:
    return "、".join(names)


def _kin_phrase(earlier: str, pronoun: str, people: list[str]) -> str | None:
    """董健的妻子 in the earlier question, when 她 (or 他 for 丈夫 …) points at it."""
    kin = FEMALE_KIN if pronoun in ("她", "她们") else MALE_KIN + FEMALE_KIN if pronoun == "他们" else MALE_KIN if pronoun == "他" else ()
    for name in people:
        for noun in kin:
            phrase = f"{name}的{noun}"
            if phrase in earlier or phrase in to_simplified(earlier):
                return phrase
    return None


def _noun_phrases(question: str) -> list[str]:
    """Runs of nouns in ``question`` (as typed), longest first: 應急小隊, 疫情防控領導小組."""
    runs, current = [], []
    for w in _words(question):
        if w.flag.startswith(("n", "vn", "j")) and w.simple not in _ALL_REFS:
            current.append(w)
            continue
        if current:
            runs.append(current)
        current = []
    if current:
        runs.append(current)
    phrases = ["".join(w.text for w in run) for run in runs]
    return sorted(dict.fromkeys(p for p in phrases if _letters(p) >= 2), key=len, reverse=True)


def _named_by_noun(noun: str, earlier: str) -> str | None:
    """The longer noun phrase of ``earlier`` that ends with ``noun``: 那個小隊 after a
    question about the 應急小隊 is the 應急小隊."""
    simple = to_simplified(noun)
    for phrase in _noun_phrases(earlier):
        if len(phrase) > len(noun) and to_simplified(phrase).endswith(simple):
            return phrase
    return None


def _place_phrase(place: str, earlier: str) -> str:
    """The place with the noun that follows it in ``earlier``, when one does: 那里 after
    a question about 瑞达社区 is 瑞达社区, not 瑞达."""
    grown = [p for p in _noun_phrases(earlier) if p.startswith(place) and len(p) <= len(place) + 2]
    return min(grown, key=len) if grown else place


def _replace(question: str, refs, people: list[str], terms: list[str], places: list[str], earlier: str) -> str | None:
    """Put the names in place of the references; None when a reference cannot simply be
    replaced (a determiner such as 这位 in 这位民警, a person with no name to put, a 它 or
    那里 when the earlier question names nothing), which is handled by prefixing instead."""
    out, pos = [], 0
    words = {w.start: w for w in _words(question)}
    for start, end, kind, word in refs:
        if start < pos:  # already replaced with the noun before it
            continue
        if kind in ("person", "en_subject", "en_possessive") and not people:
            return None
        if kind == "determiner":
            following = words.get(end)
            phrase = _named_by_noun(following.text, earlier) if following is not None and following.flag.startswith("n") else None
            if phrase is not None:  # 那個小隊 → 應急小隊
                replacement, end = phrase, following.end
            elif word == "其" and people:
                replacement = _join(people) + "的"
            elif len(word) == 2 and word[0] in "该此" and any(n.endswith(word[1]) for n in places + people + terms):
                replacement = next(n for n in places + people + terms if n.endswith(word[1]))  # 该县 → 清徐县
            else:
                return None
        elif kind == "place":
            named = places or entities(earlier)  # jieba tags some places as people (清徐县/nr)
            if not named:
                return None
            replacement = _join([_place_phrase(p, earlier) for p in named[:MAX_CARRIED]])
        elif kind == "thing":
            return None  # 它 may be any thing the earlier question mentions: carried in front instead
        elif kind == "en_possessive":
            replacement = _join(people) + "'s"
        else:
            replacement = _kin_phrase(earlier, word, people) or _join(people)
        out.append(question[pos:start])
        out.append(replacement)
        pos = end
    out.append(question[pos:])
    return "".join(out)


def resolve(question: str, previous: Sequence[str], weight: Callable[[str], float] | None = None,
            answer_of: Callable[[str], EarlierAnswer | None] | None = None) -> Resolved:
    """Rewrite ``question`` with what ``previous`` (the earlier questions as they were sent
    to retrieval, oldest first) were about, when it needs them; otherwise return it as is.

    ``weight`` ranks an earlier question's terms when it names nobody (e.g. BM25 idf).
    ``answer_of`` gives an earlier question's trusted answer (or None); it is asked only
    when a pronoun may stand for that answer."""
    plain = Resolved(question, question)
    text = question.strip()
    if not previous or not _letters(text):  # nothing to resolve, or nothing to search for
        return plain
    words = _words(text)
    refs = _references(words, text)
    ellipsis = None if refs else _ellipsis(text)
    short = (not refs and ellipsis is None and _letters(text) <= SHORT_CHARS
             and len(bm25_tokens(normalize(text))) <= 1 and not entities(text))
    if not (refs or ellipsis or short):
        return plain
    if refs and _resolved_inside(refs, text):
        return plain
    latest = next((p.strip() for p in reversed(previous) if p.strip()), "")
    by_antecedent = _by_antecedent(text, refs, latest, answer_of) if refs and latest else None
    if by_antecedent is not None:
        return by_antecedent

    earlier, terms = "", []
    for earlier in list(previous)[::-1][:LOOK_BACK]:
        terms = key_terms(earlier, weight)
        if terms:
            break
    if not terms:
        return plain

    def prefixed(reason: str) -> Resolved:
        return Resolved(question, f"{_join(terms)}，{text}", tuple(terms), reason)

    if ellipsis is not None:
        # 董健的妻子是做什么的？ + 那李楠呢？ → 李楠的妻子是做什么的？
        new = entities(ellipsis)
        old = [t for t in terms if t in earlier]
        if new and old and ellipsis not in earlier:
            # 张晗的妻子原来做什么工作？ + 那蔡路强的妻子呢？: what follows the new name (的妻子)
            # also follows the old one, and is replaced with it
            rest = ellipsis[len(new[0]):] if ellipsis.startswith(new[0]) else ""
            target = old[0] + rest if rest and old[0] + rest in earlier else old[0]
            return Resolved(question, earlier.replace(target, ellipsis, 1), (ellipsis,), "ellipsis")
        return prefixed("ellipsis") if not new else plain
    if short:
        return prefixed("short")

    people = _person_entities(earlier)[:MAX_CARRIED]
    places = [n for n in entities(earlier) if n not in people][:MAX_CARRIED]
    plural = [r[3] for r in refs if r[3] in ("他们", "她们")]
    kin = _kin_phrase(earlier, plural[0], people) if plural and len(people) == 1 else None
    if kin is not None:
        # 董健的妻子是谁？ + 他们俩被称为什么？: they are 董健 and his wife
        terms = [people[0], kin[len(people[0]) + 1:]]
        return prefixed("pronoun")
    rewritten = _replace(text, refs, people, terms, places, earlier)
    if rewritten is None:
        return prefixed("pronoun")
    carried = tuple(t for t in dict.fromkeys([*people, *places, *terms]) if t in rewritten and t not in text)
    return Resolved(question, rewritten, carried, "pronoun")


def readings(question: str, previous: Sequence[str], weight: Callable[[str], float] | None = None,
             answer_of: Callable[[str], EarlierAnswer | None] | None = None) -> tuple[Resolved, ...]:
    """The ways ``question`` can be read after ``previous`` (earlier questions as sent to
    retrieval, oldest first): the rewrite (when the question leans on the conversation),
    the question as typed, and the question after the latest earlier one (context for what
    it leaves unsaid: 为什么要这样做？, 几点起来？, or a 那里 that stands for the earlier
    answer). A question that names its own subject and leans on nothing gets no context
    reading; a rewritten ellipsis no reading as typed. The engine asks them all and keeps, of
    the answered ones, the one whose first snippet scores best; when none is answered, the
    first one's honest no."""
    text = question.strip()
    first = resolve(question, previous, weight, answer_of)
    out = [first] if first.rewritten else []
    # An ellipsis (那李楠呢？, 那流动人口呢？) asks nothing alone: rewritten (the earlier question
    # with the new subject, or with the earlier question's words in front), it is not also
    # asked as typed, where it would find any sentence that names 李楠.
    if not (first.rewritten and first.reason == "ellipsis"):
        out.append(Resolved(question, question))
    latest = next((p.strip() for p in reversed(previous) if p.strip()), "")
    # A question that names its own subject and leans on nothing starts a new topic.
    stands_alone = not first.rewritten and bool(entities(text))
    if (latest and _letters(text) and not stands_alone and latest != text
            and len(latest) + len(first.query) < MAX_QUESTION_CHARS):
        out.append(Resolved(question, f"{latest} {first.query.strip()}", (latest,), "context"))
    return tuple(out)
