"""The web chat as a library function: ``build_app(qa)`` is the page over ``qa``'s index
(``qa serve`` and ``python app.py`` launch it, ``qa.serve``). Ask questions of the
indexed Chinese news, read the verbatim extracts with their sources, open the cited
article, add documents, run an evaluation.

This module is layout and wiring: each tab is built by a function of its own, what each
event does is a plain function of ``qa.web.handlers`` (uploads in ``qa.web.uploads``,
ratings in ``qa.web.feedback``), the HTML is made in ``qa.web.render``. The named API
endpoint ``/ask`` returns exactly the JSON of ``qa ask --json``.
"""
from __future__ import annotations

import functools
import os
import traceback
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no network at run time

import gradio as gr  # noqa: E402

from qa.engine import QA  # noqa: E402
from qa.errors import ZhqaError  # noqa: E402
from qa.web import handlers, render  # noqa: E402
from qa.web.assets import (BRIDGE_JS, EVAL_MODE_CHOICES, EVAL_NOTE, EXAMPLES, HEADER_HTML, MODE_CHOICES,  # noqa: E402
                           SCROLL_JS, UPLOAD_NOTE)
from qa.web.feedback import FeedbackLog  # noqa: E402
from qa.web.handlers import EVAL_UPLOADS, MAX_K  # noqa: E402
from qa.web.uploads import MAX_FILE_MB, UPLOADS, add_documents, remove_upload  # noqa: E402

FEEDBACK = "feedback.jsonl"
# The project's question sets, in a checkout; an installed package has none (upload one).
EVAL_DIR = Path(__file__).resolve().parents[2] / "eval"
DEFAULT_EVAL = "seeds.jsonl"
EVAL_K = 10
# The queue, chosen on purpose: a question (the chat and /ask share one group) takes ~20-100 ms
# of CPU, so ASK_CONCURRENCY run together and the rest wait their turn; uploads and evaluations
# run one at a time (minutes of CPU at worst; the writer lock serialises uploads anyway); past
# QUEUE_MAX_SIZE waiting events Gradio answers "the queue is full" instead of growing memory.
ASK_CONCURRENCY = 4
WRITE_CONCURRENCY = EVAL_CONCURRENCY = 1
QUEUE_MAX_SIZE = 256


def shown(outputs: int):
    """Gradio's side of a handler: a ZhqaError becomes a warning toast and leaves the
    ``outputs`` unchanged; anything else is logged and shown, and the app keeps running."""
    def wrap(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except ZhqaError as exc:
                gr.Warning(render.attr(handlers.error_text(exc)))
                return None if outputs == 0 else gr.skip() if outputs == 1 else (gr.skip(),) * outputs
            except Exception as exc:  # noqa: BLE001 - shown, logged, never fatal
                traceback.print_exc()
                raise gr.Error(render.attr(f"出错了 Unexpected error ({type(exc).__name__}: {exc}); the app keeps running.")) from exc
        return run
    return wrap


# -- the parts of the page ------------------------------------------------------------------
@dataclass
class Sidebar:
    mode: gr.Radio
    k: gr.Slider
    doc_filter: gr.Dropdown
    why: gr.HTML


@dataclass
class ChatTab:
    chat: gr.Chatbot
    question: gr.Textbox
    ask_btn: gr.Button
    clear_btn: gr.Button
    example_buttons: list
    article: gr.HTML


@dataclass
class CorpusTab:
    stats: gr.HTML
    corpus: gr.HTML
    uploaded: gr.Dropdown
    remove_btn: gr.Button
    article: gr.HTML


@dataclass
class UploadTab:
    files: gr.File
    upload_btn: gr.Button
    report: gr.HTML


@dataclass
class EvalTab:
    file: gr.Dropdown
    upload: gr.File
    mode: gr.Radio
    k: gr.Slider
    run_btn: gr.Button
    outputs: list  # summary, metrics, recall plot, failures, by type


def sidebar() -> Sidebar:
    with gr.Sidebar(label="设置 Settings", open=True, width=340, position="left"):
        gr.Markdown("### 检索设置 Retrieval")
        mode = gr.Radio(MODE_CHOICES, value="hybrid", label="检索方式 Retrieval mode", elem_id="zq-mode")
        k = gr.Slider(1, MAX_K, value=5, step=1, precision=0, label="段落数 Passages (k)", elem_id="zq-k")
        doc_filter = gr.Dropdown(choices=[], value=[], multiselect=True, label="只在这些文章中检索 Only these articles",
                                 info="留空则检索全部 Empty: search everything", elem_id="zq-docs")
        gr.Markdown("### 为何是这些段落 Why these passages", elem_id="zq-why-title")
        why = gr.HTML(render.why_html(None), elem_id="zq-why")
    return Sidebar(mode, k, doc_filter, why)


def chat_tab(rating: bool) -> ChatTab:
    with gr.Tab("对话 Chat", id="chat", elem_id="zq-tab-chat"), gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=420):
            chat = gr.Chatbot(
                label="对话 Chat", show_label=False, elem_id="zq-chat", height=560, latex_delimiters=[], buttons=[],
                feedback_options=("Like", "Dislike") if rating else None, sanitize_html=True, render_markdown=True,
                placeholder="<b>问一个关于这些新闻的问题。</b><br>Ask a question about the news articles.",
            )
            with gr.Row(equal_height=True):
                question = gr.Textbox(show_label=False, elem_id="zq-question", scale=6, lines=1, max_lines=4,
                                      placeholder="输入问题，按回车提问 Type a question and press Enter", autofocus=True)
                ask_btn = gr.Button("提问 Ask", variant="primary", elem_id="zq-ask", scale=1, min_width=90)
                clear_btn = gr.Button("清空 Clear", elem_id="zq-clear", scale=1, min_width=90)
            gr.Markdown("**示例问题 Example questions**")
            with gr.Row(elem_id="zq-examples"):
                example_buttons = [gr.Button(q, size="sm", variant="secondary") for q in EXAMPLES]
        with gr.Column(scale=2, min_width=320):
            gr.Markdown("**原文 Article**")
            article = gr.HTML(render.article_hint(), js_on_load=SCROLL_JS, max_height=640, elem_id="zq-article")
    return ChatTab(chat, question, ask_btn, clear_btn, example_buttons, article)


def corpus_tab(writes: bool) -> CorpusTab:
    with gr.Tab("语料 Corpus", id="corpus", elem_id="zq-tab-corpus"), gr.Row(equal_height=False):
        with gr.Column(scale=3):
            stats = gr.HTML("", elem_id="zq-stats")
            corpus = gr.HTML("", elem_id="zq-corpus")
            with gr.Row(visible=writes):
                uploaded = gr.Dropdown(choices=[], value=None, label="上传的文档 Uploaded documents", scale=4,
                                       elem_id="zq-uploaded")
                remove_btn = gr.Button("删除 Remove", variant="stop", elem_id="zq-remove", scale=1, min_width=90)
        with gr.Column(scale=2, min_width=320):
            article = gr.HTML(render.article_hint("点击标题查看全文。", "Click a title to read the whole article."),
                              js_on_load=SCROLL_JS, max_height=640, elem_id="zq-corpus-article")
    return CorpusTab(stats, corpus, uploaded, remove_btn, article)


def upload_tab() -> UploadTab:
    with gr.Tab("添加文档 Add documents", id="upload", elem_id="zq-tab-upload"):
        gr.Markdown(UPLOAD_NOTE)
        # No file_types: Gradio's own refusal toast shows the file name as HTML; the
        # handler refuses other suffixes itself, with the name escaped.
        files = gr.File(label="选择文件 Choose files", file_count="multiple", type="filepath", elem_id="zq-files")
        upload_btn = gr.Button("添加并索引 Add and index", variant="primary", elem_id="zq-upload")
        report = gr.HTML("", elem_id="zq-upload-report")
    return UploadTab(files, upload_btn, report)


def eval_tab(eval_dir: Path) -> EvalTab:
    with gr.Tab("评测 Evaluate", id="evaluate", elem_id="zq-tab-eval"):
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=260):
                sets = list(handlers.eval_files(eval_dir))
                file = gr.Dropdown(choices=sets, value=DEFAULT_EVAL if DEFAULT_EVAL in sets else (sets or [None])[0],
                                   label="题目文件 Question file (eval/)", elem_id="zq-eval-file")
                upload = gr.File(label=f"或上传 .jsonl（优先使用）Or upload a .jsonl question file (used instead; ≤ {MAX_FILE_MB} MB)",
                                 file_count="single", type="filepath", height=110, elem_id="zq-eval-upload")
            with gr.Column(scale=2, min_width=260):
                mode = gr.Radio(EVAL_MODE_CHOICES, value="hybrid", label="检索方式 Retrieval mode", elem_id="zq-eval-mode")
                k = gr.Slider(1, MAX_K, value=EVAL_K, step=1, precision=0, label="段落数 Passages (k)", elem_id="zq-eval-k")
            with gr.Column(scale=1, min_width=200):
                run_btn = gr.Button("运行评测 Run", variant="primary", elem_id="zq-eval-run")
                gr.Markdown(EVAL_NOTE, elem_classes=["zq-hint"], elem_id="zq-eval-note")
        summary = gr.HTML(render.eval_hint(), elem_id="zq-eval-summary")
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=300):
                metrics = gr.HTML("", elem_id="zq-eval-metrics")
            with gr.Column(scale=3, min_width=320):
                plot = gr.HTML("", elem_id="zq-eval-plot")
        failures = gr.HTML("", elem_id="zq-eval-failures")
        types = gr.HTML("", elem_id="zq-eval-types")
    return EvalTab(file, upload, mode, k, run_btn, [summary, metrics, plot, failures, types])


# -- the app ------------------------------------------------------------------------------
def build_app(qa: QA, read_only: bool = False, feedback: bool | None = None, eval_dir: Path = EVAL_DIR) -> gr.Blocks:
    """The chat over ``qa``'s index. ``read_only``: no uploads, no evaluation runs and,
    unless ``feedback`` is True, no ratings. Launch it with ``qa.serve.launch(app, …)``."""
    index_dir = Path(qa.settings.index_dir)
    writes = not read_only
    rating = writes if feedback is None else feedback
    log = FeedbackLog(index_dir / FEEDBACK)

    def corpus_outputs(view: handlers.CorpusView):
        return (view.table_html, gr.Dropdown(choices=view.choices), view.stats_html,
                gr.Dropdown(choices=view.uploaded, value=None))

    # -- Gradio's side of each handler -----------------------------------------------------
    @shown(4)
    def respond(question, history, session, mode, k, doc_ids):
        history = list(history or [])
        reply = handlers.chat(qa, session, question, mode, k, doc_ids, message=len(history) + 1)
        if qa.problem:  # a newer index on disk could not be loaded: say so, keep answering
            gr.Warning(render.attr(f"索引未更新 The index on disk was not loaded: {qa.problem} Answers come from the index loaded before."))
        history += [{"role": "user", "content": reply.question_html}, {"role": "assistant", "content": reply.answer_html}]
        return history, session, "", reply.why_html

    @shown(3)
    def open_cite(evt: gr.EventData):
        where, page = handlers.open_citation(qa, getattr(evt, "href", "") if evt is not None else "") or (None, None)
        return (gr.skip(), page, gr.Tabs(selected="corpus")) if where == "corpus" else (page or gr.skip(), gr.skip(), gr.skip())

    @shown(0)
    def rate(session, evt: gr.LikeData):
        gr.Info(handlers.rate(log, session, evt.index, evt.liked))

    @shown(4)
    def refresh():
        return corpus_outputs(handlers.corpus_view(qa))

    @shown(6)
    def add(files, request: gr.Request, progress=gr.Progress(track_tqdm=True)):
        progress(0.05, desc="索引 Indexing")
        done = add_documents(qa, files, index_dir / UPLOADS, uploader=getattr(request, "username", None) or None)
        for message in done.problems:
            gr.Warning(render.attr(message))
        if done.report is not None:
            gr.Info(f"已索引 Indexed: {len(done.report.added)} 篇新增 added.")
        report = render.upload_report_html(done.saved, done.problems, done.report)
        return (report, *corpus_outputs(handlers.corpus_view(qa)), None)

    @shown(4)
    def remove(doc_id):
        remove_upload(qa, doc_id, index_dir / UPLOADS)
        gr.Info(render.attr(f"已删除 Removed {doc_id}."))
        return corpus_outputs(handlers.corpus_view(qa))

    @shown(5)
    def run_eval(choice, upload, mode, k, progress=gr.Progress(track_tqdm=True)):
        progress(0, desc="评测 Evaluating")
        return handlers.run_evaluation(qa, choice, upload, mode, k, eval_dir, index_dir / EVAL_UPLOADS)

    def clear():  # a new chat: a new session, so no follow-up reaches back past it
        return [], handlers.Session(), render.why_html(None), render.article_hint()

    def pick_failure(evt: gr.EventData):  # a failure clicked in the Evaluate tab: asked in the chat
        picked = render.parse_ask(getattr(evt, "href", "") if evt is not None else "")
        return (gr.skip(), gr.skip(), False) if picked is None else (picked, gr.Tabs(selected="chat"), True)

    def ask_picked(picked, *inputs):
        return respond(*inputs) if picked else (gr.skip(),) * 4

    def ask(question: str, mode: str = "hybrid", k: int = 5, history: list[str] | None = None) -> dict:
        """The JSON of `qa ask --json` for a question after ``history`` (the earlier
        questions of the conversation as typed, oldest first)."""
        try:
            return handlers.api_ask(qa, question, mode, k, history)
        except ZhqaError as exc:
            raise gr.Error(str(exc), print_exception=False) from None  # the user's mistake: no traceback in the log

    # -- layout --------------------------------------------------------------------------
    # delete_cache: Gradio's own copies of uploads go after an hour; ours are in uploads/.
    with gr.Blocks(title="zhqa · 中文新闻问答", analytics_enabled=False, delete_cache=(3600, 3600)) as app:
        header = gr.HTML(HEADER_HTML, js_on_load=BRIDGE_JS, elem_id="zq-header")
        session = gr.State(handlers.Session())
        picked = gr.State(False)  # a failure of the Evaluate tab was clicked: ask it
        side = sidebar()
        with gr.Tabs(elem_id="zq-tabs") as tabs:
            talk = chat_tab(rating)
            shelf = corpus_tab(writes)
            if writes:
                adding = upload_tab()
                evaluating = eval_tab(eval_dir)

        # -- events ----------------------------------------------------------------------
        ask_inputs = [talk.question, talk.chat, session, side.mode, side.k, side.doc_filter]
        ask_outputs = [talk.chat, session, talk.question, side.why]
        corpus_views = [shelf.corpus, side.doc_filter, shelf.stats, shelf.uploaded]
        asking = {"concurrency_limit": ASK_CONCURRENCY, "concurrency_id": "ask"}
        private = {"api_visibility": "private"}
        talk.question.submit(respond, ask_inputs, ask_outputs, **private, **asking)
        talk.ask_btn.click(respond, ask_inputs, ask_outputs, **private, **asking)
        for button, text in zip(talk.example_buttons, EXAMPLES):
            button.click(lambda text=text: text, None, talk.question, **private, queue=False).then(
                respond, ask_inputs, ask_outputs, **private, **asking)
        talk.clear_btn.click(clear, None, [talk.chat, session, side.why, talk.article], **private, queue=False)
        talk.chat.clear(lambda: clear()[1:], None, [session, side.why, talk.article], **private, queue=False)
        header.click(open_cite, None, [talk.article, shelf.article, tabs], **private)
        header.click(pick_failure, None, [talk.question, tabs, picked], **private, queue=False).then(
            ask_picked, [picked] + ask_inputs, ask_outputs, **private, **asking)
        if rating:
            talk.chat.like(rate, [session], None, **private)
        if writes:
            writing = {"concurrency_limit": WRITE_CONCURRENCY, "concurrency_id": "write"}
            adding.upload_btn.click(add, [adding.files], [adding.report, *corpus_views, adding.files], **private,
                                    show_progress_on=[adding.report], **writing)
            shelf.remove_btn.click(remove, [shelf.uploaded], corpus_views, **private, **writing)
            evaluating.run_btn.click(run_eval, [evaluating.file, evaluating.upload, evaluating.mode, evaluating.k],
                                     evaluating.outputs, **private, show_progress_on=[evaluating.outputs[0]],
                                     concurrency_limit=EVAL_CONCURRENCY, concurrency_id="eval")
        app.load(refresh, None, corpus_views, **private)
        gr.api(ask, api_name="ask", **asking)
    app.queue(default_concurrency_limit=2, max_size=QUEUE_MAX_SIZE)
    return app
