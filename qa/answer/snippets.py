"""Extractive answers: the one to three sentences of the top passages that best answer the
question, copied verbatim from the original text, each with its citation; or, when the
evidence is too weak, an honest "the corpus has no answer to this".

Sentences are scored by their own vectors (pooled from their passage's token embeddings
at index time, so this costs no encoding at question time), by how much of the question
they cover, and by whether they can hold the kind of answer asked for (qa/retrieve/sentences.py).
"""
from __future__ import annotations

import math

from qa.answer.spans import ReadSpan, best_span, best_span_in, sentence_around
from qa.index.folder import IndexData
from qa.question.answer_type import missing_entities
from qa.question.query import Query
from qa.records import Answer, AnswerSpan, Citation, Hit, Snippet
from qa.retrieve.sentences import SentenceCandidate, SentenceEvidence
from qa.text.normalize import normalize

MAX_SNIPPETS = 3
SECONDARY_MARGIN = 0.04  # further snippets must score within this of the best
SPAN_POLICY = "sentence"  # "sentence": best sentence first, span inside it; "reader": the span picks the sentence


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


def _cjk_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum(1 for c in letters if "\u3400" <= c <= "\u9fff") / len(letters) if letters else 0.0


def answer(query: Query, hits: list[Hit], data: IndexData, threshold: float, mode: str,
           evidence: SentenceEvidence, spans: list[ReadSpan] | None = None) -> Answer:
    """Choose the snippets for ``query`` from ``hits`` (best first), among the sentences
    ``evidence`` scored. With the reader's ``spans``, the answer is its best span and the
    first snippet the sentence that holds it; further snippets are the best other sentences."""
    cands = sorted(evidence.candidates(hits), key=lambda c: (-c.score, c.hit.rank, c.start))
    best = cands[0] if cands else None
    retrieved = " ".join(normalize(h.citation.title) + " " + h.passage.match_text for h in hits)
    missing = missing_entities(query.tokens, retrieved)
    if best is None or confidence(hits, best, _cjk_share(query.text), missing) < threshold:
        return Answer(query.text, False, (), tuple(hits), mode)
    chosen: list[tuple[str, int, int, float]] = []  # (doc id, start, end, score)
    span = None
    if spans and SPAN_POLICY == "reader":  # the reader's best span chooses the first sentence
        found = best_span(spans)
        if found is not None:
            start, end = sentence_around(data, found)
            chosen.append((found.hit.passage.doc_id, start, end, found.score))
    elif spans:  # the best sentence stays first; the answer is the reader's best span inside it
        found = best_span_in(spans, best.hit.passage.doc_id, best.start, best.end)
    else:
        found = None
    if found is not None:
        doc = data.documents[found.hit.passage.doc_id]
        span = AnswerSpan(doc.text[found.start : found.end], Citation.of(doc, found.start, found.end), found.score)
    for c in cands:
        if len(chosen) >= MAX_SNIPPETS or c.score < best.score - SECONDARY_MARGIN:
            break
        doc_id = c.hit.passage.doc_id
        if any(doc_id == o_doc and c.start < o_end and o_start < c.end for o_doc, o_start, o_end, _ in chosen):
            continue
        chosen.append((doc_id, c.start, c.end, c.score))
    snippets = []
    for doc_id, start, end, score in chosen:
        doc = data.documents[doc_id]
        snippets.append(Snippet(
            text=doc.text[start:end],
            citation=Citation.of(doc, start, end),
            score=score,
        ))
    return Answer(query.text, True, tuple(snippets), tuple(hits), mode, span=span)
