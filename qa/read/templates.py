"""Template questions: extra training signal for the reader, made from text it may train on.

A template question is a clause of a paragraph with one answer-like span replaced by a
question word (a cloze turned into a question, as in Lewis et al. 2019, "Unsupervised
question answering by cloze translation"):

    邻近港铁西铁线兆康站及轻铁兆康站，现时有3条巴士路线以此处为总站。
    → 邻近港铁西铁线兆康站及轻铁兆康站，现时有多少条巴士路线以此处为总站？  (answer: 3条)

Answer-like spans are dates, years, numbers with a measure word, 《titles》 (by pattern) and
the names jieba's part-of-speech tagger marks as a person (nr), a place (ns) or an
organisation (nt), unless a neighbouring word is name-like too (a piece of a longer name
jieba split; ``NAME_LIKE`` includes jieba's ``x``, which it also gives punctuation, so a name
right beside a comma is skipped as well, more often than needed) or a single-character noun. An answer written twice in its paragraph is skipped (ambiguous). The question
is the answer's clause, with the clause before it 60% of the time, 8-60 characters; clauses
holding web debris (runs of spaces, ellipses, Latin words) are skipped.

Paragraphs come from the reader's training folds only, and from the RGB news documents that no
question of ``rgb-news-a`` cites (news text, which the encyclopedic sets lack). Questions about a
traditional paragraph (DRCD's) use traditional question words; jieba tags its simplified
conversion (OpenCC t2s) when that keeps every character's offset.
"""
from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from qa.read import data as D

NEWS_SET = "rgb-news-a"

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
NUMBER = re.compile(r"(?:\d+(?:[.,]\d+)*|[一二三四五六七八九十百千两兩]+)(?:多|余|餘)?(?:万|萬|亿|億)?(" + MEASURE + ")")
DATE = re.compile(r"\d{1,4}年\d{1,2}月(?:\d{1,2}日)?|\d{1,2}月\d{1,2}日")
YEAR = re.compile(r"(?<![\d年月])\d{3,4}年(?![\d月])")
TITLE = re.compile(r"《[^《》]{1,30}》")
NAME_TAGS = {"nr": "person", "ns": "place", "nt": "org"}
NAME_LIKE = {"nr", "ns", "nt", "nz", "nrt", "nrfg", "eng", "x"}
SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]?")
CLAUSE = re.compile(r"[^，,；;。！？!?：:]+[，,；;：:]?")
DEBRIS = re.compile(r"\s\s|\.\.\.|…|[A-Za-z]{4,}|\d{1,2}, \d{4}")
TRAILING = re.compile(r"[，,；;：:。！？!?\s]+$")
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
    """Text to make questions about, with the set, style and article it belongs to."""

    text: str
    source: str
    style: str
    title: str


def _tagger():
    import jieba
    import jieba.posseg

    jieba.setLogLevel(60)
    return jieba.posseg


def _to_simplified():
    import opencc

    return opencc.OpenCC("t2s")


def answer_candidates(text: str, tagger=None, t2s=None) -> list[Candidate]:
    """Answer-like spans of text, in order, none overlapping (the earlier one wins)."""
    tagger = tagger or _tagger()
    t2s = t2s or _to_simplified()
    simple = t2s.convert(text)
    if len(simple) != len(text):
        simple = text
    found = [(m.start(), m.end(), kind, "") for rx, kind in ((DATE, "date"), (YEAR, "year"), (TITLE, "title"))
             for m in rx.finditer(text)]
    found += [(m.start(), m.end(), "number", m.group(1)) for m in NUMBER.finditer(text)]
    words, pos = [], 0
    for word, tag in tagger.cut(simple):
        words.append((pos, word, tag))
        pos += len(word)
    for i, (start, word, tag) in enumerate(words):
        kind = NAME_TAGS.get(tag)
        if not kind or len(word) < 2:
            continue
        before = words[i - 1][2] if i else ""
        after, next_word = (words[i + 1][2], words[i + 1][1]) if i + 1 < len(words) else ("", "")
        if before in NAME_LIKE or after in NAME_LIKE or (len(next_word) == 1 and after in ("n", "ng")):
            continue  # probably a piece of a longer name that jieba split
        found.append((start, start + len(word), kind, ""))
    found.sort()
    out, last = [], -1
    for start, end, kind, measure in found:
        if start >= last:
            out.append(Candidate(start, end, kind, measure))
            last = end
    return out


def question_for(paragraph: str, answer: Candidate, traditional: bool, rng: random.Random) -> str | None:
    """The answer's clause (sometimes with the clause before it) asking for the answer, or None."""
    for m in SENTENCE.finditer(paragraph):
        if m.start() <= answer.start and answer.end <= m.end():
            offset, sentence = m.start(), m.group()
            break
    else:
        return None
    clauses = [(c.start() + offset, c.end() + offset) for c in CLAUSE.finditer(sentence)]
    at = next((i for i, (lo, hi) in enumerate(clauses) if lo <= answer.start and answer.end <= hi), None)
    if at is None:
        return None
    lo = clauses[at - 1][0] if at > 0 and rng.random() < WITH_CLAUSE_BEFORE else clauses[at][0]
    hi = clauses[at][1]
    word = "多少" + answer.measure if answer.kind == "number" else QUESTION_WORDS[answer.kind][traditional]
    question = TRAILING.sub("", paragraph[lo : answer.start] + word + paragraph[answer.end : hi]).strip()
    if DEBRIS.search(question) or not MIN_CHARS <= len(question) <= MAX_CHARS or len(question) - len(word) < MIN_KEPT:
        return None
    return question + "？"


def training_paragraphs(train_questions: list[D.Question], shared_dir: Path) -> list[Paragraph]:
    """The training questions' paragraphs, then the news documents no ``rgb-news-a`` question cites."""
    seen: dict[str, Paragraph] = {}
    for q in train_questions:
        seen.setdefault(q.context, Paragraph(q.context, q.source, q.style, q.title))
    out = list(seen.values())
    folder = Path(shared_dir) / "eval" / NEWS_SET
    if not (folder / "corpus.jsonl").exists():
        return out
    cited: set[str] = set()
    with open(folder / "questions.jsonl", encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line).get("doc")
            if doc:
                cited.update(doc if isinstance(doc, list) else [doc])
    with open(folder / "corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            if d["id"] not in cited and len(d["text"]) >= 60:
                out.append(Paragraph(d["text"], NEWS_SET, "cmrc", "rgb:" + d["id"]))
    return out


def template_questions(paragraphs: list[Paragraph], seed: int, per_paragraph: int = 2) -> list[D.Question]:
    """Up to ``per_paragraph`` template questions a paragraph, its candidates tried in random order."""
    rng = random.Random(seed)
    tagger, t2s = _tagger(), _to_simplified()
    out = []
    for n, p in enumerate(paragraphs):
        candidates = answer_candidates(p.text, tagger, t2s)
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


def sample_template_questions(train_questions: list[D.Question], shared_dir: Path, n: int, seed: int) -> list[D.Question]:
    """``n`` template questions drawn at random (seeded) from all those the training paragraphs give."""
    made = template_questions(training_paragraphs(train_questions, shared_dir), seed)
    return random.Random(seed).sample(made, min(n, len(made)))
