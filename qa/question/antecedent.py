"""An earlier question's answer, as a follow-up's pronoun may stand for it.

The API sends only the earlier questions of a conversation, so the engine asks each one it
needs again (``QA.ask``) and keeps what the outcome trusts: the span when it is shown as
the answer, and the person the first cited sentence names at that span. "哪位副总队长从警
20余年？" is answered 蔡路强, so "他的母亲患有什么病？" is asked about 蔡路强
(qa/question/followup.py decides when a pronoun stands for an answer).
"""
from __future__ import annotations

from qa.question.followup import EarlierAnswer, person_mentions
from qa.records import Answer
from qa.text.normalize import to_simplified


def from_answer(question: str, answer: Answer) -> EarlierAnswer | None:
    """What ``answer`` (the engine's answer to the earlier ``question``) says, when the
    corpus answered it; None for an honest no. The person is the one the first snippet
    names nearest the reader's span (shown or not), among those the question does not
    already name: the answer to 瑞达社区的居委会主任是谁？ in "董健的妻子张艳平正是瑞达社区的
    居委会主任" is 张艳平, not 董健."""
    if not answer.answered or not answer.snippets:
        return None
    first = answer.snippets[0]
    shown = answer.claimed_span.text.strip() if answer.claimed_span is not None else ""
    asked = to_simplified(question)
    names = [(at, name) for at, name in person_mentions(first.text) if to_simplified(name) not in asked]
    person = ""
    if names:
        anchor = _span_offset(answer)
        if anchor is None:
            person = names[0][1] if len(names) == 1 else ""
        else:
            person = min(names, key=lambda m: abs(m[0] - anchor))[1]
    return EarlierAnswer(question, shown, person)


def _span_offset(answer: Answer) -> int | None:
    """Where the reader's span starts inside the first snippet, or None."""
    span, first = answer.span, answer.snippets[0]
    if span is None or span.citation.doc_id != first.citation.doc_id:
        return None
    at = span.citation.start - first.citation.start
    return at if 0 <= at <= len(first.text) else None
