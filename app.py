"""zhqa web chat: ask questions of the indexed Chinese news, read the verbatim extracts
with their sources, open the cited article, add documents.

    python app.py                       # http://127.0.0.1:7860, index in .zhqa-index/
    python app.py --port 8080 --index-dir /data/zhqa-index --auth alice:secret
    python app.py --read-only           # a public deployment: questions only
    python app.py --port 8081 --store milvus://milvus.internal:19530/news   # one of N chat servers on one Milvus

This file is layout and wiring: what each event does is a plain function of
``qa.web.handlers`` (uploads in ``qa.web.uploads``, ratings in ``qa.web.feedback``), the
HTML is made in ``qa.web.render``. The named API endpoint ``/ask`` returns exactly the
JSON of ``qa ask --json``.
"""
from __future__ import annotations

import argparse
import functools
import os
import sys
import traceback
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no network at run time

import gradio as gr  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from embeddings.passage_store import StoreError, parse_store_address  # noqa: E402
from qa.api.server import serve_api  # noqa: E402
from qa.engine import QA  # noqa: E402
from qa.errors import ZhqaError  # noqa: E402
from qa.index.store_target import serving_folder  # noqa: E402
from qa.settings import Settings, default_index_dir  # noqa: E402
from qa.web import handlers, render  # noqa: E402
from qa.web.assets import (BRIDGE_JS, CSS, EVAL_MODE_CHOICES, EVAL_NOTE, EXAMPLES, HEADER_HTML, MODE_CHOICES,  # noqa: E402
                           SCROLL_JS, UPLOAD_NOTE)
from qa.web.feedback import FeedbackLog  # noqa: E402
from qa.web.handlers import EVAL_UPLOADS, MAX_K  # noqa: E402
from qa.web.login import LoginGuard  # noqa: E402
from qa.web.uploads import MAX_FILE_MB, UPLOADS, add_documents, remove_upload  # noqa: E402

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 7860
FEEDBACK = "feedback.jsonl"
EVAL_DIR = Path(__file__).resolve().parent / "eval"  # the project's question sets
DEFAULT_EVAL = "seeds.jsonl"
EVAL_K = 10
# The queue, chosen on purpose: a question (the chat and /ask share one group) takes ~20-100 ms
# of CPU, so ASK_CONCURRENCY run together and the rest wait their turn; uploads and evaluations
# run one at a time (minutes of CPU at worst; the writer lock serialises uploads anyway); past
# QUEUE_MAX_SIZE waiting events Gradio answers "the queue is full" instead of growing memory.
ASK_CONCURRENCY = 4
WRITE_CONCURRENCY = EVAL_CONCURRENCY = 1
QUEUE_MAX_SIZE = 256


def _say(message: str) -> None:  # progress and problems of starting, on stderr
    print(message, file=sys.stderr, flush=True)


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


# -- the app ------------------------------------------------------------------------------
def build_app(qa: QA, read_only: bool = False, feedback: bool | None = None) -> gr.Blocks:
    """The chat over ``qa``'s index. ``read_only``: no uploads, no evaluation runs and,
    unless ``feedback`` is True, no ratings. Launch it with ``launch(app, …)``."""
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
        return handlers.run_evaluation(qa, choice, upload, mode, k, EVAL_DIR, index_dir / EVAL_UPLOADS)

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

        with gr.Sidebar(label="设置 Settings", open=True, width=340, position="left"):
            gr.Markdown("### 检索设置 Retrieval")
            mode = gr.Radio(MODE_CHOICES, value="hybrid", label="检索方式 Retrieval mode", elem_id="zq-mode")
            k = gr.Slider(1, MAX_K, value=5, step=1, precision=0, label="段落数 Passages (k)", elem_id="zq-k")
            doc_filter = gr.Dropdown(choices=[], value=[], multiselect=True, label="只在这些文章中检索 Only these articles",
                                     info="留空则检索全部 Empty: search everything", elem_id="zq-docs")
            gr.Markdown("### 为何是这些段落 Why these passages", elem_id="zq-why-title")
            why = gr.HTML(render.why_html(None), elem_id="zq-why")

        with gr.Tabs(elem_id="zq-tabs") as tabs:
            with gr.Tab("对话 Chat", id="chat", elem_id="zq-tab-chat"):
                with gr.Row(equal_height=False):
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
            with gr.Tab("语料 Corpus", id="corpus", elem_id="zq-tab-corpus"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        stats = gr.HTML("", elem_id="zq-stats")
                        corpus = gr.HTML("", elem_id="zq-corpus")
                        with gr.Row(visible=writes):
                            uploaded = gr.Dropdown(choices=[], value=None, label="上传的文档 Uploaded documents", scale=4,
                                                   elem_id="zq-uploaded")
                            remove_btn = gr.Button("删除 Remove", variant="stop", elem_id="zq-remove", scale=1, min_width=90)
                    with gr.Column(scale=2, min_width=320):
                        corpus_article = gr.HTML(
                            render.article_hint("点击标题查看全文。", "Click a title to read the whole article."),
                            js_on_load=SCROLL_JS, max_height=640, elem_id="zq-corpus-article")
            if writes:
                with gr.Tab("添加文档 Add documents", id="upload", elem_id="zq-tab-upload"):
                    gr.Markdown(UPLOAD_NOTE)
                    # No file_types: Gradio's own refusal toast shows the file name as HTML; the
                    # handler refuses other suffixes itself, with the name escaped.
                    files = gr.File(label="选择文件 Choose files", file_count="multiple", type="filepath", elem_id="zq-files")
                    upload_btn = gr.Button("添加并索引 Add and index", variant="primary", elem_id="zq-upload")
                    upload_report = gr.HTML("", elem_id="zq-upload-report")
                with gr.Tab("评测 Evaluate", id="evaluate", elem_id="zq-tab-eval"):
                    with gr.Row(equal_height=False):
                        with gr.Column(scale=2, min_width=260):
                            sets = list(handlers.eval_files(EVAL_DIR))
                            eval_file = gr.Dropdown(choices=sets, value=DEFAULT_EVAL if DEFAULT_EVAL in sets else (sets or [None])[0],
                                                    label="题目文件 Question file (eval/)", elem_id="zq-eval-file")
                            eval_upload = gr.File(label=f"或上传 .jsonl（优先使用）Or upload a .jsonl question file (used instead; ≤ {MAX_FILE_MB} MB)",
                                                  file_count="single", type="filepath", height=110, elem_id="zq-eval-upload")
                        with gr.Column(scale=2, min_width=260):
                            eval_mode = gr.Radio(EVAL_MODE_CHOICES, value="hybrid", label="检索方式 Retrieval mode", elem_id="zq-eval-mode")
                            eval_k = gr.Slider(1, MAX_K, value=EVAL_K, step=1, precision=0, label="段落数 Passages (k)", elem_id="zq-eval-k")
                        with gr.Column(scale=1, min_width=200):
                            eval_btn = gr.Button("运行评测 Run", variant="primary", elem_id="zq-eval-run")
                            gr.Markdown(EVAL_NOTE, elem_classes=["zq-hint"], elem_id="zq-eval-note")
                    eval_summary = gr.HTML(render.eval_hint(), elem_id="zq-eval-summary")
                    with gr.Row(equal_height=False):
                        with gr.Column(scale=2, min_width=300):
                            eval_metrics = gr.HTML("", elem_id="zq-eval-metrics")
                        with gr.Column(scale=3, min_width=320):
                            eval_plot = gr.HTML("", elem_id="zq-eval-plot")
                    eval_failures = gr.HTML("", elem_id="zq-eval-failures")
                    eval_types = gr.HTML("", elem_id="zq-eval-types")

        # -- events ----------------------------------------------------------------------
        ask_inputs = [question, chat, session, mode, k, doc_filter]
        ask_outputs = [chat, session, question, why]
        corpus_views = [corpus, doc_filter, stats, uploaded]
        asking = {"concurrency_limit": ASK_CONCURRENCY, "concurrency_id": "ask"}
        private = {"api_visibility": "private"}
        question.submit(respond, ask_inputs, ask_outputs, **private, **asking)
        ask_btn.click(respond, ask_inputs, ask_outputs, **private, **asking)
        for button, text in zip(example_buttons, EXAMPLES):
            button.click(lambda text=text: text, None, question, **private, queue=False).then(
                respond, ask_inputs, ask_outputs, **private, **asking)
        clear_btn.click(clear, None, [chat, session, why, article], **private, queue=False)
        chat.clear(lambda: clear()[1:], None, [session, why, article], **private, queue=False)
        header.click(open_cite, None, [article, corpus_article, tabs], **private)
        header.click(pick_failure, None, [question, tabs, picked], **private, queue=False).then(
            ask_picked, [picked] + ask_inputs, ask_outputs, **private, **asking)
        if rating:
            chat.like(rate, [session], None, **private)
        if writes:
            writing = {"concurrency_limit": WRITE_CONCURRENCY, "concurrency_id": "write"}
            upload_btn.click(add, [files], [upload_report, *corpus_views, files], **private,
                             show_progress_on=[upload_report], **writing)
            remove_btn.click(remove, [uploaded], corpus_views, **private, **writing)
            eval_btn.click(run_eval, [eval_file, eval_upload, eval_mode, eval_k],
                           [eval_summary, eval_metrics, eval_plot, eval_failures, eval_types], **private,
                           show_progress_on=[eval_summary], concurrency_limit=EVAL_CONCURRENCY, concurrency_id="eval")
        app.load(refresh, None, corpus_views, **private)
        gr.api(ask, api_name="ask", **asking)
    app.queue(default_concurrency_limit=2, max_size=QUEUE_MAX_SIZE)
    return app


def launch(app: gr.Blocks, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, auth: tuple[str, str] | None = None,
           api=None, **kwargs):
    """Serve ``app`` with the chat's theme and CSS; failed logins are slowed down per
    client (``qa.web.login``). ``api`` (a ``qa.api.server.Api``) serves /v1 and /mcp in the
    same server. Extra keyword arguments go to ``Blocks.launch`` (e.g.
    ``prevent_thread_lock=True`` in tests, ``ssl_certfile``/``ssl_keyfile`` for TLS)."""
    theme = gr.themes.Soft(primary_hue="indigo", font=["system-ui", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei",
                                                        "Noto Sans CJK SC", "WenQuanYi Micro Hei", "sans-serif"],
                           font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"])
    middleware = [Middleware(LoginGuard)]
    app_kwargs = api.app_kwargs(middleware) if api is not None else {"middleware": middleware}
    return app.launch(server_name=host, server_port=port, auth=auth,
                      auth_message="请登录 Please log in" if auth else None, app_kwargs=app_kwargs,
                      max_file_size=f"{MAX_FILE_MB}mb", theme=theme, css=CSS, show_error=True, **kwargs)


# -- command line -------------------------------------------------------------------------
def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (1-65535)")
    return port


def _auth(value: str) -> tuple[str, str]:
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise argparse.ArgumentTypeError("give --auth as user:password")
    return user, password


def chat_settings(index_dir: str | None, store: str | None) -> Settings:
    """The chat's settings: with a Milvus server store and no index folder, the copy of
    the published index is kept in a folder of its own (qa.index.store_target.serving_folder)."""
    kwargs = {}
    if store:
        parse_store_address(store)
        if not index_dir and not os.environ.get("ZHQA_INDEX_DIR"):
            store, index_dir = serving_folder(store, default_index_dir())
        kwargs["store"] = store
    if index_dir:
        kwargs["index_dir"] = Path(index_dir)
    return Settings(**kwargs)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env_port = os.environ.get("GRADIO_SERVER_PORT")
    parser = argparse.ArgumentParser(prog="app.py", description="zhqa web chat: questions over Chinese news, answered with cited extracts.")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME") or DEFAULT_HOST,
                        help=f"Address to listen on (default {DEFAULT_HOST}, or $GRADIO_SERVER_NAME; 0.0.0.0 for every interface).")
    parser.add_argument("--port", type=_port, default=None,
                        help=f"Port (default $GRADIO_SERVER_PORT, else {DEFAULT_PORT}).")
    parser.add_argument("--index-dir", default=None, help="Index folder (default: $ZHQA_INDEX_DIR or .zhqa-index/ in the project); built from seeds/ if missing.")
    parser.add_argument("--store", default=None, metavar="ADDRESS",
                        help="Where passages are searched: milvus://HOST:PORT/COLLECTION (a Milvus server: the index is "
                             "fetched from it, no index folder to share), milvus-lite://PATH.db or local (default: what the index records).")
    parser.add_argument("--auth", type=_auth, default=None, metavar="USER:PASSWORD", help="Require this login.")
    parser.add_argument("--read-only", action="store_true",
                        help="For public deployments: no uploads, no evaluation runs, no feedback (unless --feedback).")
    parser.add_argument("--feedback", action="store_true", help="Keep 👍/👎 ratings in feedback.jsonl even with --read-only.")
    parser.add_argument("--ssl-certfile", default=None, help="Serve HTTPS with this certificate (PEM; with --ssl-keyfile).")
    parser.add_argument("--ssl-keyfile", default=None, help="The private key (PEM) of --ssl-certfile.")
    parser.add_argument("--api-key", action="append", default=[], metavar="KEY",
                        help="Require Authorization: Bearer KEY on /v1 and /mcp (repeatable; also $ZHQA_API_KEYS, comma-separated).")
    parser.add_argument("--rebuild", action="store_true", help="Index the bundled seeds/ anew before starting (replaces the index).")
    args = parser.parse_args(argv)
    if bool(args.ssl_certfile) != bool(args.ssl_keyfile):
        parser.error("give --ssl-certfile and --ssl-keyfile together")
    if args.port is None:
        try:
            args.port = _port(env_port) if env_port else DEFAULT_PORT
        except argparse.ArgumentTypeError as exc:
            parser.error(f"GRADIO_SERVER_PORT: {exc}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = chat_settings(args.index_dir, args.store)
    except StoreError as exc:
        _say(f"error: {exc}")
        return 1
    qa = QA(settings)
    try:
        if args.rebuild:
            _say(f"正在重建索引 Rebuilding the index of seeds/ in {settings.index_dir} …")
            qa.index(progress=sys.stderr.isatty())
        elif (report := qa.ensure_index(progress=True, announce=_say)) is not None:
            _say(f"已索引 Indexed {report.documents} documents, {report.passages} passages in {report.seconds:.1f}s.")
        data = qa.data()
        _ = qa.encoder  # load the model once, now, not on the first question
        _say(f"索引 Index: {len(data.documents)} documents, {len(data.passages)} passages ({settings.index_dir}).")
    except ZhqaError as exc:
        _say(f"error: {exc}")
        if "rebuild" in str(exc):
            _say("(python app.py --rebuild indexes the bundled seeds/ anew.)")
        return 1
    app = build_app(qa, read_only=args.read_only, feedback=True if args.feedback else None)
    scheme = "https" if args.ssl_certfile else "http"
    _say(f"打开 Open {scheme}://{args.host}:{args.port}/" + ("  (login required)" if args.auth else "")
         + ("  (read-only)" if args.read_only else ""))
    api = serve_api(qa, args.host, args.api_key, f"{scheme}://{args.host}:{args.port}", _say)
    try:
        launch(app, args.host, args.port, args.auth, api=api, ssl_certfile=args.ssl_certfile, ssl_keyfile=args.ssl_keyfile)
    except OSError as exc:
        _say(f"error: cannot listen on {args.host}:{args.port} ({exc}); choose another --port.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
