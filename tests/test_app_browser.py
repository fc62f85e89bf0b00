"""The web chat (app.py) driven in a real browser: Playwright + the system's Chromium,
against the real app serving a copy of the seeds index with the real model.

The app runs in this process on a free port (it shares the session's model); each test
opens a fresh page, so a fresh chat session. The browser tests are skipped when Chromium is
missing, and fail in CI (see the ``chromium_launch`` fixture in conftest.py).
Set ZHQA_SCREENSHOTS_DIR=docs to refresh the screenshots in docs/.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import time
from html import unescape
from pathlib import Path

import pytest

VIEWPORT = {"width": 1280, "height": 900}
QINGXU = "清徐县是在哪里发现初筛阳性人员的？"
QINGXU_DOC = "002_55bd9ca71670d804.txt"
INJECTION = "<img src=x onerror=alert(1)>董健是谁"
ANSWER_TIMEOUT = 60_000  # ms; a question takes about a second
EVAL_TIMEOUT = 180_000  # ms; the seed set in one mode takes a few seconds

# Gradio's queue calls a pandas API that pandas 3 deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")


# -- not the browser: flags, uploads, feedback ---------------------------------------------
def test_flags(monkeypatch):
    from qa.serve import parse_args

    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    args = parse_args([])
    assert (args.host, args.port, args.auth, args.index_dir) == ("127.0.0.1", 7860, None, None)
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7999")
    assert parse_args([]).port == 7999
    args = parse_args(["--host", "0.0.0.0", "--port", "8080", "--index-dir", "/tmp/x", "--auth", "ann:pa:ss"])
    assert (args.host, args.port, args.index_dir, args.auth) == ("0.0.0.0", 8080, "/tmp/x", ("ann", "pa:ss"))
    for bad in (["--auth", "nopassword"], ["--port", "70000"], ["--port", "http"]):
        with pytest.raises(SystemExit):
            parse_args(bad)


def test_uploads_are_saved_under_server_names(tmp_path):
    from qa.web import uploads

    src = tmp_path / "in"
    src.mkdir()
    files = {"../../etc/evil name.txt": b"text", "a.jsonl": b'{"id": "x", "text": "y"}\n', "run.sh": b"#!/bin/sh\n",
             "empty.md": b"", "big.html": b"x" * (uploads.MAX_FILE_BYTES + 1)}
    paths = []
    for name, data in files.items():
        path = src / name.replace("/", "_")
        path.write_bytes(data)
        paths.append(str(path))
    saved, refused = uploads.save_uploads(paths, tmp_path / "uploads")
    assert [Path(o).suffix for o, _ in saved] == [".txt", ".jsonl"]
    for _, path in saved:
        assert path.parent == tmp_path / "uploads"
        assert "evil" not in path.name and ".." not in path.name
        assert not os.access(path, os.X_OK)
    assert len(refused) == 3 and any("run.sh" in r for r in refused) and any("10 MB" in r for r in refused)


def test_feedback_lines_are_appended_whole(tmp_path):
    import threading

    from qa.web.feedback import FeedbackLog

    log = FeedbackLog(tmp_path / "feedback.jsonl")
    records = [{"session": f"s{i}", "answer": 1, "n": i, "text": "董健" * 500} for i in range(40)]
    threads = [threading.Thread(target=log.rate, args=(r,)) for r in records]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = (tmp_path / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(line)["n"] for line in lines) == list(range(40))


def _report_with(results_by_mode: dict, k: int = 3):
    """An EvalReport built by hand (no model): the given QuestionResults per mode."""
    from qa.evaluate.run import METRICS, EvalReport

    metrics = {m: 0.5 for m in METRICS}
    return EvalReport(questions=3, k=k, seconds=1.0, modes={
        mode: {"metrics": dict(metrics, abstain=None), "results": results,
               "by_type": {"factoid": dict(metrics, count=2)}, "curve": [0.5, 0.75, 1.0][:k]}
        for mode, results in results_by_mode.items()})


def test_eval_report_pieces_are_escaped_and_link_failures():
    """The public pieces of qa.evaluate.report that render() and the Evaluate tab share."""
    from qa.evaluate import report as eval_report
    from qa.evaluate.run import METRICS, QuestionResult
    from qa.web import render

    evil = "<img src=x onerror=alert(1)>${alert(2)}董健是谁"
    results = [QuestionResult("q<1>", evil, "factoid", ["d<1>.txt"], "董健", rank=None, top_doc="d2.txt", top_snippet="<b>x</b>"),
               QuestionResult("q2", "第二题", "factoid", ["d1.txt"], "甲", rank=3, answered=True),
               QuestionResult("q3", "没有答案的题", "unanswerable", None, None, answered=True)]
    report = _report_with({"hybrid": results, "bm25": results[:1]})

    table = eval_report.metrics_table(report)
    assert [h for h in ("hybrid", "bm25")] == [h for h in ("hybrid", "bm25") if f"<th>{h}</th>" in table]
    assert [table.index(f"<th>{m}</th>") for m in METRICS] == sorted(table.index(f"<th>{m}</th>") for m in METRICS)
    assert table.count("<tr>") == len(METRICS) + 1 and "<td class=\"zq-num\">0.500</td>" in table and "–" in table

    svg = eval_report.recall_svg(report)
    assert svg.startswith("<svg") and svg.count("<polyline") == 2

    assert "<th>factoid</th>" in eval_report.by_type_tables(report)

    plain = eval_report.failures_html(report)
    assert "zq-ask" not in plain and "not retrieved" in plain and "rank 3" in plain and "answered, should abstain" in plain
    linked = eval_report.failures_html(report, link=render.ask_href)
    for html in (plain, linked, eval_report.render(report)):
        assert "<img" not in html and "<b>x</b>" not in html and "${" not in html and "q<1>" not in html
        assert "&lt;img src=x onerror=alert(1)&gt;&#36;&#123;alert(2)&#125;董健是谁" in html
    hrefs = re.findall(r'class="zq-cite zq-ask" href="([^"]*)"', linked)
    assert len(hrefs) == 4  # three in hybrid, one in bm25
    assert render.parse_ask(unescape(hrefs[0])) == evil
    assert render.parse_cite(unescape(hrefs[0])) is None and render.parse_ask("#zq/chat/d/1/2") is None

    page = eval_report.render(report)
    assert table in page and svg in page and plain in page


# -- the browser ------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory, seeds_index_dir, encoder):
    """(url, QA, index dir) of the app serving a private copy of the seeds index."""
    from qa.engine import QA
    from qa.settings import Settings
    from qa.web.app import build_app
    from qa.serve import launch

    index_dir = tmp_path_factory.mktemp("app") / "index"
    shutil.copytree(seeds_index_dir, index_dir)
    qa = QA(Settings(index_dir=index_dir), encoder=encoder)
    blocks = build_app(qa)
    for attempt in range(3):  # the free port may be taken between finding it and binding it: try another
        port = _free_port()
        try:
            launch(blocks, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
            break
        except OSError:
            if attempt == 2:
                raise
    try:
        yield f"http://127.0.0.1:{port}/", qa, index_dir
    finally:
        blocks.close()


@pytest.fixture(scope="module")
def browser(chromium_launch, served):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(**chromium_launch)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, served):
    """A fresh chat session; ``page.dialogs`` collects any alert() that fires."""
    context = browser.new_context(viewport=VIEWPORT)
    pg = context.new_page()
    pg.set_default_timeout(120_000)  # ms; a page takes ~10 s to be ready on a busy two-core machine
    pg.dialogs = []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.goto(served[0])
    pg.wait_for_selector("#zq-question textarea")
    pg.wait_for_function("typeof window.__zqOpen === 'function'")  # citation clicks are caught
    yield pg
    context.close()


def ask(pg, question: str):
    """Type ``question``, press Enter, return the locator of the new answer."""
    before = pg.locator("#zq-chat .zq-answer").count()
    pg.fill("#zq-question textarea", question)
    pg.press("#zq-question textarea", "Enter")
    pg.wait_for_function(f"document.querySelectorAll('#zq-chat .zq-answer').length > {before}", timeout=ANSWER_TIMEOUT)
    return pg.locator("#zq-chat .zq-answer").nth(before)


def open_tab(pg, name: str):
    pg.get_by_role("tab", name=name).click()


def mark_in_view(pg, viewer: str) -> bool:
    """Whether the highlighted passage is scrolled into the visible part of ``viewer``."""
    return pg.evaluate("""(viewer) => {
        const mark = document.querySelector(viewer + ' mark#zq-hl');
        if (!mark) return false;
        const m = mark.getBoundingClientRect();
        let box = mark.parentElement;
        while (box && box !== document.body && !(box.scrollHeight > box.clientHeight + 1 &&
               ['auto', 'scroll'].includes(getComputedStyle(box).overflowY))) box = box.parentElement;
        const b = (box && box !== document.body) ? box.getBoundingClientRect() : {top: 0, bottom: window.innerHeight};
        return m.top >= b.top - 1 && m.top <= b.bottom - 10 && m.top >= 0 && m.top <= window.innerHeight;
    }""", viewer)


def test_screenshots(page, tmp_path):
    """The main screens, at 1280x900 (into $ZHQA_SCREENSHOTS_DIR when set)."""
    out = Path(os.environ.get("ZHQA_SCREENSHOTS_DIR") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    ask(page, QINGXU)
    page.wait_for_timeout(300)
    page.screenshot(path=str(out / "chat.png"))
    page.click("#zq-chat .zq-snippet a.zq-cite")
    page.wait_for_function("document.querySelector('#zq-article mark#zq-hl') !== null")
    page.wait_for_timeout(400)
    page.screenshot(path=str(out / "article.png"))
    page.evaluate("document.querySelector('#zq-why-title').scrollIntoView({block: 'start'})")
    page.wait_for_timeout(200)
    page.screenshot(path=str(out / "why.png"))
    page.evaluate("document.querySelector('#zq-mode').scrollIntoView({block: 'end'})")
    open_tab(page, "语料 Corpus")
    page.locator("#zq-corpus a.zq-cite").nth(4).click()
    page.wait_for_function("document.querySelector('#zq-corpus-article .zq-article') !== null")
    page.wait_for_timeout(300)
    page.screenshot(path=str(out / "corpus.png"))
    for name in ("chat", "article", "why", "corpus"):
        assert (out / f"{name}.png").stat().st_size > 10_000


def test_simplified_question_finds_traditional_article_and_cites_it(page):
    answer = ask(page, QINGXU)
    text = answer.inner_text()
    assert "韻達快遞物流園" in text  # the verbatim extract, in its traditional script
    assert "[1]" in text and "来源 Sources" in text
    assert "黨旗所指" in text and "太原晚報" in text and "2022-04-17" in text
    assert QINGXU_DOC in text
    assert "韻達快遞物流園" in answer.locator(".zq-source mark").first.inner_text()
    assert "为何" not in text  # answered: no "no answer" hint
    # why these passages: the matched terms and the scores of each passage
    why = page.inner_text("#zq-why")
    assert QINGXU in why and "初筛" in why and "BM25" in why and "#1" in why


def test_citation_opens_the_article_scrolled_to_the_passage(page, served):
    answer = ask(page, QINGXU)
    snippet = answer.locator(".zq-snippet").first.inner_text().rsplit("[1]", 1)[0].strip()
    answer.locator(".zq-snippet a.zq-cite").first.click()
    page.wait_for_selector("#zq-article mark#zq-hl")
    assert page.inner_text("#zq-article mark#zq-hl").strip() == snippet
    doc = served[1].data().documents[QINGXU_DOC]
    article = page.inner_text("#zq-article .zq-text")
    assert article.splitlines()[0].strip() == doc.text.splitlines()[0].strip()  # the whole article
    assert doc.text.rstrip().splitlines()[-1].strip() in article
    assert "\n" in article  # its line breaks kept
    page.wait_for_function("(v) => { const m = document.querySelector(v + ' mark#zq-hl'); return m !== null; }", arg="#zq-article")
    deadline = time.time() + 5
    while not mark_in_view(page, "#zq-article") and time.time() < deadline:
        page.wait_for_timeout(100)
    assert mark_in_view(page, "#zq-article")


def test_follow_up_question_uses_the_conversation(page):
    page.get_by_role("button", name="董健是谁？", exact=True).click()  # an example question asks at once
    page.wait_for_function("document.querySelectorAll('#zq-chat .zq-answer').length === 1", timeout=ANSWER_TIMEOUT)
    assert "董健" in page.inner_text("#zq-chat .zq-answer")
    answer = ask(page, "他的妻子是做什么的？")
    text = answer.inner_text()
    assert "按上文理解为：董健的妻子是做什么的？" in text
    assert "居委会主任" in text
    # a new chat forgets the conversation
    page.click("#zq-clear")
    page.wait_for_function("document.querySelectorAll('#zq-chat .zq-answer').length === 0")
    answer = ask(page, "他的妻子是做什么的？")
    assert "按上文理解为" not in answer.inner_text()


def test_uploaded_document_becomes_searchable(page, served, tmp_path):
    _, qa, index_dir = served
    fact = "星河镇的吉祥物是一只名叫阿蓝的蓝色水獭，由镇长王晓梅在2026年11月亲自选定。"
    upload = tmp_path / "星河镇 <b>新闻<i>.txt"
    upload.write_text(f"星河镇新闻\n\n2026年11月20日 来源：测试日报\n\n{fact}\n\n"
                      "网友留言：<script>alert(2)</script><img src=x onerror=alert(3)>\n", encoding="utf-8")
    refused = tmp_path / "setup.exe"
    refused.write_bytes(b"MZ")
    junk = tmp_path / "junk.txt"
    junk.write_bytes(bytes(range(256)) * 8)  # not text: refused by the loader, not kept
    before = len(qa.documents())
    open_tab(page, "添加文档 Add documents")
    page.set_input_files("#zq-files input[type=file]", [str(upload), str(refused), str(junk)])
    page.wait_for_timeout(500)
    page.click("#zq-upload")
    page.wait_for_function("document.querySelector('#zq-upload-report').innerText.includes('Indexed')", timeout=ANSWER_TIMEOUT)
    report = page.inner_text("#zq-upload-report")
    assert "新增 added 1" in report and "setup.exe" in report and "junk.txt: not a text file" in report
    assert len(qa.documents()) == before + 1
    saved = list((index_dir / "uploads").iterdir())
    assert len(saved) == 1 and saved[0].suffix == ".txt" and "星河" not in saved[0].name
    # the corpus list knows it without a restart
    open_tab(page, "语料 Corpus")
    page.wait_for_selector("#zq-corpus a.zq-cite")
    assert "星河镇新闻" in page.inner_text("#zq-corpus")
    open_tab(page, "对话 Chat")
    answer = ask(page, "星河镇的吉祥物是什么？")
    assert "阿蓝的蓝色水獭" in answer.inner_text()
    uploaded = next(d for d in qa.documents() if d.uploaded)  # cited by its upload id, marked as uploaded
    assert uploaded.id.startswith("upload/") and uploaded.id in answer.inner_text() and "上传 uploaded" in answer.inner_text()
    # its markup is text in the article view
    answer.locator(".zq-snippet a.zq-cite").first.click()
    page.wait_for_selector("#zq-article mark#zq-hl")
    article = page.inner_text("#zq-article")
    assert "<script>alert(2)</script><img src=x onerror=alert(3)>" in article
    assert page.locator("#zq-article img, #zq-article script").count() == 0
    page.wait_for_timeout(300)
    assert page.dialogs == []


def test_html_in_a_question_is_shown_as_text(page):
    answer = ask(page, INJECTION)
    # The why-panel is a second output of the same event: wait for it, not for a fixed time.
    page.wait_for_function("(q) => document.querySelector('#zq-why').innerText.includes(q)", arg=INJECTION,
                           timeout=ANSWER_TIMEOUT)
    assert page.dialogs == []
    chat = page.inner_text("#zq-chat")
    assert INJECTION in chat
    assert page.locator("#zq-chat img").count() == 0
    assert "董健" in answer.inner_text()
    assert INJECTION in page.inner_text("#zq-why")
    assert page.locator("#zq-why img").count() == 0


def test_settings_mode_passages_and_article_filter(page):
    page.get_by_text("关键词 BM25").click()
    page.fill("#zq-k input[type=number]", "2")
    page.press("#zq-k input[type=number]", "Enter")
    page.click("#zq-docs input")
    page.keyboard.type("奔走在社区")
    page.wait_for_timeout(300)
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    ask(page, QINGXU)
    page.wait_for_function("(q) => document.querySelector('#zq-why').innerText.includes(q)", arg=QINGXU,
                           timeout=ANSWER_TIMEOUT)
    why = page.inner_text("#zq-why")
    assert "bm25" in why
    hits = page.locator("#zq-why .zq-hit")
    assert hits.count() == 2
    for i in range(2):  # only the chosen article: the one about 董健, not the one about 清徐
        assert "奔走在社区" in hits.nth(i).inner_text()


def test_bad_input_is_a_warning_not_a_crash(page):
    page.click("#zq-ask")  # empty
    page.get_by_text("问题为空").first.wait_for(timeout=10_000)
    page.fill("#zq-question textarea", "长" * 2001)
    page.click("#zq-ask")
    page.get_by_text("2001 characters").first.wait_for(timeout=10_000)
    assert page.locator("#zq-chat .zq-answer").count() == 0
    assert "语料中没有答案" in ask(page, "今天的天气怎么样？").inner_text()
    assert "韻達快遞物流園" in ask(page, QINGXU).inner_text()


def test_feedback_is_appended_to_feedback_jsonl(page, served):
    feedback = served[2] / "feedback.jsonl"
    before = feedback.read_text(encoding="utf-8").splitlines() if feedback.exists() else []
    ask(page, QINGXU)
    page.locator("#zq-chat button[aria-label='Like']").last.click()
    deadline = time.time() + 10
    while time.time() < deadline and len(feedback.read_text(encoding="utf-8").splitlines() if feedback.exists() else []) == len(before):
        time.sleep(0.1)
    lines = feedback.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(before) + 1
    record = json.loads(lines[-1])
    assert record["rating"] == "up" and record["question"] == QINGXU and record["answered"] is True
    assert record["snippets"][0]["doc_id"] == QINGXU_DOC and "韻達快遞物流園" in record["snippets"][0]["text"]
    assert {"timestamp", "start", "end"} <= set(record) | set(record["snippets"][0])


def test_gradio_client_ask_returns_the_cli_json(served):
    from gradio_client import Client

    url, qa, _ = served
    client = Client(url, verbose=False)
    result = client.predict(QINGXU, "hybrid", 5, api_name="/ask")
    assert result == qa.ask(QINGXU, k=5, mode="hybrid").to_json()
    assert set(result) == {"question", "answered", "span_shown", "confidence", "answer", "snippets", "passages"}
    assert result["answered"] and result["snippets"][0]["doc_id"] == QINGXU_DOC
    assert client.predict("董健是谁？", api_name="/ask")["answered"]  # mode and k have defaults
    with pytest.raises(Exception, match="question is empty"):
        client.predict("", "hybrid", 5, api_name="/ask")
    with pytest.raises(Exception, match="Unknown retrieval mode"):
        client.predict(QINGXU, "fuzzy", 5, api_name="/ask")
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert list(endpoints) == ["/ask"]  # the UI's own handlers are private


def test_evaluate_tab_runs_the_seed_set_and_a_failure_is_asked_in_the_chat(page, tmp_path):
    """Evaluate tab: the seed set in hybrid mode against the app's index; metrics, plot,
    failures; a failure clicked is asked in the chat like a typed question."""
    open_tab(page, "评测 Evaluate")
    assert page.input_value("#zq-eval-file input") == "seeds.jsonl"
    page.get_by_text("混合 Hybrid").last.click()
    page.click("#zq-eval-run")
    page.wait_for_function("document.querySelector('#zq-eval-failures table, #zq-eval-failures p') !== null",
                           timeout=EVAL_TIMEOUT)
    metrics = page.inner_text("#zq-eval-metrics")
    assert re.search(r"recall@1\s+[01]\.\d{3}", metrics), metrics
    for name in ("recall@5", "recall@10", "mrr@10", "ndcg@10", "answer@1", "abstain", "hybrid"):
        assert name in metrics
    assert "dense" not in metrics and "eval/seeds.jsonl" in page.inner_text("#zq-eval-summary")
    assert page.locator("#zq-eval-plot svg polyline").count() == 1
    assert "factoid" in page.inner_text("#zq-eval-types")
    failures = page.locator("#zq-eval-failures tr.zq-failure")
    assert failures.count() >= 1
    row = failures.first.inner_text()
    assert re.search(r"rank \d+|not retrieved|answered, should abstain", row), row
    out = Path(os.environ.get("ZHQA_SCREENSHOTS_DIR") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.querySelector('#zq-eval-summary').scrollIntoView({block: 'start'})")  # results, failures
    page.wait_for_timeout(300)  # the look of the screenshot only
    page.screenshot(path=str(out / "evaluate.png"))
    assert (out / "evaluate.png").stat().st_size > 10_000

    link = failures.first.locator("a.zq-ask")
    asked = link.inner_text().strip()
    link.click()
    page.wait_for_function("document.querySelectorAll('#zq-chat .zq-answer').length === 1", timeout=ANSWER_TIMEOUT)
    assert page.locator("#zq-chat").is_visible() and not page.locator("#zq-eval-run").is_visible()
    assert page.inner_text("#zq-chat .zq-question").strip() == asked
    answer = page.inner_text("#zq-chat .zq-answer")
    assert "来源 Sources" in answer or "语料中没有答案" in answer
    page.wait_for_function("(q) => document.querySelector('#zq-why').innerText.includes(q)", arg=asked, timeout=ANSWER_TIMEOUT)
    assert page.dialogs == []


def test_evaluate_tab_bad_question_file_is_a_warning(page, served, tmp_path):
    """An uploaded question file that is not one: a one-line warning naming the file as
    the user knows it, nothing shown as HTML, nothing kept on the server."""
    bad = tmp_path / "坏<b>题目<i>.jsonl"
    bad.write_text('{"id": "a", "question": "董健是谁？", "doc": null, "answer": null}\n{"oops": "<img src=x onerror=alert(1)>"}\n',
                   encoding="utf-8")
    open_tab(page, "评测 Evaluate")
    page.set_input_files("#zq-eval-upload input[type=file]", str(bad))
    page.wait_for_timeout(500)  # as in the documents upload test: let the file land
    page.click("#zq-eval-run")
    page.get_by_text("is not a question record").first.wait_for(timeout=ANSWER_TIMEOUT)
    toast = page.get_by_text("is not a question record").first.inner_text()
    # named as uploaded (Gradio itself drops the < > from uploaded names), not by the server's path
    assert re.search(r"坏\W?b\W?题目\W?i\W?\.jsonl:2 is not a question record", toast), toast
    assert str(served[2]) not in toast and "eval-uploads" not in toast
    assert page.locator("[role=alert] b, [role=alert] img").count() == 0
    assert page.locator("#zq-eval-metrics table").count() == 0
    assert not list((served[2] / "eval-uploads").glob("*"))
    assert page.dialogs == []
