"""Template questions: extra training questions for the reader, made from its training paragraphs.

A template question is a clause of a paragraph with one answer-like span replaced by a question
word (a cloze turned into a question, as in Lewis et al. 2019, "Unsupervised question answering
by cloze translation"):

    邻近港铁西铁线兆康站及轻铁兆康站，现时有3条巴士路线以此处为总站。
    → 邻近港铁西铁线兆康站及轻铁兆康站，现时有多少条巴士路线以此处为总站？  (answer: 3条)

Answer-like spans:
- by pattern: dates, years (not decades: 1960年代), numbers with a measure word (not
  ordinals: 第3次; not a bare 一, which is mostly "a": 一个), and 《titles》;
- by jieba's part-of-speech tagger: words it marks as a person (nr), a place (ns) or an
  organisation (nt), unless the word beside it is name-like too or a one-character noun (then
  it is probably a piece of a longer name that jieba split).
An answer written twice in its paragraph is skipped (ambiguous). The question is the answer's
clause, with the clause before it 60% of the time, 8-60 characters; clauses holding web debris
(runs of spaces, ellipses, Latin words) or an unpaired quote or bracket are skipped. A
traditional paragraph (DRCD's) gets traditional question words, and jieba tags its simplified
conversion (OpenCC t2s) when that keeps its length, so every offset.

Only the reader's training folds are read: news documents of ``rgb-news-a``, even those no
question cites, are the distractors of its questions and hold their answers, so they are not.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass

from qa.folds import is_validation
from qa.ingest.chunk import sentences
from qa.read import data as D
from qa.text.normalize import converter
from qa.text.tokenize import quiet_jieba

PER_PARAGRAPH = 2
# kind -> (simplified, traditional) question word
QUESTION_WORDS = {
    "person": ("谁", "誰"),
    "place": ("哪里", "哪裡"),
    "org": ("哪个机构", "哪個機構"),
    "year": ("哪一年", "哪一年"),
    "date": ("什么时候", "什麼時候"),
    "title": ("哪部作品", "哪部作品"),
}
MEASURE = ("个|個|人|名|次|岁|歲|米|公里|公尺|元|件|座|所|家|位|种|種|项|項|场|場|部|本|条|條|艘|架|辆|輛|"
           "支|只|隻|层|層|天|小时|小時|分钟|分鐘|秒|倍|届|屆|吨|噸|平方公里|公顷|公頃|英里|%|％")
NUMBER = re.compile(r"(?<![第\d.,一二三四五六七八九十百千两兩])"
                    r"(\d+(?:[.,]\d+)*|[一二三四五六七八九十百千两兩]+)(?:多|余|餘)?(?:万|萬|亿|億)?(" + MEASURE + ")")
DATE = re.compile(r"\d{1,4}年\d{1,2}月(?:\d{1,2}日)?|\d{1,2}月\d{1,2}日")
YEAR = re.compile(r"(?<![\d年月])\d{3,4}年(?![\d月代])")
TITLE = re.compile(r"《[^《》]{1,30}》")
NAME_TAGS = {"nr": "person", "ns": "place", "nt": "org"}
NAME_LIKE = {"nr", "ns", "nt", "nz", "nrt", "nrfg", "eng"}
CLAUSE = re.compile(r"[^，,；;。！？!?：:]+[，,；;：:]?")
DEBRIS = re.compile(r"\s\s|\.\.\.|…|[A-Za-z]{4,}")
TRAILING = re.compile(r"[，,；;：:。！？!?\s]+$")
PAIRS = ("“”", "「」", "『』", "（）", "()", "《》", "‘’")
MIN_CHARS, MAX_CHARS, MIN_KEPT = 8, 60, 6
WITH_CLAUSE_BEFORE = 0.6


@dataclass(frozen=True)
class Candidate:
    """An answer-like span of a paragraph: [start, end) and what kind of answer it is."""

    start: int
    end: int
    kind: str  # a QUESTION_WORDS key, or "number" (asked with 多少 + its measure word)
    measure: str = ""


@dataclass(frozen=True)
class Paragraph:
    """A training paragraph to make questions about, with its set, style and article."""

    text: str
    source: str
    style: str
    title: str


def _name_like(tag: str, word: str) -> bool:
    return tag in NAME_LIKE or (tag == "x" and word.isalnum())  # jieba tags punctuation x too


def answer_candidates(text: str) -> list[Candidate]:
    """Answer-like spans of text, in order, none overlapping (the earlier one wins)."""
    quiet_jieba()
    import jieba.posseg

    simple = converter("t2s").convert(text)
    if len(simple) != len(text):
        simple = text
    found = [(m.start(), m.end(), kind, "") for rx, kind in ((DATE, "date"), (YEAR, "year"), (TITLE, "title"))
             for m in rx.finditer(text)]
    found += [(m.start(), m.end(), "number", m.group(2)) for m in NUMBER.finditer(text)
              if m.group(0) != "一" + m.group(2)]
    words, pos = [], 0
    for word, tag in jieba.posseg.cut(simple):
        words.append((pos, word, tag))
        pos += len(word)
    for i, (start, word, tag) in enumerate(words):
        kind = NAME_TAGS.get(tag)
        if not kind or len(word) < 2:
            continue
        before = words[i - 1] if i else (0, "", "")
        after = words[i + 1] if i + 1 < len(words) else (0, "", "")
        if _name_like(before[2], before[1]) or _name_like(after[2], after[1]) or (
                len(after[1]) == 1 and after[2] in ("n", "ng")):
            continue  # probably a piece of a longer name that jieba split
        found.append((start, start + len(word), kind, ""))
    found.sort()
    out, last = [], -1
    for start, end, kind, measure in found:
        if start >= last:
            out.append(Candidate(start, end, kind, measure))
            last = end
    return out


def _paired(text: str) -> bool:
    return all(text.count(a) == text.count(b) for a, b in PAIRS) and text.count('"') % 2 == 0


def question_for(paragraph: str, answer: Candidate, traditional: bool, rng: random.Random) -> str | None:
    """The answer's clause (sometimes with the clause before it) asking for the answer, or None."""
    sentence = next(((s, e) for s, e in sentences(paragraph) if s <= answer.start and answer.end <= e), None)
    if sentence is None:
        return None
    offset = sentence[0]
    clauses = [(c.start() + offset, c.end() + offset) for c in CLAUSE.finditer(paragraph[sentence[0] : sentence[1]])]
    at = next((i for i, (lo, hi) in enumerate(clauses) if lo <= answer.start and answer.end <= hi), None)
    if at is None:
        return None
    lo = clauses[at - 1][0] if at > 0 and rng.random() < WITH_CLAUSE_BEFORE else clauses[at][0]
    hi = clauses[at][1]
    word = "多少" + answer.measure if answer.kind == "number" else QUESTION_WORDS[answer.kind][traditional]
    question = TRAILING.sub("", paragraph[lo : answer.start] + word + paragraph[answer.end : hi]).strip()
    if DEBRIS.search(question) or not _paired(question):
        return None
    if not MIN_CHARS <= len(question) <= MAX_CHARS or len(question) - len(word) < MIN_KEPT:
        return None
    return question + "？"


def training_paragraphs(questions: list[D.Question]) -> list[Paragraph]:
    """The paragraphs of the questions outside the validation fold, each once, in order."""
    seen: dict[str, Paragraph] = {}
    for q in questions:
        if not is_validation(q.title):
            seen.setdefault(q.context, Paragraph(q.context, q.source, q.style, q.title))
    return list(seen.values())


def make_template_questions(paragraphs: list[Paragraph], seed: int,
                            per_paragraph: int = PER_PARAGRAPH) -> list[D.Question]:
    """Up to ``per_paragraph`` template questions a paragraph, its candidates tried in random order."""
    rng = random.Random(seed)
    out = []
    for n, p in enumerate(paragraphs):
        candidates = answer_candidates(p.text)
        rng.shuffle(candidates)
        made = 0
        for c in candidates:
            if made >= per_paragraph:
                break
            answer = p.text[c.start : c.end]
            if p.text.count(answer) > 1:
                continue
            question = question_for(p.text, c, p.style == "drcd", rng)
            if question:
                out.append(D.Question(f"template-{n}-{c.start}", p.source, p.style, p.title, p.text, question,
                                      ((answer, c.start),)))
                made += 1
    return out


def draw_template_questions(questions: list[D.Question], n: int, seed: int) -> list[D.Question]:
    """``n`` template questions drawn at random (seeded) from all that the training paragraphs of
    ``questions`` give (validation-fold articles are left out here too)."""
    made = make_template_questions(training_paragraphs(questions), seed)
    return random.Random(seed).sample(made, min(n, len(made)))
