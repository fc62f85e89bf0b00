"""The ``qa`` command line: a thin layer that parses, calls qa.engine and formats.
Every error a user can cause is one line on stderr and exit code 1, never a traceback."""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import click

from embeddings.atomic import write_text
from qa.errors import ZhqaError
from qa.index.folder import corpus_index_dir
from qa.options import build_settings
from qa.settings import MODES, Settings

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _engine(settings: Settings):
    from qa.engine import (
        QA,  # heavy imports wait until a command needs them: `qa --help` is instant
    )

    return QA(settings)


def _say(message: str) -> None:
    """One line on stderr: control characters (a file name may hold a line break or a
    terminal escape) are shown as escapes, never sent to the terminal."""
    click.echo(_CONTROL.sub(lambda m: repr(m.group())[1:-1], message), err=True)


index_dir_option = click.option(
    "--index-dir", type=click.Path(file_okay=False), default=None,
    help="Index folder (default: $ZHQA_INDEX_DIR or .zhqa-index/ in the project).",
)
store_option = click.option(
    "--store", default=None, metavar="ADDRESS",
    help="Where passages are searched: local (FAISS + bm25s in the index folder), milvus://HOST:PORT or "
         "milvus-lite://PATH.db (default: what the index was built with, else local).",
)
model_option = click.option("--model", default=None, help="Embedding model: the default multilingual-e5-small, or a local sentence-transformers folder.")


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise  # --help, usage errors and ^C are click's to report
        except ZhqaError as exc:
            _say(f"error: {exc}")
            sys.exit(1)
        except KeyboardInterrupt:
            _say("interrupted; the previous index is untouched.")
            sys.exit(130)
        except Exception as exc:  # noqa: BLE001 - a user never sees a traceback
            if os.environ.get("ZHQA_DEBUG"):
                raise
            _say(f"error: unexpected {type(exc).__name__}: {exc} (run with ZHQA_DEBUG=1 for details and report it).")
            sys.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """zhqa: question answering over Chinese news, with exact citations."""


def _print_report(report, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.__dict__, ensure_ascii=False, indent=1))
        return
    for warning in report.warnings:
        _say(f"warning: {warning}")
    if report.up_to_date:
        click.echo(f"Index is up to date: {report.documents} documents, {report.passages} passages.")
        return
    click.echo(
        f"Indexed {report.documents} documents, {report.passages} passages in {report.seconds:.1f}s "
        f"(added {len(report.added)}, updated {len(report.updated)}, removed {len(report.removed)}, "
        f"unchanged {report.unchanged}; {report.encoded} passages embedded, {report.reused} reused)."
    )
    if report.not_indexed:
        click.echo(f"Not indexed: {len(report.not_indexed)} (named in the warnings above).")
    if report.store != "local":
        click.echo(f"Store {report.store}: {report.store_written} passages written, {report.store_deleted} deleted.")


@main.command("index")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--add", is_flag=True, help="Keep what is indexed and add or update these documents.")
@click.option("--max-chars", type=int, default=None, help="Longest passage, in characters (default 300).")
@click.option("--overlap", "overlap_chars", type=int, default=None, help="Overlap between passages, in characters (default 80).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--allow-private-urls", is_flag=True, help="Also fetch URLs on this machine or a private network.")
@index_dir_option
@store_option
@model_option
def index_cmd(paths, add, max_chars, overlap_chars, as_json, allow_private_urls, index_dir, store, model):
    """Index PATHS (folders of .txt/.md/.html/.pdf/.docx, .jsonl corpora, https:// pages); default: the bundled seeds/.

    The index then holds exactly these documents, unless --add is given. Unchanged
    documents are not embedded again."""
    try:
        settings = build_settings(index_dir, store, model, max_chars=max_chars, overlap_chars=overlap_chars)
    except ValueError as exc:
        raise ZhqaError(f"{exc}.") from exc
    engine = _engine(settings)
    from qa.ingest.fetch import is_url

    report = engine.index([p if is_url(p) else Path(p) for p in paths] or None, add=add,
                          progress=sys.stderr.isatty() and not as_json,
                          on_wait=lambda: _say("waiting for another indexer to finish…"), allow_private_urls=allow_private_urls)
    _print_report(report, as_json)


@main.command("ask")
@click.argument("question")
@click.option("-k", "--passages", "k", type=click.IntRange(1, 50), default=5, show_default=True, help="Passages to retrieve.")
@click.option("--mode", type=click.Choice(MODES), default="hybrid", show_default=True)
@click.option("--doc", "doc_ids", multiple=True, help="Only search these document ids (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as one JSON object.")
@index_dir_option
@store_option
@model_option
def ask_cmd(question, k, mode, doc_ids, as_json, index_dir, store, model):
    """Answer QUESTION with extracts from the corpus, each with its citation."""
    from qa.question.query import check_question, make_query

    check_question(question)  # a bad question fails before anything is loaded or built
    engine = _engine(build_settings(index_dir, store, model))
    kept_in_milvus = bool(store) and store.startswith("milvus://")  # the folder is only this store's copy
    if index_dir and not Path(index_dir).exists() and not kept_in_milvus:
        raise ZhqaError(f"The index folder {index_dir} does not exist; build it with `qa index --index-dir {index_dir}`.")
    engine.warm_up(mode, background=True)  # the models open while the index and the question's words load
    query = make_query(question)
    engine.ensure_index(progress=sys.stderr.isatty(), announce=_say)
    result = engine.ask(query, k=k, mode=mode, doc_ids=list(doc_ids) or None)
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
        return
    _print_answer(result)


@main.command("chat")
@click.option("-k", "--passages", "k", type=click.IntRange(1, 50), default=5, show_default=True, help="Passages to retrieve.")
@click.option("--mode", type=click.Choice(MODES), default="hybrid", show_default=True)
@index_dir_option
@store_option
@model_option
def chat_cmd(k, mode, index_dir, store, model):
    """Ask one question after another; a follow-up ("他的妻子是做什么的？") is read with the
    questions before it. An empty line or Ctrl-D ends; /new starts a new conversation."""
    engine = _engine(build_settings(index_dir, store, model))
    engine.warm_up(mode, background=True)
    engine.ensure_index(progress=sys.stderr.isatty(), announce=_say)
    history: list[str] = []
    while True:
        try:
            question = input("问 > ")
        except EOFError:
            break
        question = question.strip()
        if not question:
            break
        if question == "/new":
            history.clear()
            continue
        try:
            result = engine.ask(question, k=k, mode=mode, history=history)
        except ZhqaError as exc:
            click.echo(f"error: {exc}", err=True)
            continue
        if result.asked:
            click.echo(click.style(f"按上文理解为：{result.asked}", dim=True))
        _print_answer(result)
        history.append(question)


def _print_answer(result) -> None:
    if not result.answered:
        click.echo("The corpus has no answer to this question. (语料中没有这个问题的答案。)")
    elif result.claimed_span is not None:
        click.echo(click.style(f"答案 Answer: {result.claimed_span.text}", bold=True))
    elif result.confidence is not None:
        click.echo(click.style("答案在第一句中 The answer is in sentence [1] (no phrase in it is claimed).", dim=True))
    if result.answered and result.confidence is not None:
        click.echo(click.style(f"置信度 Confidence: {result.confidence:.0%}", dim=True))
    for i, snippet in enumerate(result.snippets, 1):
        c = snippet.citation
        click.echo(f"[{i}] {snippet.text}")
        click.echo(click.style(f"    — {c.title} · {c.source or '?'} · {c.date or '?'} · {c.doc_id} [{c.start}:{c.end}]", dim=True))
    if result.hits:
        click.echo(click.style("Passages:", bold=True))
        for hit in result.hits:
            text = hit.passage.text.replace("\n", " ")
            moved = f" (holds the answer shown: moved first from {hit.fused_rank})" if hit.moved_first else ""
            click.echo(f"  {hit.rank}. {hit.citation.doc_id} [{hit.passage.start}:{hit.passage.end}] score={hit.score:.4f}{moved}  {text[:70]}…")


@main.command("mcp")
@index_dir_option
@store_option
@model_option
def mcp_cmd(index_dir, store, model):
    """Serve the MCP tools (ask, search, get_article, list_articles) over stdio, for an MCP
    client that starts a command; the chat server serves the same tools at /mcp."""
    engine = _engine(build_settings(index_dir, store, model))
    engine.ensure_index(progress=False, announce=_say)  # stdout is the protocol's: progress and problems on stderr
    engine.data()
    from qa.api.mcp_tools import tools

    tools(engine).run("stdio")


@main.command("info")
@click.option("--documents", "show_docs", is_flag=True, help="List the indexed documents.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@index_dir_option
@store_option
def info_cmd(show_docs, as_json, index_dir, store):
    """What is indexed: documents, passages, model, index size, when built."""
    engine = _engine(build_settings(index_dir, store))
    info = engine.info()
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False, indent=1))
        return
    click.echo(f"index:     {info['index_dir']}")
    where = info["store"]
    click.echo(f"store:     {where['address']}" + (f" (collection {where['collection']})" if where.get("collection") else "")
               + f"; dense {where['dense']}, keywords {where['keywords']}")
    click.echo(f"documents: {info['documents']}")
    click.echo(f"passages:  {info['passages']}")
    click.echo(f"model:     {info['model']} ({info['dimension']} dimensions)")
    click.echo(f"chunking:  {info['chunking']}")
    click.echo(f"size:      {info['index_bytes'] / 1e6:.2f} MB")
    click.echo(f"built:     {info['built_at']}")
    from qa.cpu import one_line

    click.echo(f"processor: {one_line(info['processor'])}")
    if show_docs:
        for d in info["document_list"]:
            share = d["kept"] / d["chars"] if d.get("chars") else 0.0
            click.echo(f"  {d['id']}\t{d['passages']} passages\t{d.get('kept', 0):,}/{d.get('chars', 0):,} chars kept ({share:.0%})"
                       f"\t{d['date'] or '-'}\t{d['source'] or '-'}\t{d['title']}")


@main.command("remove")
@click.argument("doc_ids", nargs=-1, required=True)
@index_dir_option
@store_option
def remove_cmd(doc_ids, index_dir, store):
    """Drop documents from the index (no re-embedding)."""
    engine = _engine(build_settings(index_dir, store))
    report = engine.remove(list(doc_ids))
    click.echo(f"Removed {len(report.removed)} documents; {report.documents} documents, {report.passages} passages remain.")


@main.command("eval")
@click.argument("questions", type=click.Path(dir_okay=False))
@click.option("--corpus", type=click.Path(), default=None, help="Index this corpus (folder or .jsonl) into its own cached index first.")
@click.option("--mode", type=click.Choice(list(MODES) + ["all"]), default="hybrid", show_default=True)
@click.option("-k", "k", type=click.IntRange(1, 100), default=10, show_default=True, help="Passages retrieved per question.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None, help="Write all results to this JSON file.")
@click.option("--report", "report_out", type=click.Path(dir_okay=False), default=None, help="Write a self-contained HTML report.")
@click.option("--worst", "n_worst", type=int, default=10, show_default=True, help="Failures to list.")
@click.option("--split", type=click.Choice(["all", "train", "validation"]), default="all", show_default=True,
              help="Only the questions of this fold split, by document (validation: fold 0 of 5).")
@click.option("--per-fold", is_flag=True, help="Also report Recall@1, MRR@10 and answer@1 for each of the 5 folds, with mean and spread.")
@click.option("--reading", is_flag=True, help="Reading only: the reader given each question's own document; exact match and F1.")
@index_dir_option
@store_option
@model_option
def eval_cmd(questions, corpus, mode, k, json_out, report_out, n_worst, split, per_fold, reading, index_dir, store, model):
    """Measure retrieval and answers on QUESTIONS.jsonl (id, question, doc, answer[, answers, type])."""
    from qa.evaluate.report import failures_text, folds_text, reading_text, render, summary_text
    from qa.evaluate.run import by_fold, evaluate, load_questions, modes_of, split_questions, worst

    qs = load_questions(Path(questions))
    settings = build_settings(index_dir, store, model)
    if corpus:
        if not Path(corpus).exists():
            raise ZhqaError(f"The corpus {corpus} does not exist; give a folder of .txt/.md/.html files or a .jsonl file.")
        settings = build_settings(str(corpus_index_dir(settings.index_dir, Path(corpus))), store, model)
    engine = _engine(settings)
    if corpus:
        report = engine.index([Path(corpus)], progress=sys.stderr.isatty())
        if not report.up_to_date:
            _say(f"indexed {corpus}: {report.documents} documents, {report.passages} passages")
    else:
        engine.ensure_index(progress=sys.stderr.isatty(), announce=_say)
    qs = split_questions(qs, engine.data(), split)
    if not qs:
        raise ZhqaError(f"No question of {questions} is in the {split} split; choose another --split.")
    if reading:
        from qa.evaluate.reading import evaluate_reading

        read = evaluate_reading(engine, qs)
        click.echo(reading_text(read, split))
        if json_out:
            _atomic_write(Path(json_out), json.dumps(read.__dict__, ensure_ascii=False, indent=1))
            click.echo(f"wrote {json_out}")
        return
    result = evaluate(engine, qs, modes_of(mode), k=k, progress=sys.stderr.isatty())
    click.echo(summary_text(result))
    if per_fold:
        result.folds = by_fold(result, qs, engine.data())
        if result.folds:
            click.echo(folds_text(result.folds))
    failures = worst(result, modes_of(mode)[0], n_worst)
    if failures:
        click.echo(failures_text(failures, modes_of(mode)[0]))
    if json_out:
        _atomic_write(Path(json_out), json.dumps(result.to_json(), ensure_ascii=False, indent=1))
        click.echo(f"wrote {json_out}")
    if report_out:
        _atomic_write(Path(report_out), render(result, title=f"zhqa evaluation: {Path(questions).name}"))
        click.echo(f"wrote {report_out}")


def _atomic_write(path: Path, text: str) -> None:
    try:
        write_text(path, text)
    except OSError as exc:
        raise ZhqaError(f"Cannot write {path} ({exc.strerror}); choose another path.") from exc


@main.command("serve", context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                         "help_option_names": []})
@click.pass_context
def serve_cmd(ctx):
    """Serve the web chat (http://127.0.0.1:7860 by default; --help for the options, those of `python app.py`)."""
    from qa.serve import main as serve_main

    raise SystemExit(serve_main(list(ctx.args), prog="qa serve"))


@main.command("train-reader", context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                                "help_option_names": []})
@click.pass_context
def train_reader_cmd(ctx):
    """Train the extractive reader from ../shared and export it (qa/read/MODEL_CARD.md; --help for options)."""
    from qa_train.train_reader import main as train_main

    raise SystemExit(train_main(list(ctx.args)))


@main.command("train-fusion", context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                                "help_option_names": []})
@click.pass_context
def train_fusion_cmd(ctx):
    """Train hybrid mode's learned fusion on the visible sets' train folds (--help for options)."""
    from qa_train.train_fusion import main as train_main

    raise SystemExit(train_main(list(ctx.args)))


@main.command("train-choice", context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                                "help_option_names": []})
@click.pass_context
def train_choice_cmd(ctx):
    """Fit which read sentence is shown first, on question sets the reader never saw (--help for options)."""
    from qa_train.train_choice import main as train_main

    raise SystemExit(train_main(list(ctx.args)))


@main.command("train-confidence", context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                                    "help_option_names": []})
@click.pass_context
def train_confidence_cmd(ctx):
    """Fit how sure an answer is (no answer / the sentence / the span), on the train folds (--help for options)."""
    from qa_train.confidence import main as train_main

    raise SystemExit(train_main(list(ctx.args)))


@main.command("bench")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None, help="Write every figure to this JSON file.")
@click.option("--quick", is_flag=True, help="A reduced run (seeds only, 10k-passage scale), under a minute.")
@click.option("--sizes", default=None, help="Scale sizes, comma-separated (default 10000,100000,1000000; quick 10000).")
@click.option("--eval-dir", type=click.Path(file_okay=False), default=None,
              help="Evaluation sets; the largest corpus is indexed (default ../shared/eval).")
@click.option("--work-dir", type=click.Path(file_okay=False), default=None, help="Where the bench builds its indexes (default: a temporary folder).")
def bench_cmd(json_out, quick, sizes, eval_dir, work_dir):
    """Measure every stage on this machine: ask latency, indexing, startup, scale, peers."""
    from qa.bench import BenchConfig, run
    from qa.bench.report import table

    try:
        size_list = [int(s.replace("_", "")) for s in sizes.split(",")] if sizes else []
    except ValueError:
        raise ZhqaError(f"--sizes {sizes!r} is not a comma-separated list of whole numbers, e.g. 10000,100000.") from None
    if any(n < 100 for n in size_list):
        raise ZhqaError("Each --sizes value must be at least 100 passages.")
    config = BenchConfig(quick=quick, sizes=size_list)
    if eval_dir:
        config.eval_dir = Path(eval_dir)
    if work_dir:
        config.work_dir = Path(work_dir)
    result = run(config, say=lambda m: click.echo(m, err=True))
    click.echo(table(result))
    if json_out:
        _atomic_write(Path(json_out), json.dumps(result, ensure_ascii=False, indent=1))
