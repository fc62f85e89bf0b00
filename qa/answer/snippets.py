"""Extractive answers: the one to three sentences of the top passages that best answer the
question, copied verbatim from the original text, each with its citation; or, when the
evidence is too weak, an honest "the corpus has no answer to this".

Sentences are scored by their own vectors (pooled from their passage's token embeddings
at index time, so this costs no encoding at question time), by how much of the question
they cover, and by whether they can hold the kind of answer asked for (qa/retrieve/sentences.py).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from qa.answer.choice import SentenceChoice, choice_features, gather
from qa.answer.confidence import ConfidenceModel
from qa.answer.confidence import features as confidence_features
from qa.answer.spans import ReadSpan
from qa.index.folder import IndexData
from qa.question.answer_type import missing_entities
from qa.question.query import Query
from qa.records import Answer, AnswerSpan, Citation, Hit, Snippet
from qa.retrieve.sentences import SentenceCandidate, SentenceEvidence
from qa.text.charstats import cjk_share
from qa.text.normalize import normalize

MAX_SNIPPETS = 3
SECONDARY_MARGIN = 0.04  # further snippets must score within this of the best


def confidence(hits: list[Hit], best: SentenceCandidate | None, cjk_share: float, missing: list[str]) -> float:
    """How sure we are that the corpus answers the question, in [0, 1].

    A logistic model over the top passage's dense similarity, the question's coverage by
    the best sentence, whether that sentence can hold the kind of answer asked for, and
    whether the question names a place, person or organisation the evidence never mentions;
    fitted on the seed questions and on questions from one evaluation set asked of
    another corpus (see README, "Abstention"). Questions in other languages have no
    lexical evidence, so for them only the dense similarity counts."""
    if not hits or best is None:
        return 0.0
    dense = hits[0].dense_score or 0.0
    if cjk_share < 0.3:
        z = 40.0 * (dense - 0.74)
    else:
        z = 39.5 * (dense - 0.86) + 5.0 * (best.coverage - 0.3) + 2.1 * best.fits_type - 1.5 * bool(missing) - 2.7
    return 1.0 / (1.0 + math.exp(-z))


def ranked_sentences(evidence: SentenceEvidence, hits: list[Hit]) -> list[SentenceCandidate]:
    """The sentences of ``hits`` as the picker ranks them, best first."""
    return sorted(evidence.candidates(hits), key=lambda c: (-c.score, c.hit.rank, c.start))


def answer_passage_first(hits: list[Hit], shown: Hit) -> list[Hit]:
    """``hits`` with ``shown`` (the passage of the sentence shown first) moved to the front,
    marked ``moved_first``, the ranks renumbered (each keeping the one fusion gave it as
    ``fused_rank``); unchanged when it is first already or absent."""
    i = next((j for j, h in enumerate(hits) if h.passage.pid == shown.passage.pid), None)
    if not i:  # None, or first already
        return hits
    order = [hits[i], *hits[:i], *hits[i + 1 :]]
    return [replace(h, rank=n + 1, moved_first=n == 0, fused_rank=h.rank) for n, h in enumerate(order)]


@dataclass(frozen=True)
class Draft:
    """What a question's path has found before deciding what to show: the candidate
    sentences (the picker's order), the one chosen to be shown first and the reader's span in
    it, and the confidence features (None without a reading)."""

    cands: list
    best: SentenceCandidate
    first: SentenceCandidate
    found: ReadSpan | None
    features: np.ndarray | None
    missing: list


def draft(query: Query, hits: list[Hit], evidence: SentenceEvidence,
          read: Callable[[list[SentenceCandidate]], list[list[ReadSpan]]] | None = None,
          choice: SentenceChoice | None = None, mode: str = "hybrid") -> Draft | None:
    """The sentence to show first for ``query`` among the sentences of ``hits``, its span and
    the confidence features; None when the passages hold no sentence."""
    by_evidence = ranked_sentences(evidence, hits)
    if not by_evidence:
        return None
    best = by_evidence[0]
    retrieved = " ".join(normalize(h.citation.title) + " " + h.passage.match_text for h in hits)
    missing = missing_entities(query.tokens, retrieved)
    cands = choice.order(by_evidence, hits, mode) if choice is not None else by_evidence
    if read is None:
        return Draft(cands, best, cands[0], None, None, missing)
    windows = read(cands[: choice.depth if choice is not None else 1])
    reading = gather(cands, windows, extend=choice is not None and choice.extend)
    scores = choice.score(choice_features(reading)) if choice is not None and len(reading.sentences) > 1 else None
    pick = int(np.argmax(scores)) if scores is not None else 0  # as choose(): the first of equal scores
    x = confidence_features(query, hits, best, reading, pick, scores, bool(missing), cjk_share(query.text))
    return Draft(cands, best, reading.sentences[pick], reading.spans[pick], x, missing)


def answer(query: Query, hits: list[Hit], data: IndexData, threshold: float, mode: str,
           evidence: SentenceEvidence, read: Callable[[list[SentenceCandidate]], list[list[ReadSpan]]] | None = None,
           choice: SentenceChoice | None = None, lead: bool = False, sure: ConfidenceModel | None = None) -> Answer:
    """Choose the snippets for ``query`` from ``hits`` (best first), among the sentences
    ``evidence`` scored. With ``read`` (the reader: its spans in a window around each given
    sentence, qa.answer.choice.read_windows), the picker's first ``choice.depth`` sentences
    are read, ``choice`` (qa/answer/choice.py) chooses the one shown first among them (and,
    with ``choice.extend``, the sentences where a window's best span lies), and the reader's
    span inside it is the answer; without ``choice`` the evidence's best sentence stays first
    and only it is read. The sentences are taken in the order of ``choice``'s picker (the
    evidence's own where it has none).

    With ``sure`` (qa/answer/confidence.py) and a reading, the learned confidence decides:
    no answer, the sentence as the answer, or the span in bold as the answer. Without it,
    abstention is the hand-set ``confidence`` below ``threshold`` over the evidence's best
    sentence, and the span is always claimed. With ``lead`` (and a reading and ``choice``),
    the passage holding the sentence shown first is put first among the passages
    (answer_passage_first): the choice, made over the picker's and the reader's scores, is one
    more judgement of which passage answers."""
    learned = sure is not None and read is not None
    found_draft = None
    if learned:
        found_draft = draft(query, hits, evidence, read, choice, mode)
        if found_draft is None:
            return Answer(query.text, False, (), tuple(hits), mode, confidence=0.0)
        outcome = sure.decide(found_draft.features)
        if not outcome.answered:
            return Answer(query.text, False, (), tuple(hits), mode, confidence=round(outcome.confidence, 4),
                          span_confidence=round(outcome.span_p, 4))
    else:
        by_evidence = ranked_sentences(evidence, hits)
        best = by_evidence[0] if by_evidence else None
        retrieved = " ".join(normalize(h.citation.title) + " " + h.passage.match_text for h in hits)
        missing = missing_entities(query.tokens, retrieved)
        sure_hand = confidence(hits, best, cjk_share(query.text), missing) if best is not None else 0.0
        if best is None or sure_hand < threshold:
            return Answer(query.text, False, (), tuple(hits), mode)
        found_draft = draft(query, hits, evidence, read, choice, mode)
        outcome = None
    cands, best, first, found = found_draft.cands, found_draft.best, found_draft.first, found_draft.found
    span = None
    if found is not None:
        doc = data.documents[found.hit.passage.doc_id]
        span = AnswerSpan(doc.text[found.start : found.end], Citation.of(doc, found.start, found.end), found.score)
    chosen: list[SentenceCandidate] = [first]
    for c in cands:
        if len(chosen) >= MAX_SNIPPETS:
            break
        if c.score < best.score - SECONDARY_MARGIN:  # the evidence's score: far below its best
            continue
        if any(c.hit.passage.doc_id == o.hit.passage.doc_id and c.start < o.end and o.start < c.end for o in chosen):
            continue
        chosen.append(c)
    snippets = []
    for c in chosen:
        doc = data.documents[c.hit.passage.doc_id]
        snippets.append(Snippet(
            text=doc.text[c.start : c.end],
            citation=Citation.of(doc, c.start, c.end),
            score=c.score,
        ))
    if lead and read is not None and choice is not None:
        hits = answer_passage_first(hits, first.hit)
    if outcome is None:
        return Answer(query.text, True, tuple(snippets), tuple(hits), mode, span=span, span_shown=span is not None)
    return Answer(query.text, True, tuple(snippets), tuple(hits), mode, span=span,
                  span_shown=outcome.span_shown and span is not None, confidence=round(outcome.confidence, 4),
                  span_confidence=round(outcome.span_p, 4))
