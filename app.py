"""zhqa web chat: ask questions of the indexed Chinese news, read the verbatim extracts
with their sources, open the cited article, add documents.

    python app.py                       # http://127.0.0.1:7860, index in .zhqa-index/
    python app.py --port 8080 --index-dir /data/zhqa-index --auth alice:secret

The chat only parses, calls ``qa.engine.QA`` and shows the result; the HTML is made in
``qa.render`` and follow-up questions are resolved in ``qa.conversation``. The named
API endpoint ``/ask`` returns exactly the JSON of ``qa ask --json``.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sys
import threading
import traceback
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no network at run time

import gradio as gr  # noqa: E402

from qa.engine import QA  # noqa: E402
from qa.errors import ZhqaError  # noqa: E402
from qa.evaluate import report as eval_report  # noqa: E402
from qa.evaluate.run import evaluate, load_questions, modes_of  # noqa: E402
from qa.ingest.load import SUFFIXES, load_corpus  # noqa: E402
from qa.question.followup import resolve  # noqa: E402
from qa.settings import MODES, Settings  # noqa: E402
from qa.web import render  # noqa: E402

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
EXAMPLES = (
    "清徐县是在哪里发现初筛阳性人员的？",
    "董健是谁？",
    "董健的妻子是做什么的？",
    "李楠的孩子生病时他在做什么？",
    "清徐縣有多少名黨員深入抗疫一線？",
    "How many party members went to the front line in Qingxu?",
)
UPLOAD_SUFFIXES = (".txt", ".md", ".html", ".jsonl")
assert set(UPLOAD_SUFFIXES) <= SUFFIXES
MAX_FILES = 20
MAX_FILE_MB = 10
MAX_FILE_BYTES = MAX_FILE_MB * 1024 * 1024
MAX_K = 20  # the chat's slider; the API takes what `qa ask -k` takes
MAX_API_K = 50
UPLOADS = "uploads"
FEEDBACK = "feedback.jsonl"
MODE_CHOICES = [("混合 Hybrid", "hybrid"), ("向量 Dense", "dense"), ("关键词 BM25", "bm25")]
assert [v for _, v in MODE_CHOICES] == list(MODES)
EVAL_DIR = Path(__file__).resolve().parent / "eval"  # the project's question sets
DEFAULT_EVAL = "seeds.jsonl"
EVAL_UPLOADS = "eval-uploads"  # an uploaded question file lives here while it is read
EVAL_MODE_CHOICES = MODE_CHOICES + [("全部 All", "all")]
EVAL_K = 10
# The queue, chosen on purpose (each listener has its own queue unless a concurrency_id
# groups them). Questions (the chat and the /ask API share one group) take ~20-100 ms of
# CPU, mostly encoding the query; more than a few at once on a small machine only makes
# each slower, so ASK_CONCURRENCY run together and the rest wait their turn. Writing the
# index (uploads) runs one at a time, as does an evaluation: both are minutes of CPU at
# worst, and the writer lock would serialise uploads anyway. At most QUEUE_MAX_SIZE
# events wait at once; past that Gradio answers "the queue is full" instead of letting a
# flood grow memory and latency without bound.
ASK_CONCURRENCY = 4
WRITE_CONCURRENCY = 1
EVAL_CONCURRENCY = 1
QUEUE_MAX_SIZE = 256
EVAL_NOTE = ("评测使用本应用已加载的索引。题目所指的文章若不在索引中，该题计为未检索到。\n\n"
             "Evaluated against the index this app has loaded: a question whose documents are not in the index "
             "simply counts as a miss. Click a failed question to ask it in the chat.")

# A document-wide click handler: a citation link anywhere (chat, "why", corpus) is sent to
# Python as a click event of the header component, with its href.
BRIDGE_JS = """
window.__zqOpen = trigger;
if (!window.__zqListening) {
  window.__zqListening = true;
  document.addEventListener('click', (event) => {
    const link = event.target && event.target.closest ? event.target.closest('a.zq-cite') : null;
    if (!link) return;
    const href = link.getAttribute('href') || '';
    if (!href.startsWith('#zq/')) return;
    event.preventDefault();
    event.stopPropagation();
    window.__zqOpen('click', {href: href});
  }, true);
}
"""
# In an article view: bring the highlighted passage into view whenever the article changes.
SCROLL_JS = """
watch('value', () => {
  const mark = element.querySelector('mark#zq-hl');
  let box = mark ? mark.parentElement : element;
  while (box && box !== document.body && !(box.scrollHeight > box.clientHeight + 1 &&
         ['auto', 'scroll'].includes(getComputedStyle(box).overflowY))) { box = box.parentElement; }
  if (box && box !== document.body) {
    box.scrollIntoView({block: 'nearest'});
    box.scrollTop = mark ? box.scrollTop + mark.getBoundingClientRect().top - box.getBoundingClientRect().top - box.clientHeight / 3 : 0;
  } else if (mark) {
    mark.scrollIntoView({block: 'center'});
  }
});
"""

CSS = """
.zq-header h1 { margin: 0 0 .15em 0; font-size: 1.55em; }
.zq-header p { margin: 0; }
.zq-en { color: var(--body-text-color-subdued); font-size: .92em; }
.zq-stats { color: var(--body-text-color-subdued); font-size: .9em; margin-top: .3em; }
.zq-question { white-space: pre-wrap; }
.zq-answer { line-height: 1.75; }
.zq-answer p { margin: .15em 0 .45em 0; }
.zq-snippet { font-size: 1.03em; }
a.zq-cite { font-weight: 600; text-decoration: none; color: var(--color-accent); cursor: pointer; }
a.zq-cite:hover { text-decoration: underline; }
.zq-sources { margin-top: .5em; border-top: 1px solid var(--border-color-primary); padding-top: .35em; }
.zq-sources-h { font-size: .85em; font-weight: 600; color: var(--body-text-color-subdued); margin-bottom: .2em; }
.zq-source { border-left: 3px solid var(--color-accent); padding: .25em .6em; margin: .35em 0;
             background: var(--background-fill-secondary); border-radius: 0 6px 6px 0; }
.zq-source-h { font-size: .9em; }
.zq-title { font-weight: 600; }
.zq-sep, .zq-unknown, .zq-docid { color: var(--body-text-color-subdued); }
.zq-docid { font-size: .8em; font-family: var(--font-mono); }
.zq-passage { font-size: .92em; margin: .2em 0; }
.zq-source-f { font-size: .85em; }
mark { background: #fde68a; color: #1f2937; padding: 0 .1em; border-radius: 2px; }
mark#zq-hl { background: #fcd34d; box-shadow: 0 0 0 2px #f59e0b; }
.zq-rewrite { font-size: .9em; background: var(--background-fill-secondary); border-radius: 6px;
              padding: .15em .5em; margin-bottom: .35em; display: inline-block; }
.zq-noanswer { font-size: 1.03em; }
.zq-hint { font-size: .9em; color: var(--body-text-color-subdued); }
#zq-article, #zq-corpus-article { border: 1px solid var(--border-color-primary); border-radius: 8px;
                                  background: var(--background-fill-primary); }
.zq-article-title { margin: .1em 0 .2em 0; font-size: 1.15em; }
.zq-meta { font-size: .85em; color: var(--body-text-color-subdued); margin-bottom: .6em; }
.zq-text { white-space: pre-wrap; line-height: 1.8; font-size: .95em; }
.zq-hint { color: var(--body-text-color-subdued); padding: 1em .3em; }
.zq-why { font-size: .88em; }
.zq-why-h { margin-bottom: .4em; }
.zq-hit { border: 1px solid var(--border-color-primary); border-radius: 6px; padding: .35em .5em; margin: .4em 0; }
.zq-hit.zq-used { border-color: var(--color-accent); }
.zq-hit-h { font-size: .95em; }
.zq-hit-text { color: var(--body-text-color-subdued); font-size: .92em; margin: .15em 0; }
.zq-rank { font-weight: 700; }
.zq-badge { font-size: .78em; border-radius: 4px; padding: 0 .35em; background: var(--background-fill-secondary);
            border: 1px solid var(--border-color-primary); }
table.zq-scores { width: 100%; border-collapse: collapse; margin: .2em 0 0 0; font-size: .95em; border: none; }
table.zq-scores tr, table.zq-scores th, table.zq-scores td { border: none !important; background: transparent !important; }
table.zq-scores th { text-align: left; font-weight: 500; color: var(--body-text-color-subdued); width: 38%; padding: .05em .3em; }
table.zq-scores td { padding: .05em .3em; font-family: var(--font-mono); }
.zq-term { display: inline-block; font-family: var(--font); background: #dbeafe; color: #1e3a8a; border-radius: 4px;
           padding: 0 .3em; margin: 0 .2em .1em 0; }
table.zq-corpus { width: 100%; border-collapse: collapse; font-size: .93em; border: none !important; }
table.zq-corpus tr, table.zq-corpus th, table.zq-corpus td { border: none !important; background: transparent !important; }
table.zq-corpus th { text-align: left; border-bottom: 2px solid var(--border-color-primary) !important; padding: .35em .4em; }
table.zq-corpus td { border-bottom: 1px solid var(--border-color-primary) !important; padding: .35em .4em; vertical-align: top; }
table.zq-corpus a.zq-cite { font-weight: 600; }
.zq-num { text-align: right; }
.zq-nowrap { white-space: nowrap; }
.zq-upload-report ul { margin: .2em 0 .2em 1.2em; }
#zq-examples button { font-weight: 400; }
table.zq-eval { border-collapse: collapse; font-size: .9em; margin: .3em 0 .8em 0; border: none !important; }
table.zq-eval tr, table.zq-eval th, table.zq-eval td { border: none !important; background: transparent !important; }
table.zq-eval th { text-align: left; border-bottom: 2px solid var(--border-color-primary) !important; padding: .25em .5em; }
table.zq-eval td { border-bottom: 1px solid var(--border-color-primary) !important; padding: .25em .5em; vertical-align: top; }
table.zq-eval td.zq-num { font-family: var(--font-mono); }
table.zq-eval-metrics tr > th:first-child, table.zq-eval-types tr > th:first-child { font-family: var(--font-mono); font-weight: 500; }
table.zq-eval-failures { width: 100%; }
table.zq-eval-failures td:nth-child(3) { min-width: 14em; }
table.zq-eval-failures td:nth-child(6) { min-width: 12em; }
table.zq-eval-failures a.zq-ask { font-weight: 500; }
.zq-eval-section h3 { margin: .2em 0 .3em 0; font-size: 1.05em; }
.zq-eval-summary { margin: .2em 0 .5em 0; }
#zq-eval-plot svg { max-width: 100%; height: auto; }
#zq-eval-plot svg text { fill: var(--body-text-color); }
"""


# -- pieces that are not HTML -------------------------------------------------------------
class FeedbackLog:
    """Ratings appended to a JSON Lines file, one line per rating, written whole: a lock
    between threads, ``flock`` between processes, one ``O_APPEND`` write, fsync."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def append(self, record: dict) -> None:
        data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)  # closing releases the flock


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _toast(message: str) -> str:
    """Toasts render HTML: escape what may come from a user."""
    return render.attr(message)


def _error_text(exc: BaseException) -> str:
    names = {
        "BadQuestion": "无法提问", "IndexNotFound": "没有索引", "IndexDamaged": "索引已损坏",
        "ModelMismatch": "模型不匹配", "IndexLocked": "索引正被占用", "CorpusError": "文档无法读取",
        "ModelLoadError": "模型无法加载",
    }
    return f"{names.get(type(exc).__name__, '出错了')}：{exc}"


def _unexpected(exc: BaseException) -> gr.Error:
    traceback.print_exc()
    return gr.Error(_toast(f"出错了 Unexpected error ({type(exc).__name__}: {exc}); the app keeps running."))


def _snippet_records(answer) -> list[dict]:
    return [{"text": s.text, "doc_id": s.citation.doc_id, "title": s.citation.title, "source": s.citation.source,
             "date": s.citation.date, "start": s.citation.start, "end": s.citation.end} for s in answer.snippets]


def eval_files() -> dict[str, Path]:
    """The project's question sets (eval/*.jsonl) by file name."""
    return {p.name: p for p in sorted(EVAL_DIR.glob("*.jsonl")) if p.is_file()}


def save_uploads(files: list[str], folder: Path) -> tuple[list[tuple[str, Path]], list[str]]:
    """Copy acceptable uploads into ``folder`` under names the server chooses; return
    ((original name, saved path) …) and one message per file refused. Nothing uploaded is
    ever used as a path or run: it is only read as bytes."""
    saved, refused = [], []
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return [], [f"无法保存上传的文件 Uploads cannot be saved in {folder} ({exc.strerror}); "
                    "start the app with a writable --index-dir."]
    for tmp in files:
        original = Path(str(tmp)).name
        suffix = Path(original).suffix.lower()
        if suffix not in UPLOAD_SUFFIXES:
            refused.append(f"{original}：只接受 {' '.join(UPLOAD_SUFFIXES)} 文件 (only {', '.join(UPLOAD_SUFFIXES)} files are accepted).")
            continue
        try:
            size = os.path.getsize(tmp)
        except OSError:
            refused.append(f"{original}：无法读取 (cannot be read).")
            continue
        if size > MAX_FILE_BYTES:
            refused.append(f"{original}：{size / 1024 / 1024:.1f} MB，超过每个文件 {MAX_FILE_MB} MB 的上限 (over the {MAX_FILE_MB} MB limit).")
            continue
        if size == 0:
            refused.append(f"{original}：空文件 (empty file).")
            continue
        name = f"{datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(4)}{suffix}"
        target = folder / name
        try:
            with open(tmp, "rb") as src, open(target, "xb") as dst:
                shutil.copyfileobj(src, dst)
            os.chmod(target, 0o644)
        except OSError as exc:  # a full disk, a read-only folder: this file is refused, nothing half-kept
            target.unlink(missing_ok=True)
            refused.append(f"{original}：无法保存 (cannot be saved: {exc.strerror}).")
            continue
        saved.append((original, target))
    return saved, refused


# -- the app ------------------------------------------------------------------------------
def build_app(qa: QA) -> gr.Blocks:
    """The chat over ``qa``'s index. Launch it with ``launch(app, …)`` (theme and CSS)."""
    index_dir = Path(qa.settings.index_dir)
    feedback = FeedbackLog(index_dir / FEEDBACK)

    def texts_of(answer) -> dict[str, str]:
        docs = qa.data().documents
        return {s.citation.doc_id: docs[s.citation.doc_id].text for s in answer.snippets if s.citation.doc_id in docs}

    def corpus_state():
        info = qa.info()
        docs = info["document_list"]
        choices = [(f"{d['title'][:36]}{'…' if len(d['title']) > 36 else ''} · {d['date'] or d['id']}", d["id"]) for d in docs]
        return render.corpus_html(docs), gr.Dropdown(choices=choices), render.stats_html(info)

    # -- handlers ------------------------------------------------------------------------
    def respond(question, history, turns, mode, k, doc_ids):
        history, turns = list(history or []), list(turns or [])
        question = (question or "").strip()
        try:
            if not question:
                gr.Warning("问题为空，请输入一个问题。The question is empty; type a question, e.g. 清徐县是在哪里发现初筛阳性人员的？")
                return gr.skip(), gr.skip(), gr.skip(), gr.skip()
            data = qa.data()
            resolved = resolve(question, [t["asked"] for t in turns], weight=data.bm25.idf)
            answer = qa.ask(resolved.query, k=int(k), mode=mode, doc_ids=list(doc_ids or []) or None)
        except ZhqaError as exc:
            gr.Warning(_toast(_error_text(exc)))
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        except Exception as exc:  # noqa: BLE001 - shown, logged, never fatal
            raise _unexpected(exc) from exc
        if qa.problem:  # a newer index on disk could not be loaded: say so, keep answering
            gr.Warning(_toast(f"索引未更新 The index on disk was not loaded: {qa.problem} Answers come from the index loaded before."))
        note = render.rewrite_note(question, resolved.query)
        history.append({"role": "user", "content": render.question_html(question)})
        history.append({"role": "assistant", "content": render.answer_html(answer, texts_of(answer), note)})
        turns.append({"question": question, "asked": resolved.query, "mode": mode, "k": int(k),
                      "doc_ids": list(doc_ids or []), "answered": answer.answered,
                      "snippets": _snippet_records(answer), "message": len(history) - 1})
        return history, turns, "", render.why_html(answer, resolved.query)

    def open_cite(evt: gr.EventData):
        parsed = render.parse_cite(getattr(evt, "href", "") if evt is not None else "")
        if parsed is None:
            return gr.skip(), gr.skip(), gr.skip()
        where, doc_id, start, end = parsed
        try:
            data = qa.data()
        except ZhqaError as exc:
            gr.Warning(_toast(_error_text(exc)))
            return gr.skip(), gr.skip(), gr.skip()
        doc = data.documents.get(doc_id)
        passages = sum(1 for p in data.passages if p.doc_id == doc_id) if doc else None
        page = render.article_html(doc, start, end, passages)
        if where == "corpus":
            return gr.skip(), page, gr.Tabs(selected="corpus")
        return page, gr.skip(), gr.skip()

    def rate(turns, evt: gr.LikeData):
        turn = next((t for t in turns or [] if t.get("message") == evt.index), None)
        if turn is None:
            return
        liked = evt.liked
        rating = "up" if liked is True else "down" if liked is False else (str(liked) if liked else "cleared")
        record = {"timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"), "rating": rating,
                  "question": turn["question"], "asked": turn["asked"], "mode": turn["mode"], "k": turn["k"],
                  "doc_ids": turn["doc_ids"], "answered": turn["answered"], "snippets": turn["snippets"]}
        try:
            feedback.append(record)
        except OSError as exc:
            gr.Warning(_toast(f"反馈无法保存 Feedback could not be saved ({exc.strerror})."))
            return
        gr.Info("谢谢反馈！Thanks for the feedback." if rating in ("up", "down") else "已撤销反馈 Feedback withdrawn.")

    def add_documents(files, progress=gr.Progress(track_tqdm=True)):
        files = [f for f in (files or []) if f]
        if not files:
            gr.Warning("请先选择文件。Choose one or more files first.")
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        if len(files) > MAX_FILES:
            gr.Warning(f"一次最多上传 {MAX_FILES} 个文件（收到 {len(files)} 个）。At most {MAX_FILES} files at a time ({len(files)} given).")
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        progress(0.02, desc="保存文件 Saving files")
        saved, refused = save_uploads(files, index_dir / UPLOADS)
        for message in refused:
            gr.Warning(_toast(message))
        duplicates = []
        if saved:
            try:
                known = {d.sha256: d.id for d in qa.documents()}
            except ZhqaError:
                known = {}
            for original, path in list(saved):
                if path.suffix == ".jsonl":
                    continue
                loaded = load_corpus([path]).documents
                if loaded and loaded[0].sha256 in known:
                    duplicates.append((original, known[loaded[0].sha256]))
                    saved.remove((original, path))
                    path.unlink(missing_ok=True)
        if not saved:
            report = render.upload_report_html([], refused, duplicates, None)
            return report, gr.skip(), gr.skip(), gr.skip(), None
        progress(0.1, desc="索引 Indexing")
        try:
            result = qa.index([p for _, p in saved], add=True, progress=True)
        except ZhqaError as exc:
            for _, path in saved:
                path.unlink(missing_ok=True)
            gr.Warning(_toast(_error_text(exc)))
            return render.upload_report_html([], refused + [_error_text(exc)], duplicates, None), gr.skip(), gr.skip(), gr.skip(), None
        except Exception as exc:  # noqa: BLE001
            for _, path in saved:
                path.unlink(missing_ok=True)
            raise _unexpected(exc) from exc
        progress(1.0, desc="完成 Done")
        # a file that gave no document (empty, not text) is not kept; warnings name the
        # file as the user knows it, not by the server's name
        names = {str(path): original for original, path in saved}
        indexed = set(result.added) | set(result.updated)
        for original, path in list(saved):
            if path.suffix != ".jsonl" and path.name not in indexed:
                saved.remove((original, path))
                path.unlink(missing_ok=True)
        warnings = []
        for warning in result.warnings:
            for server, original in names.items():
                warning = warning.replace(server, original)
            warnings.append(warning.replace(str(index_dir / UPLOADS) + os.sep, ""))
        corpus_page, choices, stats_line = corpus_state()
        report = render.upload_report_html([(o, p.name) for o, p in saved], refused + warnings, duplicates, result)
        gr.Info(f"已索引 Indexed: {len(result.added)} 篇新增 added, {len(result.updated)} 篇更新 updated.")
        return report, corpus_page, choices, stats_line, None

    def refresh():
        try:
            return corpus_state()
        except ZhqaError as exc:
            gr.Warning(_toast(_error_text(exc)))
            return gr.skip(), gr.skip(), gr.skip()

    def clear():
        return [], [], render.why_html(None), render.article_hint()

    def pick_failure(evt: gr.EventData):
        """A failed question clicked in the Evaluate tab: into the question box, to the chat."""
        picked = render.parse_ask(getattr(evt, "href", "") if evt is not None else "")
        if picked is None:
            return gr.skip(), gr.skip(), False
        return picked, gr.Tabs(selected="chat"), True

    def ask_picked(picked, *inputs):
        return respond(*inputs) if picked else (gr.skip(), gr.skip(), gr.skip(), gr.skip())

    def read_questions(choice, upload):
        """(questions, name shown) from the chosen set or an uploaded file; None after a warning."""
        if upload:
            original = Path(str(upload)).name
            if Path(original).suffix.lower() != ".jsonl":
                gr.Warning(_toast(f"{original}：题目文件须为 .jsonl (a question file is a .jsonl file)."))
                return None
            saved, refused = save_uploads([upload], index_dir / EVAL_UPLOADS)
            for message in refused:
                gr.Warning(_toast(message))
            if not saved:
                return None
            path = saved[0][1]
            try:
                return load_questions(path), original
            except ZhqaError as exc:
                gr.Warning(_toast(_error_text(exc).replace(str(path), original)))
                return None
            finally:
                path.unlink(missing_ok=True)  # read into memory; nothing is kept
        path = eval_files().get(choice or "")
        if path is None:
            gr.Warning("请选择题目文件或上传一个 .jsonl 文件。Choose a question file or upload a .jsonl one.")
            return None
        try:
            return load_questions(path), f"eval/{path.name}"
        except ZhqaError as exc:
            gr.Warning(_toast(_error_text(exc)))
            return None

    def run_eval(choice, upload, mode, k, progress=gr.Progress(track_tqdm=True)):
        skip = (gr.skip(),) * 5
        try:
            k = int(k)
        except (TypeError, ValueError):
            k = 0
        if not 1 <= k <= MAX_K or mode not in dict(EVAL_MODE_CHOICES).values():
            gr.Warning(f"请选择检索方式和 1 到 {MAX_K} 之间的 k。Choose a mode and k from 1 to {MAX_K}.")
            return skip
        loaded = read_questions(choice, upload)
        if loaded is None:
            return skip
        questions, source = loaded
        progress(0, desc="评测 Evaluating")
        try:
            report = evaluate(qa, questions, modes_of(mode), k=k, progress=True)
        except ZhqaError as exc:
            gr.Warning(_toast(_error_text(exc)))
            return skip
        except Exception as exc:  # noqa: BLE001
            raise _unexpected(exc) from exc
        return (render.eval_summary_html(report, source),
                render.eval_section("指标", "Metrics", eval_report.metrics_table(report)),
                render.eval_section("召回曲线", "Recall@k", eval_report.recall_svg(report)),
                render.eval_section("失败的问题", "Failures", eval_report.failures_html(report, link=render.ask_href),
                                    "最差的问题；点击问题即在对话中提问。The worst questions; click one to ask it in the chat."),
                render.eval_section("按题型", "By question type", eval_report.by_type_tables(report)))

    def ask(question: str, mode: str = "hybrid", k: int = 5) -> dict:
        """Answer a question from the corpus: the same JSON object as `qa ask --json`
        (question, answered, snippets with doc_id/title/start/end/score, passages)."""
        try:
            k = int(k)
        except (TypeError, ValueError):
            raise gr.Error(f"k must be a whole number from 1 to {MAX_API_K}.", print_exception=False) from None
        if not 1 <= k <= MAX_API_K:
            raise gr.Error(f"k is {k}; give a number from 1 to {MAX_API_K}.", print_exception=False)
        try:
            return qa.ask(question, k=k, mode=mode).to_json()
        except ZhqaError as exc:
            raise gr.Error(str(exc), print_exception=False) from None  # the user's mistake: no traceback in the log

    # -- layout --------------------------------------------------------------------------
    # delete_cache: Gradio's own copies of uploads go after an hour; ours are in uploads/.
    with gr.Blocks(title="zhqa · 中文新闻问答", analytics_enabled=False, delete_cache=(3600, 3600)) as app:
        header = gr.HTML(
            '<div class="zq-header"><h1>zhqa · 中文新闻问答 <span class="zq-en">Chinese news Q&amp;A</span></h1>'
            '<p>答案是新闻原文的逐字摘录，每一句都附出处。<span class="zq-en">Answers are verbatim extracts from the '
            'articles, each with its source.</span></p></div>',
            js_on_load=BRIDGE_JS, elem_id="zq-header")
        turns = gr.State([])
        picked = gr.State(False)  # a failure of the Evaluate tab was clicked: ask it

        with gr.Sidebar(label="设置 Settings", open=True, width=340, position="left"):
            gr.Markdown("### 检索设置 Retrieval")
            mode = gr.Radio(MODE_CHOICES, value="hybrid", label="检索方式 Retrieval mode", elem_id="zq-mode")
            k = gr.Slider(1, MAX_K, value=5, step=1, label="段落数 Passages (k)", elem_id="zq-k")
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
                            feedback_options=("Like", "Dislike"), sanitize_html=True, render_markdown=True,
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
                        article = gr.HTML(render.article_hint(), js_on_load=SCROLL_JS, max_height=640,
                                          elem_id="zq-article")
            with gr.Tab("语料 Corpus", id="corpus", elem_id="zq-tab-corpus"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        stats = gr.HTML("", elem_id="zq-stats")
                        corpus = gr.HTML("", elem_id="zq-corpus")
                    with gr.Column(scale=2, min_width=320):
                        corpus_article = gr.HTML(
                            render.article_hint("点击标题查看全文。", "Click a title to read the whole article."),
                            js_on_load=SCROLL_JS, max_height=640, elem_id="zq-corpus-article")
            with gr.Tab("添加文档 Add documents", id="upload", elem_id="zq-tab-upload"):
                gr.Markdown(
                    f"上传 {' '.join(UPLOAD_SUFFIXES)} 文件，它们会被增量索引，无需重启即可检索。"
                    f"每个文件不超过 {MAX_FILE_MB} MB，一次最多 {MAX_FILES} 个。\n\n"
                    f"Upload {', '.join(UPLOAD_SUFFIXES)} files: they are indexed incrementally and searchable at once. "
                    f"At most {MAX_FILE_MB} MB per file and {MAX_FILES} files at a time. A .jsonl file holds one "
                    "article per line: `id` and `text` required, `title`, `source`, `date` optional.")
                # No file_types: Gradio's own refusal toast shows the file name as HTML; the
                # handler refuses other suffixes itself, with the name escaped.
                files = gr.File(label="选择文件 Choose files", file_count="multiple", type="filepath", elem_id="zq-files")
                upload_btn = gr.Button("添加并索引 Add and index", variant="primary", elem_id="zq-upload")
                upload_report = gr.HTML("", elem_id="zq-upload-report")
            with gr.Tab("评测 Evaluate", id="evaluate", elem_id="zq-tab-eval"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=2, min_width=260):
                        sets = list(eval_files())
                        eval_file = gr.Dropdown(choices=sets, value=DEFAULT_EVAL if DEFAULT_EVAL in sets else (sets or [None])[0],
                                                label="题目文件 Question file (eval/)", elem_id="zq-eval-file")
                        # as the documents upload: no file_types (the handler refuses other
                        # suffixes itself, the name escaped), saved under a server-chosen name
                        eval_upload = gr.File(label=f"或上传 .jsonl（优先使用）Or upload a .jsonl question file (used instead; ≤ {MAX_FILE_MB} MB)",
                                              file_count="single", type="filepath", height=110, elem_id="zq-eval-upload")
                    with gr.Column(scale=2, min_width=260):
                        eval_mode = gr.Radio(EVAL_MODE_CHOICES, value="hybrid", label="检索方式 Retrieval mode", elem_id="zq-eval-mode")
                        eval_k = gr.Slider(1, MAX_K, value=EVAL_K, step=1, label="段落数 Passages (k)", elem_id="zq-eval-k")
                    with gr.Column(scale=1, min_width=200):
                        eval_btn = gr.Button("运行评测 Run", variant="primary", elem_id="zq-eval-run")
                        gr.Markdown(EVAL_NOTE, elem_classes=["zq-hint"], elem_id="zq-eval-note")
                eval_summary = gr.HTML(render.eval_hint(), js_on_load=None, elem_id="zq-eval-summary")
                with gr.Row(equal_height=False):
                    with gr.Column(scale=2, min_width=300):
                        eval_metrics = gr.HTML("", js_on_load=None, elem_id="zq-eval-metrics")
                    with gr.Column(scale=3, min_width=320):
                        eval_plot = gr.HTML("", js_on_load=None, elem_id="zq-eval-plot")
                eval_failures = gr.HTML("", js_on_load=None, elem_id="zq-eval-failures")
                eval_types = gr.HTML("", js_on_load=None, elem_id="zq-eval-types")

        # -- events ----------------------------------------------------------------------
        ask_inputs = [question, chat, turns, mode, k, doc_filter]
        ask_outputs = [chat, turns, question, why]
        asking = {"concurrency_limit": ASK_CONCURRENCY, "concurrency_id": "ask"}
        question.submit(respond, ask_inputs, ask_outputs, api_visibility="private", **asking)
        ask_btn.click(respond, ask_inputs, ask_outputs, api_visibility="private", **asking)
        for button, text in zip(example_buttons, EXAMPLES):
            button.click(lambda text=text: text, None, question, api_visibility="private", queue=False).then(
                respond, ask_inputs, ask_outputs, api_visibility="private", **asking)
        clear_btn.click(clear, None, [chat, turns, why, article], api_visibility="private", queue=False)
        chat.clear(lambda: clear()[1:], None, [turns, why, article], api_visibility="private", queue=False)
        header.click(open_cite, None, [article, corpus_article, tabs], api_visibility="private")
        header.click(pick_failure, None, [question, tabs, picked], api_visibility="private", queue=False).then(
            ask_picked, [picked] + ask_inputs, ask_outputs, api_visibility="private", **asking)
        chat.like(rate, [turns], None, api_visibility="private")
        upload_btn.click(add_documents, [files], [upload_report, corpus, doc_filter, stats, files],
                         api_visibility="private", show_progress_on=[upload_report],
                         concurrency_limit=WRITE_CONCURRENCY, concurrency_id="write")
        eval_btn.click(run_eval, [eval_file, eval_upload, eval_mode, eval_k],
                       [eval_summary, eval_metrics, eval_plot, eval_failures, eval_types],
                       api_visibility="private", show_progress_on=[eval_summary],
                       concurrency_limit=EVAL_CONCURRENCY, concurrency_id="eval")
        app.load(refresh, None, [corpus, doc_filter, stats], api_visibility="private")
        gr.api(ask, api_name="ask", **asking)
    app.queue(default_concurrency_limit=2, max_size=QUEUE_MAX_SIZE)
    return app


def launch(app: gr.Blocks, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, auth: tuple[str, str] | None = None,
           **kwargs):
    """Serve ``app`` with the chat's theme and CSS; extra keyword arguments go to
    ``Blocks.launch`` (e.g. ``prevent_thread_lock=True`` in tests)."""
    theme = gr.themes.Soft(primary_hue="indigo", font=["system-ui", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei",
                                                        "Noto Sans CJK SC", "WenQuanYi Micro Hei", "sans-serif"],
                           font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"])
    return app.launch(server_name=host, server_port=port, auth=auth,
                      auth_message="请登录 Please log in" if auth else None,
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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env_port = os.environ.get("GRADIO_SERVER_PORT")
    parser = argparse.ArgumentParser(prog="app.py", description="zhqa web chat: questions over Chinese news, answered with cited extracts.")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME") or DEFAULT_HOST,
                        help=f"Address to listen on (default {DEFAULT_HOST}, or $GRADIO_SERVER_NAME; 0.0.0.0 for every interface).")
    parser.add_argument("--port", type=_port, default=None,
                        help=f"Port (default $GRADIO_SERVER_PORT, else {DEFAULT_PORT}).")
    parser.add_argument("--index-dir", default=None, help="Index folder (default: $ZHQA_INDEX_DIR or .zhqa-index/ in the project); built from seeds/ if missing.")
    parser.add_argument("--auth", type=_auth, default=None, metavar="USER:PASSWORD", help="Require this login.")
    parser.add_argument("--rebuild", action="store_true", help="Index the bundled seeds/ anew before starting (replaces the index).")
    args = parser.parse_args(argv)
    if args.port is None:
        try:
            args.port = _port(env_port) if env_port else DEFAULT_PORT
        except argparse.ArgumentTypeError as exc:
            parser.error(f"GRADIO_SERVER_PORT: {exc}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = Settings(index_dir=Path(args.index_dir)) if args.index_dir else Settings()
    qa = QA(settings)
    try:
        if args.rebuild:
            _say(f"正在重建索引 Rebuilding the index of seeds/ in {settings.index_dir} …")
            qa.index(progress=sys.stderr.isatty())
        elif not qa.folder.exists():
            _say(f"还没有索引，正在索引 seeds/ No index yet: indexing the bundled seeds/ into {settings.index_dir} …")
            report = qa.ensure_index(progress=True)
            if report is not None:
                _say(f"已索引 Indexed {report.documents} documents, {report.passages} passages in {report.seconds:.1f}s.")
        data = qa.data()
        _ = qa.encoder  # load the model once, now, not on the first question
        _say(f"索引 Index: {len(data.documents)} documents, {len(data.passages)} passages ({settings.index_dir}).")
    except ZhqaError as exc:
        _say(f"error: {exc}")
        if "rebuild" in str(exc):
            _say("(python app.py --rebuild indexes the bundled seeds/ anew.)")
        return 1
    app = build_app(qa)
    _say(f"打开 Open http://{args.host}:{args.port}/" + ("  (login required)" if args.auth else ""))
    try:
        launch(app, args.host, args.port, args.auth)
    except OSError as exc:
        _say(f"error: cannot listen on {args.host}:{args.port} ({exc}); choose another --port.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
