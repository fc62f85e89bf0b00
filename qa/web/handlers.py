"""What the web chat does, as plain functions: each takes plain values (and the ``QA``, a
``Session``), returns plain values (HTML strings, records) and raises ``ZhqaError`` for
what the user can fix. ``app.py`` only adapts them to Gradio; the tests call them
directly.

Validation happens here, at the boundary: every question, earlier question and parameter
that arrives from a browser or an API client becomes well-formed Unicode, ``k`` a whole
number in range, ``mode`` one of the modes, before the library sees it.
"""
from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import BadQuestion, ZhqaError
from qa.evaluate import report as eval_report
from qa.evaluate.run import evaluate, load_questions, modes_of
from qa.records import Answer
from qa.question.query import MAX_QUESTION_CHARS
from qa.settings import MODES
from qa.text.wellformed import visible
from qa.web import render
from qa.web.feedback import FeedbackError, FeedbackLog, Rated, rating_of, record
from qa.web.uploads import save_uploads

MAX_K = 20  # the chat's slider; the API takes what `qa ask -k` takes
MAX_API_K = 50
MAX_HISTORY = 50  # earlier questions the /ask API accepts (a follow-up reads the last qa.engine.FOLLOWUP_CONTEXT)
MAX_TURNS = 500  # answers a chat session remembers (for ratings)
EVAL_MODES = (*MODES, "all")
EVAL_UPLOADS = "eval-uploads"  # an uploaded question file lives here while it is read


def error_text(exc: ZhqaError) -> str:
    """One line for a user: what kind of problem, then the library's sentence."""
    return f"{exc.label}：{exc}"


# -- parameters -----------------------------------------------------------------------------
def check_k(k, high: int) -> int:
    """``k`` as a whole number from 1 to ``high``; booleans, fractions and text refused."""
    if isinstance(k, bool) or not isinstance(k, int):
        raise BadQuestion(f"k must be a whole number from 1 to {high}, not {visible(repr(k))[:40]}.")
    if not 1 <= k <= high:
        raise BadQuestion(f"k is {k}; give a number from 1 to {high}.")
    return k


def check_mode(mode, modes: Sequence[str] = MODES) -> str:
    if not isinstance(mode, str) or mode not in modes:
        raise BadQuestion(f"Unknown retrieval mode {visible(str(mode))[:40]!r}; choose one of {', '.join(modes)}.")
    return mode


def check_history(history) -> list[str]:
    """The earlier questions of a conversation: a list of text, oldest first, each made
    well-formed and without format characters."""
    if history is None:
        return []
    if isinstance(history, (str, bytes)) or not isinstance(history, (list, tuple)):
        raise BadQuestion("The history must be a list of the earlier questions, as text, e.g. [\"董健是谁？\"].")
    if len(history) > MAX_HISTORY:
        raise BadQuestion(f"The history holds {len(history)} questions; send at most the last {MAX_HISTORY}.")
    cleaned = []
    for n, item in enumerate(history, 1):
        if not isinstance(item, str):
            raise BadQuestion(f"Item {n} of the history is not text; the history is a list of earlier questions as text.")
        if len(item) > MAX_QUESTION_CHARS:
            raise BadQuestion(f"Item {n} of the history is {len(item)} characters long; at most {MAX_QUESTION_CHARS}.")
        cleaned.append(visible(item).strip())
    return [h for h in cleaned if h]


def check_doc_ids(doc_ids, known) -> list[str] | None:
    """The chosen articles still in the index; None (search everything) when none is."""
    ids = [d for d in (doc_ids or []) if isinstance(d, str) and d in known]
    return ids or None


# -- asking ------------------------------------------------------------------------------
def ask_corpus_first(qa, question, k: int, mode: str, doc_ids: list[str] | None, history: list[str]) -> Answer:
    """``qa.ask``, the corpus before the uploads: when documents were uploaded through the
    chat, the question is first asked of the operator's articles alone, and of everything
    only when they hold no answer. An upload can add answers, never displace the corpus's
    own (an upload that restates a seed article "differently" is not what its questions get)."""
    if not doc_ids:
        documents = qa.data().documents
        corpus = [i for i, d in documents.items() if not d.uploaded]
        if len(corpus) < len(documents) and corpus:
            answer = qa.ask(question, k=k, mode=mode, doc_ids=corpus, history=history)
            if answer.answered:
                return answer
    return qa.ask(question, k=k, mode=mode, doc_ids=doc_ids, history=history)


def api_ask(qa, question, mode="hybrid", k=5, history=None) -> dict:
    """The JSON of ``qa ask --json`` for ``question`` after the earlier questions
    ``history``; every parameter checked first."""
    k = check_k(k, MAX_API_K)
    mode = check_mode(mode)
    history = check_history(history)
    return ask_corpus_first(qa, question, k, mode, None, history).to_json()


# -- the chat -------------------------------------------------------------------------------
@dataclass
class Turn:
    """One answer of a chat session, as the server gave it."""

    question: str
    rated: Rated
    message: int  # its position in the chat


@dataclass
class Session:
    """What the server remembers of one browser session (a gr.State: never sent by the
    client): the answers given, for follow-ups and ratings."""

    turns: list[Turn] = field(default_factory=list)
    key: str = ""

    def id(self) -> str:
        if not self.key:  # made on first use: a fresh Session is copied for every browser session
            self.key = secrets.token_hex(8)
        return self.key

    def earlier(self) -> list[str]:
        return [t.question for t in self.turns]

    def turn_at(self, message) -> Turn | None:
        if isinstance(message, (list, tuple)):  # Gradio gives (row, column) for two-dimensional data
            message = message[0] if message else None
        if isinstance(message, bool) or not isinstance(message, int):
            return None
        return next((t for t in self.turns if t.message == message), None)


@dataclass(frozen=True)
class Reply:
    question_html: str
    answer_html: str
    why_html: str
    answer: Answer


def chat(qa, session: Session, question, mode, k, doc_ids, message: int) -> Reply:
    """Answer ``question`` in the chat, after the questions asked before in ``session``;
    the answer becomes message ``message`` of the chat."""
    if not isinstance(question, str) or not visible(question).strip():
        raise BadQuestion("The question is empty; type a question, e.g. 清徐县是在哪里发现初筛阳性人员的？ (问题为空，请输入一个问题。)")
    k = check_k(int(k) if isinstance(k, float) and k.is_integer() else k, MAX_K)
    mode = check_mode(mode)
    data = qa.data()
    ids = check_doc_ids(doc_ids, data.documents)
    answer = ask_corpus_first(qa, question, k, mode, ids, session.earlier())
    documents = qa.data().documents
    texts = {s.citation.doc_id: documents[s.citation.doc_id].text for s in answer.snippets if s.citation.doc_id in documents}
    uploads = {i: documents[i] for i in texts if documents[i].uploaded}
    rated = Rated(answer.question, answer.asked or answer.question, mode, k, tuple(ids or ()), answer.answered,
                  tuple({"text": s.text, "doc_id": s.citation.doc_id, "title": s.citation.title, "source": s.citation.source,
                         "date": s.citation.date, "start": s.citation.start, "end": s.citation.end} for s in answer.snippets))
    session.turns.append(Turn(answer.question, rated, message))
    del session.turns[:-MAX_TURNS]
    note = render.rewrite_note(answer.question, answer.asked)
    return Reply(render.question_html(answer.question), render.answer_html(answer, texts, note, uploads),
                 render.why_html(answer, answer.asked or answer.question), answer)


def rate(log: FeedbackLog, session: Session, message, liked) -> str:
    """Record 👍/👎 for answer ``message`` of this session (a change replaces the earlier
    rating, a withdrawal removes it); the one line to show."""
    turn = session.turn_at(message)
    if turn is None:
        raise FeedbackError("Only an answer of this chat can be rated; ask a question first.")
    rating = rating_of(liked)
    try:
        if rating is None:
            log.withdraw(session.id(), turn.message)
            return "已撤销反馈 Feedback withdrawn."
        log.rate(record(session.id(), turn.message, rating, turn.rated))
    except OSError as exc:
        raise FeedbackError(f"Feedback could not be saved ({exc.strerror}); try again later.") from None
    return "谢谢反馈！Thanks for the feedback."


# -- articles and the corpus ----------------------------------------------------------------
def open_citation(qa, href) -> tuple[str, str] | None:
    """(where, article HTML) for a citation link's href, or None for anything else."""
    parsed = render.parse_cite(href if isinstance(href, str) else "")
    if parsed is None:
        return None
    where, doc_id, start, end = parsed
    data = qa.data()
    doc = data.documents.get(doc_id)
    passages = data.passage_counts.get(doc_id, 0) if doc else None
    return where, render.article_html(doc, start, end, passages)


@dataclass(frozen=True)
class CorpusView:
    table_html: str
    stats_html: str
    choices: list[tuple[str, str]]  # every document, for "only these articles"
    uploaded: list[tuple[str, str]]  # uploaded documents, for removal


def corpus_view(qa) -> CorpusView:
    data = qa.data()
    rows = [{"id": d.id, "title": d.title, "source": d.source, "date": d.date, "passages": data.passage_counts.get(d.id, 0),
             "original_id": d.original_id, "uploaded_at": d.uploaded_at, "uploaded_by": d.uploaded_by}
            for d in data.documents.values()]

    def label(d):
        return f"{d['title'][:36]}{'…' if len(d['title']) > 36 else ''} · {d['date'] or d['id']}"

    stats = {"documents": len(data.documents), "passages": len(data.passages), "model": data.manifest.model}
    return CorpusView(render.corpus_html(rows), render.stats_html(stats), [(label(d), d["id"]) for d in rows],
                      [(f"{label(d)} · {d['uploaded_at']}", d["id"]) for d in rows if d["uploaded_at"]])


# -- evaluation -----------------------------------------------------------------------------
def eval_files(folder: Path) -> dict[str, Path]:
    """The project's question sets (eval/*.jsonl) by file name."""
    return {p.name: p for p in sorted(Path(folder).glob("*.jsonl")) if p.is_file()}


def read_questions(choice, upload, eval_dir: Path, scratch: Path):
    """(questions, name shown) from the chosen set of ``eval_dir`` or an uploaded file
    (read into memory in ``scratch``, then deleted)."""
    if upload:
        original = Path(str(upload)).name
        if Path(original).suffix.lower() != ".jsonl":
            raise BadQuestion(f"{original}：题目文件须为 .jsonl (a question file is a .jsonl file).")
        saved, refused = save_uploads([upload], scratch, suffixes=(".jsonl",))
        if not saved:
            raise BadQuestion(refused[0] if refused else f"{original}: cannot be read.")
        path = saved[0][1]
        try:
            return load_questions(path), original
        except ZhqaError as exc:
            raise type(exc)(str(exc).replace(str(path), original)) from None
        finally:
            path.unlink(missing_ok=True)  # read into memory; nothing is kept
    path = eval_files(eval_dir).get(choice or "") if isinstance(choice, str) else None
    if path is None:
        raise BadQuestion("Choose a question file or upload a .jsonl one (请选择题目文件或上传一个 .jsonl 文件).")
    return load_questions(path), f"eval/{path.name}"


def run_evaluation(qa, choice, upload, mode, k, eval_dir: Path, scratch: Path) -> tuple[str, str, str, str, str]:
    """The Evaluate tab: summary, metrics, recall curve, failures, by question type."""
    k = check_k(int(k) if isinstance(k, float) and k.is_integer() else k, MAX_K)
    mode = check_mode(mode, EVAL_MODES)
    questions, source = read_questions(choice, upload, eval_dir, scratch)
    report = evaluate(qa, questions, modes_of(mode), k=k, progress=True)
    return (render.eval_summary_html(report, source),
            render.eval_section("指标", "Metrics", eval_report.metrics_table(report)),
            render.eval_section("召回曲线", "Recall@k", eval_report.recall_svg(report)),
            render.eval_section("失败的问题", "Failures", eval_report.failures_html(report, link=render.ask_href),
                                "最差的问题；点击问题即在对话中提问。The worst questions; click one to ask it in the chat."),
            render.eval_section("按题型", "By question type", eval_report.by_type_tables(report)))
