"""The OpenAI-compatible API and the MCP server, with the official ``openai`` and ``mcp``
clients against the real chat server (qa.web's build_app and launch, as app.py and qa serve run them) on 127.0.0.1, serving a
copy of the seeds index with the real model; ``qa mcp`` over stdio as a subprocess.

Every citation a client receives is checked against its article: text == article[start:end].
The server runs with keys, so every client sends one; the key tests send none or a wrong one.
"""
from __future__ import annotations

import asyncio
import json
import shutil
import socket
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

openai = pytest.importorskip("openai")
mcp = pytest.importorskip("mcp")

KEY, OTHER_KEY = "test-key-1", "test-key-2"
QINGXU = "清徐县是在哪里发现初筛阳性人员的？"
QINGXU_DOC = "002_55bd9ca71670d804.txt"
CITATION_FIELDS = {"doc_id", "title", "outlet", "date", "url", "start", "end", "text", "score"}
TOOLS = {"ask", "search", "get_article", "list_articles"}

pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory, seeds_index_dir, encoder):
    """(base URL, QA) of the chat server with the API and MCP, keys KEY and OTHER_KEY."""
    from qa.api.server import Api
    from qa.engine import QA
    from qa.settings import Settings

    index_dir = tmp_path_factory.mktemp("api") / "index"
    shutil.copytree(seeds_index_dir, index_dir)
    qa = QA(Settings(index_dir=index_dir), encoder=encoder)
    from qa.web.app import build_app
    from qa.serve import launch

    blocks = build_app(qa, read_only=True)
    for attempt in range(3):  # the free port may be taken between finding it and binding it: try another
        port = _free_port()
        try:
            launch(blocks, "127.0.0.1", port, api=Api(qa, (KEY, OTHER_KEY), "127.0.0.1"), prevent_thread_lock=True, quiet=True)
            break
        except OSError:
            if attempt == 2:
                raise
    try:
        yield f"http://127.0.0.1:{port}", qa
    finally:
        blocks.close()


@pytest.fixture(scope="module")
def client(served):
    return openai.OpenAI(base_url=f"{served[0]}/v1", api_key=KEY, max_retries=0, timeout=120)


def check_citations(qa, cited: list[dict]) -> None:
    documents = qa.data().documents
    for c in cited:
        assert CITATION_FIELDS <= set(c), c
        assert documents[c["doc_id"]].text[c["start"]:c["end"]] == c["text"]
        assert c["title"] == documents[c["doc_id"]].title and c["outlet"] == documents[c["doc_id"]].source


def corpus_state(qa) -> tuple:
    return qa.folder.generation(), tuple(sorted(qa.data().documents))


# -- OpenAI -------------------------------------------------------------------------------
def test_models_list(client):
    assert [m.id for m in client.models.list().data] == ["zhqa", "zhqa-dense", "zhqa-bm25"]


def test_chat_completion_cites_exact_spans(client, served):
    reply = client.chat.completions.create(model="zhqa", messages=[{"role": "user", "content": QINGXU}],
                                           temperature=0.2, max_tokens=5, top_p=0.9)  # ignored, not refused
    message = reply.choices[0].message
    assert reply.model == "zhqa" and reply.choices[0].finish_reason == "stop" and message.role == "assistant"
    assert message.answered is True and message.citations
    assert message.citations[0]["doc_id"] == QINGXU_DOC
    check_citations(served[1], message.citations)
    for c in message.citations:  # each extract is in the content after its marker
        assert f"[{c['n']}] “{c['text']}”" in message.content


def test_follow_up_is_read_after_the_earlier_user_messages(client, served):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "董健是谁？"},
                {"role": "assistant", "content": "…"}, {"role": "user", "content": [{"type": "text", "text": "他的妻子是做什么的？"}]}]
    message = client.chat.completions.create(model="zhqa", messages=messages).choices[0].message
    alone = client.chat.completions.create(model="zhqa", messages=[messages[-1]]).choices[0].message
    assert "董健" in message.asked and getattr(alone, "asked", None) is None
    check_citations(served[1], message.citations)


def test_streaming(client, served):
    stream = client.chat.completions.create(model="zhqa-bm25", messages=[{"role": "user", "content": QINGXU}], stream=True)
    text, cited, finishes = [], None, []
    for chunk in stream:
        delta = chunk.choices[0].delta
        text.append(delta.content or "")
        cited = getattr(delta, "citations", None) or cited
        finishes.append(chunk.choices[0].finish_reason)
        assert chunk.model == "zhqa-bm25"
    whole = client.chat.completions.create(model="zhqa-bm25", messages=[{"role": "user", "content": QINGXU}]).choices[0].message
    assert "".join(text) == whole.content and cited == whole.citations and finishes[-1] == "stop"
    check_citations(served[1], cited)


def test_stream_ends_with_done(served):
    with httpx.stream("POST", f"{served[0]}/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}"}, timeout=120,
                      json={"model": "zhqa", "messages": [{"role": "user", "content": "董健是谁？"}], "stream": True}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [line for line in r.iter_lines() if line]
    assert events[-1] == "data: [DONE]" and all(e.startswith("data: ") for e in events)
    json.loads(events[0][6:])


def test_no_answer_is_said(client, served):
    from qa.api.citations import answer_text
    from qa.records import Answer

    question = "火星上的第一座城市叫什么名字？"
    message = client.chat.completions.create(model="zhqa", messages=[{"role": "user", "content": question}]).choices[0].message
    assert message.answered == served[1].ask(question).answered  # the library's verdict, unchanged
    said = answer_text(Answer(question, False, (), ()))
    assert "no answer" in said and "[" not in said
    if not message.answered:  # one line, no extracts
        assert message.content == said and message.citations == []


# -- keys -----------------------------------------------------------------------------------
def test_keys_are_enforced(served):
    url = f"{served[0]}/v1/models"
    none = httpx.get(url)
    assert none.status_code == 401 and none.json()["error"]["code"] == "missing_api_key"
    wrong = httpx.get(url, headers={"Authorization": "Bearer not-a-key"})
    assert wrong.status_code == 403 and set(wrong.json()["error"]) >= {"message", "type", "code"}
    assert httpx.get(url, headers={"Authorization": f"Bearer {OTHER_KEY}"}).status_code == 200
    mcp_none = httpx.post(f"{served[0]}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert mcp_none.status_code == 401
    with pytest.raises(openai.PermissionDeniedError):
        openai.OpenAI(base_url=f"{served[0]}/v1", api_key="wrong", max_retries=0).models.list()
    assert httpx.get(f"{served[0]}/").status_code == 200  # the chat itself is not behind the keys


def test_wrong_keys_are_slowed():
    from qa.api.keys import KeyGuard
    from qa.web.login import LoginLimiter

    async def ok(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    guard = KeyGuard(ok, (KEY,), LoginLimiter(free=2, first_wait=60))

    async def statuses():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(guard), base_url="http://t") as c:
            wrong = {"Authorization": "Bearer nope"}
            return [(await c.get("/v1/models", headers=h)).status_code for h in (wrong, wrong, {"Authorization": f"Bearer {KEY}"})]

    assert asyncio.run(statuses()) == [403, 403, 429]  # even the right key waits its turn, unchecked


def test_keys_from_flags_and_environment_and_beyond_loopback(monkeypatch):
    from qa.api.keys import configured, refusal
    from qa.api.server import serve_api

    monkeypatch.delenv("ZHQA_API_KEYS", raising=False)

    assert configured(["a", " b "], {"ZHQA_API_KEYS": "c, a,,"}) == ("a", "b", "c")
    assert refusal("127.0.0.1", ()) is None and refusal("localhost", ()) is None and refusal("::1", ()) is None
    assert refusal("0.0.0.0", ("k",)) is None
    said = []
    assert serve_api(None, "0.0.0.0", [], "http://0.0.0.0:1", said.append) is None
    assert len(said) == 1 and "--api-key" in said[0]


def test_app_takes_api_keys():
    app = pytest.importorskip("app")
    assert app.parse_args(["--api-key", "a", "--api-key", "b"]).api_key == ["a", "b"]


# -- bad input --------------------------------------------------------------------------------
BAD = [
    (b"{not json", 400, "invalid_json"),
    (b"[1, 2]", 400, "invalid_request"),
    (json.dumps({"model": "zhqa"}).encode(), 400, "missing_messages"),
    (json.dumps({"model": "zhqa", "messages": []}).encode(), 400, "missing_messages"),
    (json.dumps({"model": "zhqa", "messages": [{"role": "assistant", "content": "hi"}]}).encode(), 400, "missing_question"),
    (json.dumps({"model": "zhqa", "messages": [{"role": "user", "content": 42}]}).encode(), 400, "content_not_text"),
    (json.dumps({"model": "zhqa", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]}).encode(), 400, "content_not_text"),
    (json.dumps({"model": "zhqa", "messages": [{"role": "user", "content": "   "}]}).encode(), 400, "invalid_request"),
    (json.dumps({"model": "zhqa", "messages": [{"role": "user", "content": "董健是谁？"}], "k": "many"}).encode(), 400, "invalid_request"),
    (json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "董健是谁？"}]}).encode(), 404, "model_not_found"),
    (b'{"model": "zhqa", "messages": [{"role": "user", "content": "\\ud800"}]}', 400, "invalid_request"),
    (b'{"model": "zhqa", "messages": [{"role": "user", "content": "x' + b"y" * (1 << 20) + b'"}]}', 413, "body_too_large"),
]


@pytest.mark.parametrize("body,status,code", BAD, ids=["malformed", "not-object", "no-messages", "empty-messages", "no-user",
                                                       "number", "image", "blank", "bad-k", "unknown-model", "surrogate", "huge"])
def test_bad_requests_get_one_line_errors(served, body, status, code):
    before = corpus_state(served[1])
    r = httpx.post(f"{served[0]}/v1/chat/completions", content=body, timeout=60,
                   headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code and error["type"] and "\n" not in error["message"] and "Traceback" not in error["message"]
    assert corpus_state(served[1]) == before


def test_lone_surrogates_in_a_question_are_answered(served):
    body = b'{"model": "zhqa", "messages": [{"role": "user", "content": "\\ud800' + QINGXU.encode() + b'\\udfff"}]}'
    r = httpx.post(f"{served[0]}/v1/chat/completions", content=body, timeout=60,
                   headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
    assert r.status_code == 200
    check_citations(served[1], r.json()["choices"][0]["message"]["citations"])


def test_unknown_routes_and_methods(served):
    h = {"Authorization": f"Bearer {KEY}"}
    assert httpx.get(f"{served[0]}/v1/embeddings", headers=h).json()["error"]["code"] == "not_found"
    assert httpx.get(f"{served[0]}/v1/chat/completions", headers=h).status_code == 405


@pytest.mark.slow
def test_a_hundred_requests_at_once(served, client):
    before = corpus_state(served[1])
    body = {"model": "zhqa-bm25", "messages": [{"role": "user", "content": QINGXU}]}

    def post(_):
        r = httpx.post(f"{served[0]}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {KEY}"}, timeout=300)
        return r.status_code, r.json()

    with ThreadPoolExecutor(100) as pool:
        results = list(pool.map(post, range(100)))
    assert all(status in (200, 429) for status, _ in results)
    answered = [b for status, b in results if status == 200]
    assert answered and all(b["choices"][0]["message"]["citations"][0]["doc_id"] == QINGXU_DOC for b in answered)
    assert all("error" in b for status, b in results if status == 429)
    assert client.models.list().data and corpus_state(served[1]) == before  # still serving, nothing written


# -- MCP ------------------------------------------------------------------------------------
async def exercise_tools(session, qa) -> None:
    """List the tools and call each, checking every citation against its article."""
    listed = await session.list_tools()
    assert {t.name for t in listed.tools} == TOOLS
    for tool in listed.tools:
        assert "verbatim" in tool.description or tool.name in ("get_article", "list_articles")
        assert any("\u4e00" <= ch <= "\u9fff" for ch in tool.description)
    asked = await session.call_tool("ask", {"question": QINGXU})
    result = asked.structured_content
    assert not asked.is_error and result["answered"] and result["citations"][0]["doc_id"] == QINGXU_DOC
    check_citations(qa, result["citations"])
    span = result["answer"]
    if span is not None:
        assert qa.data().documents[span["doc_id"]].text[span["start"]:span["end"]] == span["text"]
    follow = (await session.call_tool("ask", {"question": "他的妻子是做什么的？", "history": ["董健是谁？"], "k": 3, "mode": "hybrid"}))
    assert "董健" in follow.structured_content["asked"]
    found = (await session.call_tool("search", {"query": QINGXU, "k": 3, "article_ids": [QINGXU_DOC]})).structured_content
    assert len(found["passages"]) >= 1 and {p["doc_id"] for p in found["passages"]} == {QINGXU_DOC}
    check_citations(qa, found["passages"])
    page = (await session.call_tool("list_articles", {"offset": 0, "limit": 2})).structured_content
    assert page["total"] == len(qa.data().documents) and len(page["articles"]) == 2 and page["next_offset"] == 2
    article = (await session.call_tool("get_article", {"doc_id": QINGXU_DOC})).structured_content
    assert article["text"] == qa.data().documents[QINGXU_DOC].text and article["chars"] == len(article["text"])
    for name, arguments, says in [("nope", {}, "no tool"), ("ask", {"question": QINGXU, "colour": "red"}, "no argument"),
                                  ("ask", {"question": QINGXU, "k": "many"}, "not valid"), ("ask", {"question": " "}, "empty"),
                                  ("ask", {"question": QINGXU, "k": 0}, "k is 0"), ("get_article", {"doc_id": "nope"}, "list_articles"),
                                  ("list_articles", {"limit": 10**6}, "at most")]:
        failed = await session.call_tool(name, arguments)
        text = failed.content[0].text
        assert failed.is_error and says in text and "\n" not in text and "Traceback" not in text, (name, arguments, text)


def test_mcp_over_streamable_http(served):
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    before = corpus_state(served[1])

    async def run():
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {KEY}"})
        async with http, Client(streamable_http_client(f"{served[0]}/mcp", http_client=http)) as session:
            await exercise_tools(session, served[1])

    asyncio.run(run())
    assert corpus_state(served[1]) == before


MCP_HEADERS = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


def _call(question_json: bytes) -> bytes:
    return (b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "ask", "arguments": {"question": '
            + question_json + b'}}}')


@pytest.mark.parametrize("body,status", [(b"{not json", 400), (_call(b'"\\ud800"'), 400), (_call(b'"' + b"x" * (5 << 20) + b'"'), 413)],
                         ids=["malformed", "surrogate", "huge"])
def test_mcp_refuses_bad_messages_and_keeps_serving(served, body, status):
    """What no MCP client sends (the SDK's own client cannot even encode a lone surrogate),
    sent raw: one refusal each, the server keeps serving, the corpus is unchanged."""
    before = corpus_state(served[1])
    r = httpx.post(f"{served[0]}/mcp", content=body, headers=MCP_HEADERS, timeout=60)
    assert r.status_code == status and "Traceback" not in r.text and len(r.text) < 300
    if r.headers.get("content-type", "").startswith("application/json"):
        assert r.json()["error"]["message"]
    ok = httpx.post(f"{served[0]}/mcp", content=_call(json.dumps(QINGXU).encode()), headers=MCP_HEADERS, timeout=60)
    assert ok.status_code == 200 and ok.json()["result"]["structuredContent"]["answered"]
    assert corpus_state(served[1]) == before


@pytest.mark.slow
def test_mcp_over_stdio(qa_bin, cli_env, seeds_index_dir, tmp_path, seeds_qa):
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    index_dir = tmp_path / "index"
    shutil.copytree(seeds_index_dir, index_dir)
    params = StdioServerParameters(command=qa_bin, args=["mcp", "--index-dir", str(index_dir)], env=cli_env)

    async def run():
        async with Client(params, read_timeout_seconds=300) as session:
            await exercise_tools(session, seeds_qa)

    asyncio.run(run())
