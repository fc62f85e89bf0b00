"""Reading data: SQuAD-style records, the article split, token windows and the CMRC 2018 metric.

Everything here is numpy / tokenizers only (no torch), so the run-time reader can share it.
"""
from __future__ import annotations

import json
import re
import string
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.folds import fold_of, is_validation  # noqa: F401 - the split every stage shares
from qa.text.gloss import strip_glosses

# The four visible reading sets; the style is what validation numbers are reported by.
SOURCES = {
    "cmrc2018-trial": "cmrc",
    "cmrc2018-dev-a": "cmrc",
    "drcd-test": "drcd",
    "drcd-dev-a": "drcd",
}
# Reading sets a training run may add (qa train-reader --xquad); whether a reader read them is
# in its reader.json (qa.read.reader.trained_on).
MORE_SOURCES = {"xquad-zh": "xquad"}
BOS, PAD, EOS = 0, 1, 2  # XLM-R ids of <s>, <pad>, </s>
MAX_QUESTION_TOKENS = 64


@dataclass(frozen=True)
class Question:
    """One question about one paragraph, answers as (text, start) in the paragraph."""

    qid: str
    source: str
    style: str
    title: str
    context: str
    question: str
    answers: tuple[tuple[str, int], ...]


def _fix_answer(context: str, text: str, start: int) -> int | None:
    """The answer's start in context: as given when it matches, else the nearest occurrence."""
    if context[start : start + len(text)] == text:
        return start
    hits = [m.start() for m in re.finditer(re.escape(text), context)]
    return min(hits, key=lambda h: abs(h - start)) if hits else None


def load_reading_questions(shared_dir: Path, sources=tuple(SOURCES)) -> list[Question]:
    """All questions of the reading sets, answers re-anchored where answer_start is off."""
    out: list[Question] = []
    styles = SOURCES | MORE_SOURCES
    for source in sources:
        data = json.loads((Path(shared_dir) / "eval" / source / "squad.json").read_text(encoding="utf-8"))
        for article in data["data"]:
            title = article.get("title", "")
            for para in article["paragraphs"]:
                context = para["context"]
                for qa in para["qas"]:
                    answers = []
                    for ans in qa.get("answers", []):
                        text = ans["text"]
                        if not text.strip():
                            continue
                        start = _fix_answer(context, text, int(ans.get("answer_start", 0)))
                        if start is not None:
                            answers.append((text, start))
                    out.append(Question(str(qa["id"]), source, styles[source], title, context,
                                        qa["question"], tuple(answers)))
    return out


def train_and_validation(questions: list[Question]) -> tuple[list[Question], list[Question]]:
    """(train, validation) by article title: validation = fold_of(title) == 0."""
    train = [q for q in questions if not is_validation(q.title)]
    valid = [q for q in questions if is_validation(q.title)]
    return train, valid


# ---------------------------------------------------------------- tokenisation and windows


def load_tokenizer(model_dir: Path):
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))


@dataclass(frozen=True)
class Encoded:
    """A text's tokens (no specials) with character offsets into the original text."""

    ids: np.ndarray  # int64 [n]
    starts: np.ndarray  # int32 [n]
    ends: np.ndarray  # int32 [n]


def encode(tokenizer, text: str) -> Encoded:
    enc = tokenizer.encode(text, add_special_tokens=False)
    if enc.ids:
        offsets = np.asarray(enc.offsets, dtype=np.int32).reshape(-1, 2)
    else:
        offsets = np.zeros((0, 2), dtype=np.int32)
    return Encoded(np.asarray(enc.ids, dtype=np.int64), offsets[:, 0].copy(), offsets[:, 1].copy())


def encode_many(tokenizer, texts: list[str]) -> list[Encoded]:
    encs = tokenizer.encode_batch(list(texts), add_special_tokens=False)
    out = []
    for enc in encs:
        offsets = np.asarray(enc.offsets, dtype=np.int32).reshape(-1, 2) if enc.ids else np.zeros((0, 2), np.int32)
        out.append(Encoded(np.asarray(enc.ids, dtype=np.int64), offsets[:, 0].copy(), offsets[:, 1].copy()))
    return out


@dataclass(frozen=True)
class Window:
    """<s> question </s></s> context[tok_lo:tok_hi] </s>, with where the context starts."""

    ids: np.ndarray  # int64 [T]
    ctx_offset: int  # index in ids of the first context token
    tok_lo: int  # context token range covered
    tok_hi: int


def make_windows(q: Encoded, c: Encoded, max_len: int, stride: int,
                 tok_lo: int = 0, tok_hi: int | None = None) -> list[Window]:
    """Windows of the context tokens [tok_lo, tok_hi), overlapping by ``stride`` tokens.

    A window that would cover fewer new tokens than the overlap is not opened: the previous
    one already saw them. An empty context still gives one window (the reader can say "no answer")."""
    qids = q.ids[:MAX_QUESTION_TOKENS]
    head = np.concatenate([[BOS], qids, [EOS, EOS]]).astype(np.int64)
    budget = max(8, max_len - len(head) - 1)
    tok_hi = len(c.ids) if tok_hi is None else tok_hi
    windows = []
    lo = tok_lo
    while True:
        hi = min(tok_hi, lo + budget)
        ids = np.concatenate([head, c.ids[lo:hi], [EOS]]).astype(np.int64)
        windows.append(Window(ids, len(head), lo, hi))
        if hi >= tok_hi:
            break
        lo = max(lo + 1, hi - stride)
    return windows


def answer_tokens(c: Encoded, start: int, end: int) -> tuple[int, int] | None:
    """Context token indices (first, last) of the shortest token span covering chars [start, end)."""
    n = len(c.ids)
    if n == 0:
        return None
    nonempty = c.ends > c.starts
    cand = np.nonzero(nonempty & (c.starts <= start))[0]
    if len(cand) == 0:
        cand = np.nonzero(nonempty)[0][:1]
        if len(cand) == 0:
            return None
    i = int(cand[-1])
    later = np.nonzero(nonempty[i:] & (c.ends[i:] >= end))[0]
    j = i + int(later[0]) if len(later) else n - 1
    return i, j


def span_chars(context: str, c: Encoded, i: int, j: int) -> tuple[int, int]:
    """Character range of context tokens i..j, whitespace trimmed (a token may carry its leading space)."""
    s, e = int(c.starts[i]), int(c.ends[j])
    while s < e and context[s].isspace():
        s += 1
    while e > s and context[e - 1].isspace():
        e -= 1
    return s, e


# ---------------------------------------------------------------- CMRC 2018 metric

_PUNCT = set(string.punctuation) | set(
    "，。：？！；、“”‘’（）【】《》〈〉「」『』〔〕…—－～·・﹏￥％＃＠＆＊＋＝／＼｜＜＞"
    "．，：；！？＂＇（）［］｛｝—–‑‐―•「」﹁﹂﹃﹄〝〞〟"
)


def _clean(text: str) -> list[str]:
    """Characters kept by the CMRC 2018 metric: lower-cased, no punctuation, no whitespace."""
    out = []
    for ch in text.lower():
        if ch.isspace() or ch in _PUNCT or unicodedata.category(ch).startswith("P"):
            continue
        out.append(ch)
    return out


def _lcs(a: list[str], b: list[str]) -> int:
    """Length of the longest common substring (contiguous), as in cmrc2018_evaluate.py."""
    if not a or not b:
        return 0
    best = 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b, 1):
            if x == y:
                cur[j] = prev[j - 1] + 1
                if cur[j] > best:
                    best = cur[j]
        prev = cur
    return best


def f1_score(prediction: str, answers) -> float:
    """Character F1 over the longest common substring, best over the gold answers (CMRC 2018);
    a pinyin gloss ("發(fā)現") is not part of an answer, predicted or gold."""
    pred = _clean(strip_glosses(prediction))
    best = 0.0
    for ans in answers:
        gold = _clean(strip_glosses(ans))
        lcs = _lcs(pred, gold)
        if lcs == 0:
            continue
        p, r = lcs / len(pred), lcs / len(gold)
        best = max(best, 2 * p * r / (p + r))
    return best


def em_score(prediction: str, answers) -> float:
    """Whether the prediction is one of the gold answers (CMRC 2018), glosses aside (f1_score)."""
    pred = "".join(_clean(strip_glosses(prediction)))
    return float(any(pred == "".join(_clean(strip_glosses(a))) for a in answers))


# ---------------------------------------------------------------- decoding


def log_softmax_masked(logits: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """log-softmax over the allowed positions; -inf elsewhere."""
    x = np.where(allowed, logits.astype(np.float64), -np.inf)
    m = x.max()
    return x - (m + np.log(np.exp(x - m).sum()))


def window_scores(start_logits: np.ndarray, end_logits: np.ndarray, window: Window, length: int):
    """Per-window log-probabilities: (start over context tokens, end over context tokens, null).

    The model is trained with a softmax over <s> and the window's context tokens, so the same
    normalisation makes scores comparable across windows and passages."""
    allowed = np.zeros(len(start_logits), dtype=bool)
    allowed[0] = True
    n_ctx = window.tok_hi - window.tok_lo
    allowed[window.ctx_offset : window.ctx_offset + n_ctx] = True
    allowed[length:] = False
    ls = log_softmax_masked(start_logits, allowed)
    le = log_softmax_masked(end_logits, allowed)
    ctx = slice(window.ctx_offset, window.ctx_offset + n_ctx)
    return ls[ctx], le[ctx], float(ls[0] + le[0])


def best_spans_in_window(s: np.ndarray, e: np.ndarray, max_tokens: int, top_k: int = 1):
    """The top_k (i, j, score) context-token spans with j - i < max_tokens, by s[i] + e[j]."""
    n = len(s)
    if n == 0:
        return []
    scores = s[:, None] + e[None, :]
    idx = np.arange(n)
    band = (idx[None, :] >= idx[:, None]) & (idx[None, :] - idx[:, None] < max_tokens)
    scores = np.where(band, scores, -np.inf)
    flat = scores.ravel()
    k = min(top_k, int(np.isfinite(flat).sum()))
    if k <= 0:
        return []
    top = np.argpartition(-flat, k - 1)[:k]
    top = top[np.argsort(-flat[top])]
    return [(int(t // n), int(t % n), float(flat[t])) for t in top]


def tally(by_style: dict, style: str, text: str, answers) -> None:
    """Add one predicted answer's exact match, F1 and length to its style's running sums."""
    r = by_style.setdefault(style, {"em": 0.0, "f1": 0.0, "n": 0, "chars": 0})
    r["em"] += em_score(text, answers)
    r["f1"] += f1_score(text, answers)
    r["n"] += 1
    r["chars"] += len(text)


def summarise(by_style: dict) -> dict:
    """Per style: exact match and F1 in percent, questions, mean answer length."""
    return {st: {"em": round(100 * r["em"] / r["n"], 2), "f1": round(100 * r["f1"] / r["n"], 2),
                 "n": r["n"], "mean_chars": round(r["chars"] / r["n"], 1)}
            for st, r in sorted(by_style.items())}
