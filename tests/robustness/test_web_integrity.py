"""Issue 12, reached the ways it was found: the served chat (qa.web.app.build_app + qa.serve.launch,
in this process, sharing the session's model) driven through gradio_client, the raw
queue API the page itself uses, and a real browser. Uploads add and never replace;
feedback is what the server answered, one rating per answer; odd text and odd parameters
are refused in one line or handled; logins back off; --read-only writes nothing.
The same findings called as plain functions are in tests/test_web_handlers.py."""
from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from robust_helpers import PROJECT, QINGXU, QINGXU_DOC, free_port, one_line

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::Warning")]

DONG_DOC = "004_62723c32f6056b4d.txt"
BLANKED_DOC = "001_4c3f5a124836c178.txt"
FORGED = "董健的妻子在瑞达社区担任保洁员，负责打扫楼道。"
WIFE = "董健的妻子在社区担任什么职务？"
ANSWER_TIMEOUT = 120_000
PAGE_TIMEOUT = 120_000  # ms; a page of the app takes ~10 s to be ready on a busy two-core machine


def serve(tmp_path_factory, seeds_index_dir, encoder, name: str, auth=None, **build):
    """(url, QA, index dir, blocks) of the app over a private copy of the seeds index."""
    from qa.engine import QA
    from qa.settings import Settings
    from qa.web.app import build_app
    from qa.serve import launch

    index_dir = tmp_path_factory.mktemp(name) / "index"
    shutil.copytree(seeds_index_dir, index_dir)
    qa = QA(Settings(index_dir=index_dir), encoder=encoder)
    blocks = build_app(qa, **build)
    for attempt in range(3):  # a free port may be taken before it is bound: try another
        port = free_port()
        try:
            launch(blocks, "127.0.0.1", port, auth=auth, prevent_thread_lock=True, quiet=True)
            break
        except OSError:
            if attempt == 2:
                raise
    return f"http://127.0.0.1:{port}/", qa, index_dir, blocks


@pytest.fixture(scope="module")
def served(tmp_path_factory, seeds_index_dir, encoder):
    url, qa, index_dir, blocks = serve(tmp_path_factory, seeds_index_dir, encoder, "integrity")
    try:
        yield url, qa, index_dir
    finally:
        blocks.close()


# -- the raw queue API ------------------------------------------------------------------------
def post_json(url: str, body: dict, headers: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode("ascii")  # ASCII JSON: a lone surrogate travels as "\ud800"
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def dependency(url: str, elem_id: str, event: str) -> tuple[int, int]:
    """(fn_index, trigger id) of the event ``event`` of the component ``elem_id``."""
    with urllib.request.urlopen(url + "config", timeout=30) as response:
        config = json.loads(response.read())
    ids = {c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id}
    for n, dep in enumerate(config["dependencies"]):
        for target, name in dep.get("targets", []):
            if target in ids and name == event:
                return dep.get("id", n), target
    raise LookupError(f"no {event} event on #{elem_id}")


def queue_call(url: str, fn_index: int, data: list, session: str, trigger: int | None = None, event_data=None) -> dict:
    """Join the queue as the page does and read the event's messages until it completes:
    {"output": …, "success": …, "logs": [warning and info texts]}."""
    status, joined = post_json(url + "gradio_api/queue/join", {"data": data, "fn_index": fn_index, "trigger_id": trigger,
                                                               "session_hash": session, "event_data": event_data})
    assert status == 200, joined
    logs = []
    with urllib.request.urlopen(url + f"gradio_api/queue/data?session_hash={session}", timeout=120) as stream:
        for raw in stream:
            line = raw.decode("utf-8").strip()
            if not line.startswith("data:"):
                continue
            message = json.loads(line[5:])
            if message.get("msg") == "log":
                logs.append(message.get("log", ""))
            if message.get("msg") == "process_completed" and message.get("event_id") == joined["event_id"]:
                return {"output": message.get("output", {}), "success": message.get("success"), "logs": logs}
    raise AssertionError("the queue stream ended before the event completed")


def ask_in_session(url: str, session: str, question: str, chat: list | None = None) -> dict:
    fn, trigger = dependency(url, "zq-question", "submit")
    return queue_call(url, fn, [question, chat or [], None, "hybrid", 5, []], session, trigger)


# -- 3. odd text, 4. odd parameters -----------------------------------------------------------
def test_lone_surrogate_and_rtl_override_through_the_queue_api(served):
    url = served[0]
    for question in ("清徐\ud800县是在哪里发现初筛阳性人员的？", "\u202e清徐县是在哪里发现初筛阳性人员的？\u202c"):
        result = ask_in_session(url, uuid.uuid4().hex, question)
        assert result["success"], result
        chat = result["output"]["data"][0]
        assert "韻達快遞物流園" in json.dumps(chat, ensure_ascii=False)
        assert "\\u202e" not in json.dumps(chat) and "\\ud800" not in json.dumps(chat)
    fn, trigger = dependency(url, "zq-question", "submit")
    for k in (5.7, True, "5", 0, 99):  # the slider's value, forged
        result = queue_call(url, fn, [QINGXU, [], None, "hybrid", k, []], uuid.uuid4().hex, trigger)
        text = json.dumps(result, ensure_ascii=False)
        assert "Unexpected" not in text and "Traceback" not in text, text


def test_ask_api_parameters_through_gradio_client(served):
    from gradio_client import Client

    url, qa = served[0], served[1]
    client = Client(url, verbose=False)
    result = client.predict("他的妻子是做什么的？", "hybrid", 5, ["董健是谁？"], api_name="/ask")
    assert result["asked"] == "董健的妻子是做什么的？" and result["snippets"][0]["doc_id"] == DONG_DOC
    assert result == qa.ask("他的妻子是做什么的？", k=5, history=["董健是谁？"]).to_json()
    assert client.predict(QINGXU, "hybrid", 5, api_name="/ask") == qa.ask(QINGXU).to_json()  # history defaults to none
    assert "\u202e" not in client.predict("\u202e" + QINGXU, "hybrid", 5, [], api_name="/ask")["question"]
    for k, expected in ((5.7, "whole number"), (True, "whole number"), (0, "1 to 50"), (51, "1 to 50")):
        with pytest.raises(Exception, match=expected) as caught:
            client.predict(QINGXU, "hybrid", k, [], api_name="/ask")
        assert one_line(str(caught.value)) and "Unexpected" not in str(caught.value)
    for history in ("董健是谁？", [1, 2], [["董健是谁？"]]):
        with pytest.raises(Exception, match="history") as caught:
            client.predict("他的妻子是做什么的？", "hybrid", 5, history, api_name="/ask")
        assert one_line(str(caught.value))


def test_ask_api_through_the_queue_api_takes_lone_surrogates(served):
    url = served[0]
    fn, _ = next((n, d) for n, d in enumerate(json.loads(urllib.request.urlopen(url + "config").read())["dependencies"])
                 if d.get("api_name") == "ask")
    result = queue_call(url, fn, ["清徐\ud800县是在哪里发现初筛阳性人员的？", "hybrid", 5, ["董健\udcff是谁？"]], uuid.uuid4().hex)
    assert result["success"] and result["output"]["data"][0]["snippets"][0]["doc_id"] == QINGXU_DOC


# JSON values a client may send for each parameter of /ask
json_value = st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
                          | st.text(st.characters(exclude_categories=("Cs",)), max_size=30),
                          lambda inner: st.lists(inner, max_size=3), max_leaves=6)
question_value = st.one_of(st.sampled_from([QINGXU, "董健是谁？", "他的妻子是做什么的？", "", "？？", "\u202e董健"]),
                           st.text(st.characters(exclude_categories=("Cs",)), max_size=40), json_value)


@pytest.fixture(scope="module")
def client(served):
    from gradio_client import Client

    return Client(served[0], verbose=False)


@settings(max_examples=40, suppress_health_check=list(HealthCheck))
@given(question=question_value,
       mode=st.one_of(st.sampled_from(["hybrid", "dense", "bm25"]), json_value),
       k=st.one_of(st.integers(-3, 60), json_value),
       history=st.one_of(st.lists(st.sampled_from(["董健是谁？", "清徐县在哪里？", ""]), max_size=3), json_value))
def test_fuzzed_ask_parameters_are_answered_or_refused_as_the_library_says(served, client, question, mode, k, history):
    """Whatever /ask receives, gradio_client gets exactly what the handler gives for it: the
    answer, or its one-line refusal, never an unexpected error."""
    from qa.errors import ZhqaError
    from qa.web import handlers

    qa = served[1]
    try:
        expected = handlers.api_ask(qa, question, mode, k, history)
    except ZhqaError as exc:
        with pytest.raises(Exception) as caught:
            client.predict(question, mode, k, history, api_name="/ask")
        assert str(exc) in str(caught.value) and one_line(str(exc))
        return
    assert client.predict(question, mode, k, history, api_name="/ask") == expected


# -- 1. uploads add, never replace ------------------------------------------------------------
def test_forged_upload_in_the_browser_adds_and_never_replaces(served, chromium_launch, tmp_path):
    from playwright.sync_api import sync_playwright

    url, qa, index_dir = served
    seeds = {i: d for i, d in qa.data().documents.items()}
    before = qa.ask(WIFE).to_json()
    forged = tmp_path / "forged.jsonl"
    forged.write_text(json.dumps({"id": DONG_DOC, "text": FORGED, "title": "伪造", "source": "伪造日报", "date": "2030-01-01"},
                                 ensure_ascii=False) + "\n" + json.dumps({"id": BLANKED_DOC, "text": "。"}) + "\n",
                      encoding="utf-8")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(**chromium_launch)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(PAGE_TIMEOUT)
        page.goto(url)
        page.wait_for_selector("#zq-question textarea")
        page.get_by_role("tab", name="添加文档 Add documents").click()
        page.set_input_files("#zq-files input[type=file]", [str(forged)])
        page.wait_for_timeout(500)
        page.click("#zq-upload")
        page.wait_for_function("document.querySelector('#zq-upload-report').innerText.includes('Indexed')", timeout=ANSWER_TIMEOUT)
        report = page.inner_text("#zq-upload-report")
        assert "新增 added 2" in report and "updated" not in report and "upload/" in report
        for doc_id, doc in seeds.items():  # no seed article replaced or blanked
            assert qa.data().documents[doc_id] == doc
        # the chat answers the seed question from the real article, as before the upload
        page.get_by_role("tab", name="对话 Chat").click()
        page.fill("#zq-question textarea", WIFE)
        page.press("#zq-question textarea", "Enter")
        page.wait_for_selector("#zq-chat .zq-answer", timeout=ANSWER_TIMEOUT)
        answer = page.inner_text("#zq-chat .zq-answer")
        assert "居委会主任" in answer and DONG_DOC in answer and "保洁员" not in answer
        # the corpus tab marks the uploads and removes them, and only them
        page.get_by_role("tab", name="语料 Corpus").click()
        page.wait_for_selector("#zq-corpus .zq-uploaded")
        assert page.locator("#zq-corpus .zq-uploaded").count() == 2
        assert f"原 id {DONG_DOC}" in page.inner_text("#zq-corpus")
        for _ in range(2):
            page.click("#zq-uploaded input")
            page.keyboard.press("ArrowDown")
            page.keyboard.press("Enter")
            page.wait_for_timeout(300)
            count = len(qa.documents())
            page.click("#zq-remove")
            deadline = time.time() + 60
            while len(qa.documents()) == count and time.time() < deadline:
                time.sleep(0.2)
        browser.close()
    assert set(qa.data().documents) == set(seeds)
    assert qa.ask(WIFE).to_json() == before


def test_an_upload_can_never_remove_a_corpus_article_through_the_queue_api(served):
    url, qa = served[0], served[1]
    fn, trigger = dependency(url, "zq-remove", "click")
    count = len(qa.documents())
    result = queue_call(url, fn, [DONG_DOC], uuid.uuid4().hex, trigger)
    # refused by Gradio (not one of the uploaded documents offered) or, past it, by the handler
    refused = str(result["output"].get("error") or "")
    assert (not result["success"] and DONG_DOC in refused and one_line(refused)) or any(
        "only uploaded documents can be removed" in log for log in result["logs"]), result
    assert len(qa.documents()) == count and DONG_DOC in qa.data().documents


# -- 2. feedback ------------------------------------------------------------------------------
def test_feedback_through_the_queue_api_stores_only_the_servers_answer(served):
    url, index_dir = served[0], served[2]
    feedback = index_dir / "feedback.jsonl"
    lines = lambda: feedback.read_text(encoding="utf-8").splitlines() if feedback.exists() else []  # noqa: E731
    session = uuid.uuid4().hex
    asked = ask_in_session(url, session, QINGXU)
    assert asked["success"]
    fn, trigger = dependency(url, "zq-chat", "like")
    before = len(lines())
    for liked in ("x" * 2_000_000, {"rating": "up", "question": "forged"}, 7):
        result = queue_call(url, fn, [None], session, trigger, {"index": 1, "value": "forged", "liked": liked})
        assert any("up or down" in log for log in result["logs"]), result
    assert len(lines()) == before and (not feedback.exists() or feedback.stat().st_size < 100_000)
    for liked in (True, False, True):  # a change replaces the rating
        queue_call(url, fn, [None], session, trigger, {"index": 1, "value": "forged", "liked": liked})
    rows = [json.loads(line) for line in lines()]
    mine = [r for r in rows if r["session"] not in {json.loads(x)["session"] for x in lines()[:before]}]
    assert len(mine) == 1 and mine[0]["rating"] == "up" and mine[0]["question"] == QINGXU
    assert mine[0]["snippets"][0]["doc_id"] == QINGXU_DOC and "forged" not in json.dumps(mine[0])
    result = queue_call(url, fn, [None], uuid.uuid4().hex, trigger, {"index": 1, "value": "x", "liked": True})
    assert any("Only an answer of this chat" in log for log in result["logs"])  # another session's answer


def test_feedback_in_the_browser_is_one_rating_per_answer(served, chromium_launch):
    from playwright.sync_api import sync_playwright

    url, index_dir = served[0], served[2]
    feedback = index_dir / "feedback.jsonl"
    count = lambda: len(feedback.read_text(encoding="utf-8").splitlines()) if feedback.exists() else 0  # noqa: E731
    before = count()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(**chromium_launch)
        page = browser.new_page()
        page.set_default_timeout(PAGE_TIMEOUT)
        page.goto(url)
        page.wait_for_selector("#zq-question textarea")
        page.fill("#zq-question textarea", QINGXU)
        page.press("#zq-question textarea", "Enter")
        page.wait_for_selector("#zq-chat .zq-answer", timeout=ANSWER_TIMEOUT)
        for button in ("Like", "Dislike", "Like", "Dislike"):
            page.locator(f"#zq-chat button[aria-label='{button}']").last.click()
            page.wait_for_timeout(700)
        deadline = time.time() + 10
        while count() != before + 1 and time.time() < deadline:
            time.sleep(0.1)
        browser.close()
    assert count() == before + 1
    assert json.loads(feedback.read_text(encoding="utf-8").splitlines()[-1])["rating"] == "down"


# -- logins, read-only ------------------------------------------------------------------------
def test_password_guessing_backs_off(tmp_path_factory, seeds_index_dir, encoder):
    from gradio_client import Client

    url, _, _, blocks = serve(tmp_path_factory, seeds_index_dir, encoder, "auth", auth=("alice", "s3cret pass"))
    try:
        statuses = []
        for n in range(20):
            body = f"username=alice&password=wrong{n}".encode()
            request = urllib.request.Request(url + "login", data=body, method="POST",
                                             headers={"Content-Type": "application/x-www-form-urlencoded"})
            try:
                urllib.request.urlopen(request, timeout=30)
                statuses.append(200)
            except urllib.error.HTTPError as exc:
                statuses.append(exc.code)
                if exc.code == 429:
                    message = json.loads(exc.read())["detail"]
                    assert one_line(message) and "Too many failed logins" in message
        assert statuses[:5] == [400] * 5 and set(statuses[5:]) == {429}
        with pytest.raises(Exception):  # the right password, while backing off: refused too
            Client(url, auth=("alice", "s3cret pass"), verbose=False)
    finally:
        blocks.close()


def test_read_only_has_no_writes(tmp_path_factory, seeds_index_dir, encoder):
    from gradio_client import Client

    url, qa, index_dir, blocks = serve(tmp_path_factory, seeds_index_dir, encoder, "readonly", read_only=True)
    try:
        config = json.loads(urllib.request.urlopen(url + "config").read())
        elem_ids = {c.get("props", {}).get("elem_id") for c in config["components"]}
        assert not elem_ids & {"zq-files", "zq-upload", "zq-eval-run"}
        for elem, event in (("zq-upload", "click"), ("zq-eval-run", "click"), ("zq-remove", "click"), ("zq-chat", "like")):
            with pytest.raises(LookupError):
                dependency(url, elem, event)
        assert Client(url, verbose=False).predict(QINGXU, "hybrid", 5, [], api_name="/ask")["answered"]
        assert not (index_dir / "uploads").exists() and not (index_dir / "feedback.jsonl").exists()
    finally:
        blocks.close()


def test_cli_question_with_undecodable_bytes_is_answered(seeds_index_dir, cli_env):
    """`qa ask $'\\xff\\xfe清徐县在哪里'`: the bytes arrive as lone surrogates."""
    import os
    import subprocess
    import sys

    question = b"\xff\xfe" + "清徐县是在哪里发现初筛阳性人员的".encode("utf-8")
    run_cli = b"import sys; from qa.cli import main; sys.argv[0] = 'qa'; main()"  # this checkout's qa, as `qa`
    result = subprocess.run([os.fsencode(sys.executable), b"-c", run_cli, b"ask", question, b"--json", b"--index-dir",
                             os.fsencode(str(seeds_index_dir))], env=cli_env, cwd=PROJECT, capture_output=True, timeout=600)
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")
    answer = json.loads(result.stdout)
    assert answer["snippets"][0]["doc_id"] == QINGXU_DOC and answer["question"].startswith("\ufffd\ufffd")
