"""The API's cost: what the OpenAI-compatible route and MCP's ``ask`` tool add to a question
over ``QA.ask`` in process, and how many questions a second the chat server answers to one
and to 8 concurrent API clients (and, for comparison, to 8 through the chat's Gradio /ask).

The server is ``qa serve`` (what ``python app.py`` runs) in a process of its own, as deployed; each question is asked
in turn in this process (``QA.ask``), through /v1/chat/completions and through /mcp, each
client keeping its connection open as the ``openai`` and ``mcp`` clients do, so the three
share the machine's load alike. Target: the API adds at most 10% to QA.ask's p50. Beside the
p50 of every try, the p50 of each question's best of its rounds: on a machine others load, a
burst of their work lands on one try of three, and on a server process (woken several times a
request) more than on a call in process."""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from qa.bench.startup import _env, _free_port, stop
from qa.bench.stats import ms

TARGET_ADDED = 0.10  # of QA.ask's p50
CLIENTS = 8
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


def _chat(client: httpx.Client, base: str, question: str) -> dict:
    r = client.post(f"{base}/v1/chat/completions", json={"model": "zhqa", "messages": [{"role": "user", "content": question}]})
    r.raise_for_status()
    return r.json()


def _tool(client: httpx.Client, base: str, question: str) -> dict:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "ask", "arguments": {"question": question}}}
    r = client.post(f"{base}/mcp", json=body, headers=MCP_HEADERS)
    r.raise_for_status()
    return r.json()["result"]["structuredContent"]


def _gradio(client: httpx.Client, base: str, question: str) -> dict:
    """The same question through the chat's own Gradio endpoint /ask (its queue), for comparison."""
    r = client.post(f"{base}/gradio_api/call/ask", json={"data": [question, "hybrid", 5, []]})
    r.raise_for_status()
    stream = client.get(f"{base}/gradio_api/call/ask/{r.json()['event_id']}").text
    for block in stream.split("\n\n"):
        if block.startswith("event: complete"):
            return json.loads(block.split("data:", 1)[1])[0]
    raise httpx.HTTPError(f"/ask answered: {stream.strip()[-200:]}")


def _serve(index_dir: Path, limit_s: float):
    """``qa serve`` on ``index_dir``: (process, base URL, stderr file) once /v1 answers."""
    port = _free_port()
    log = tempfile.TemporaryFile()
    # qa serve's own entry (what app.py and the qa command run), so an installed package is measured too
    serve = "import sys; from qa.serve import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen([sys.executable, "-c", serve, "--port", str(port), "--index-dir", str(index_dir)],
                            env=_env(index_dir), stdout=subprocess.DEVNULL, stderr=log)
    base, start = f"http://127.0.0.1:{port}", time.perf_counter()
    while time.perf_counter() - start < limit_s:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"qa serve exited: {log.read().decode(errors='replace').strip()[-300:]}")
        try:
            if httpx.get(f"{base}/v1/models", timeout=2).status_code == 200:
                return proc, base, log
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"qa serve served no /v1/models within {limit_s:.0f} s")


def _throughput(base: str, questions: list[str], clients: int, per_client: int, way=_chat) -> dict:
    """``clients`` threads, each its own connection, each asking ``per_client`` questions ``way``."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def work(offset: int) -> None:
        with httpx.Client(timeout=300) as client:
            for i in range(per_client):
                start = time.perf_counter()
                try:
                    way(client, base, questions[(offset + i) % len(questions)])
                except httpx.HTTPError as exc:
                    with lock:
                        failures.append(str(exc)[:200])
                    continue
                with lock:
                    latencies.append(time.perf_counter() - start)

    threads = [threading.Thread(target=work, args=(n * per_client,)) for n in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    return {"clients": clients, "questions": len(latencies), "failed": len(failures), "seconds": round(wall, 3),
            "questions_per_s": round(len(latencies) / wall, 2), "latency_ms": ms(latencies) if latencies else None}


def bench_api(index_dir: Path, qa, questions: list[str], rounds: int = 3, warmup: int = 5, per_client: int = 20,
              limit_s: float = 240.0) -> dict:
    """The API's added latency over ``qa.ask`` (p50, same run) and its throughput."""
    proc, base, log = _serve(index_dir, limit_s)
    try:
        with httpx.Client(timeout=300) as chat, httpx.Client(timeout=300) as tools:
            for q in questions[:warmup]:  # the server's reader loads on its first question
                qa.ask(q), _chat(chat, base, q), _tool(tools, base, q)
            times: dict[str, list[float]] = {"ask": [], "openai": [], "mcp": []}
            same = 0
            for _ in range(rounds):
                for q in questions:
                    start = time.perf_counter()
                    answer = qa.ask(q)
                    times["ask"].append(time.perf_counter() - start)
                    start = time.perf_counter()
                    reply = _chat(chat, base, q)
                    times["openai"].append(time.perf_counter() - start)
                    start = time.perf_counter()
                    _tool(tools, base, q)
                    times["mcp"].append(time.perf_counter() - start)
                    cited = reply["choices"][0]["message"]["citations"]
                    same += [c["text"] for c in cited] == [s.text for s in answer.snippets]
        summary = {name: ms(values) for name, values in times.items()}
        n = len(questions)
        best = {name: ms([min(values[i::n]) for i in range(n)]) for name, values in times.items()}  # rounds are n apart
        added = {}
        for name in ("openai", "mcp"):
            added[name] = {"ms": round(summary[name]["p50"] - summary["ask"]["p50"], 3),
                           "ratio": round(summary[name]["p50"] / summary["ask"]["p50"] - 1, 4),
                           "best_ms": round(best[name]["p50"] - best["ask"]["p50"], 3),
                           "best_ratio": round(best[name]["p50"] / best["ask"]["p50"] - 1, 4)}
        one = _throughput(base, questions, 1, per_client)
        many = _throughput(base, questions, CLIENTS, per_client)
        gradio = _throughput(base, questions, CLIENTS, per_client, _gradio)
        return {"questions": len(questions), "rounds": rounds, "latency_ms": summary, "best_of_rounds_ms": best, "added_p50": added,
                "target_added_ratio": TARGET_ADDED, "same_extracts": round(same / (rounds * len(questions)), 4),
                "throughput_1": one, f"throughput_{CLIENTS}": many, f"gradio_ask_throughput_{CLIENTS}": gradio}
    finally:
        stop(proc, log)


def lines(r: dict) -> list[str]:
    """The bench table's section."""
    api = r.get("api") or {}
    if not api:
        return []
    if "skipped" in api:
        return ["", f"API: skipped ({api['skipped']})"]
    lat, added, one, many = api["latency_ms"], api["added_p50"], api["throughput_1"], api[f"throughput_{CLIENTS}"]
    target = f"target <= {api['target_added_ratio']:.0%}"
    out = ["", f"API over QA.ask, {api['questions']} seed questions x {api['rounds']}, same run (p50 / p95 ms)",
            f"  {'QA.ask in process':<34}{lat['ask']['p50']:.2f} / {lat['ask']['p95']:.2f}",
            f"  {'POST /v1/chat/completions':<34}{lat['openai']['p50']:.2f} / {lat['openai']['p95']:.2f}   "
            f"adds {added['openai']['ms']:.1f} ms, {added['openai']['ratio']:+.1%} ({target}); "
            f"best of rounds {added['openai']['best_ms']:.1f} ms, {added['openai']['best_ratio']:+.1%}",
            f"  {'MCP tools/call ask':<34}{lat['mcp']['p50']:.2f} / {lat['mcp']['p95']:.2f}   "
            f"adds {added['mcp']['ms']:.1f} ms, {added['mcp']['ratio']:+.1%} ({target}); "
            f"best of rounds {added['mcp']['best_ms']:.1f} ms, {added['mcp']['best_ratio']:+.1%}",
            f"  same extracts as QA.ask: {api['same_extracts']:.0%}",
            f"  throughput: 1 client {one['questions_per_s']:.1f} questions/s; {many['clients']} concurrent clients "
            f"{many['questions_per_s']:.1f} questions/s (p50 {many['latency_ms']['p50']:.0f} ms, {many['failed']} failed)"]
    gradio = api.get(f"gradio_ask_throughput_{CLIENTS}")
    if gradio:
        out.append(f"  the chat's Gradio /ask, same run: {gradio['clients']} concurrent clients {gradio['questions_per_s']:.1f} "
                   f"questions/s (p50 {gradio['latency_ms']['p50']:.0f} ms, {gradio['failed']} failed)")
    return out
