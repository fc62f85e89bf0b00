"""The measurement behind docs/api.md's choice of MCP server: Gradio's own (``mcp_server=True``)
against the official SDK's MCPServer mounted at /mcp, on the same index, in one run.

Gradio 6.31's ``mcp`` extra pins mcp<2 and pydantic<=2.12.5, so its server runs in a child
process with those on its path, serving the chat as it was before the API (``app.py`` of the
given commit); ours is ``python app.py`` in another. Each question is asked in turn in this
process (``QA.ask``), through our /mcp and through Gradio's /gradio_api/mcp/, by plain
JSON-RPC POSTs on kept-open connections, so the three share the machine's load alike.

    pip install --target /tmp/gradio-mcp --no-deps mcp==1.30.0 pydantic==2.12.5 pydantic_core==2.41.5 \\
        httpx-sse==0.4.3 pydantic-settings==2.16.3
    git show e61e910:app.py > /tmp/app-before/app.py
    python docs/measure_mcp_choice.py /tmp/gradio-mcp /tmp/app-before INDEX_DIR
"""
from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

PROJECT = Path(__file__).resolve().parents[1]
CHILD = """
import sys, time
sys.path.insert(0, {app_dir!r})
import app
from qa.engine import QA
from qa.settings import Settings
qa = QA(Settings(index_dir={index!r}))
qa.ask("董健是谁？")
blocks = app.build_app(qa, read_only=True)
blocks.launch(server_name="127.0.0.1", server_port={port}, prevent_thread_lock=True, quiet=True, mcp_server=True)
print("ready", flush=True)
time.sleep(3600)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(client: httpx.Client, url: str, question: str) -> tuple[float, str]:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "ask", "arguments": {"question": question}}}
    start = time.perf_counter()
    r = client.post(url, json=body, headers={"Accept": "application/json, text/event-stream"})
    return time.perf_counter() - start, r.text


def main(gradio_path: str, app_dir: str, index: str, n: int = 20, rounds: int = 3) -> None:
    from qa.engine import QA
    from qa.settings import Settings

    questions = [json.loads(line)["question"] for line in (PROJECT / "eval" / "seeds.jsonl").read_text(encoding="utf-8").splitlines()
                 if line.strip()][:n]
    gradio_port, our_port = free_port(), free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([gradio_path, str(PROJECT)])}
    child = subprocess.Popen([sys.executable, "-c", CHILD.format(app_dir=app_dir, index=index, port=gradio_port)],
                             env=env, stdout=subprocess.PIPE, text=True)
    server = subprocess.Popen([sys.executable, str(PROJECT / "app.py"), "--port", str(our_port), "--index-dir", index],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for line in child.stdout:  # Gradio prints its MCP URL first
            if line.strip() == "ready":
                break
        ours, gradios = f"http://127.0.0.1:{our_port}/mcp", f"http://127.0.0.1:{gradio_port}/gradio_api/mcp/"
        for _ in range(120):
            try:
                if httpx.get(f"http://127.0.0.1:{our_port}/v1/models").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(1)
        qa = QA(Settings(index_dir=Path(index)))
        with httpx.Client(timeout=120) as a, httpx.Client(timeout=120) as b:
            for q in questions[:5]:  # warm up all three
                qa.ask(q), call(a, ours, q), call(b, gradios, q)
            times = {"QA.ask": [], "ours /mcp": [], "Gradio mcp_server": []}
            for _ in range(rounds):
                for q in questions:
                    start = time.perf_counter()
                    qa.ask(q)
                    times["QA.ask"].append(time.perf_counter() - start)
                    times["ours /mcp"].append(call(a, ours, q)[0])
                    times["Gradio mcp_server"].append(call(b, gradios, q)[0])
            base = statistics.median(times["QA.ask"])
            for name, values in times.items():
                p50 = statistics.median(values)
                print(f"{name:18s} p50 {p50 * 1000:6.1f} ms  (+{(p50 - base) * 1000:5.1f} ms, {(p50 / base - 1) * 100:+.0f}%)")
            print("Gradio's answer to tools/call:", call(b, gradios, questions[0])[1][:160].replace("\n", " "))
            print("ours:", call(a, ours, questions[0])[1][:160])
    finally:
        child.kill()
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main(*sys.argv[1:4])
