"""Load: 20 concurrent clients send 240 questions to a real `python app.py` on 127.0.0.1
through Gradio's HTTP API (`POST /gradio_api/call/ask`, then that event's own stream). No
errors, every answer identical to the same question asked alone, p95 latency reported
(printed, and written as JSON to $ZHQA_LOAD_REPORT when set). Bounded in count and in time;
the server is stopped by the fixture.

Not gradio_client: reusing one of its `Client`s for question after question races with the
server's `close_stream` (gradio_client 2.7.2 against Gradio 6.31's sse_v3). When the client's
reader thread is late to read `close_stream`, the next question is registered on the closing
stream and ends in `CancelledError` although the server answered it. Twenty client threads on
two busy cores made that happen once in 240 questions in one CI run; delaying the reader by
0.5 s makes it happen every second question. Per-event streams have no shared reader, so this
test measures the server alone. gradio_client's single questions are tested elsewhere."""
from __future__ import annotations

import json
import os
import statistics
import threading
import time
from pathlib import Path

import httpx
import pytest
from robust_helpers import HOSTILE_QUESTION, QINGXU

CLIENTS = 20
PER_CLIENT = 12  # 240 questions
DEADLINE = 420  # s for the whole run; each question has REQUEST_TIMEOUT
REQUEST_TIMEOUT = 120
QUESTIONS = [
    QINGXU, "董健是谁？", "董健的妻子是做什么的？", "李楠的孩子生病时他在做什么？", "清徐縣有多少名黨員深入抗疫一線？",
    "How many party members went to the front line in Qingxu?", HOSTILE_QUESTION, "今天的天气怎么样？",
    "<img src=x onerror=alert(1)>董健是谁", "河北省公安厅警务协作总队做了什么？",
]
MODES = ["hybrid", "hybrid", "dense", "bm25"]

pytestmark = pytest.mark.filterwarnings("ignore::Warning")


def ask(http: httpx.Client, url: str, key: tuple) -> dict:
    """One question through Gradio's HTTP API: join the queue, then read that event's stream
    to its end; the answer's JSON, or the server's error raised. No earlier questions."""
    joined = http.post(url + "gradio_api/call/ask", json={"data": [*key, []]})
    joined.raise_for_status()
    event = None
    with http.stream("GET", url + f"gradio_api/call/ask/{joined.json()['event_id']}") as stream:
        stream.raise_for_status()
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line[len("event:"):].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                data = json.loads(line[len("data:"):])
                if event == "error":
                    raise RuntimeError(f"the server answered with an error: {data}")
                return data[0]
    raise RuntimeError(f"the stream ended without an answer (last event {event!r})")


@pytest.mark.slow
def test_twenty_clients_two_hundred_questions(app_server, tmp_path, capsys):
    asks = [(QUESTIONS[i % len(QUESTIONS)], MODES[(i // len(QUESTIONS)) % len(MODES)], 5) for i in range(CLIENTS * PER_CLIENT)]
    alone = {}
    with httpx.Client(timeout=REQUEST_TIMEOUT) as solo:
        for key in sorted(set(asks)):  # each distinct question asked alone first
            alone[key] = ask(solo, app_server.url, key)
    assert all(alone[(QINGXU, mode, 5)]["answered"] for mode in set(MODES)), "the seeds question went unanswered"
    clients = [httpx.Client(timeout=REQUEST_TIMEOUT) for _ in range(CLIENTS)]
    latencies, errors, mismatches = [], [], []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)
    deadline = time.monotonic() + DEADLINE

    def user(n: int) -> None:
        start.wait(60)
        for key in asks[n::CLIENTS]:
            if time.monotonic() > deadline:
                with lock:
                    errors.append("deadline passed")
                return
            t0 = time.perf_counter()
            try:
                result = ask(clients[n], app_server.url, key)
            except Exception as exc:  # noqa: BLE001 - counted and shown
                with lock:
                    errors.append(f"{key[0][:20]}: {type(exc).__name__}: {exc}")
                continue
            elapsed = time.perf_counter() - t0
            with lock:
                latencies.append(elapsed)
                if result != alone[key]:
                    mismatches.append(key)

    threads = [threading.Thread(target=user, args=(n,), daemon=True) for n in range(CLIENTS)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE + 60)
    wall = time.perf_counter() - t0
    for http in clients:
        http.close()
    latencies.sort()
    report = {
        "questions": len(asks), "clients": CLIENTS, "answered": len(latencies), "errors": len(errors),
        "mismatches": len(mismatches), "wall_seconds": round(wall, 2),
        "throughput_per_second": round(len(latencies) / wall, 2) if wall else None,
        "p50_seconds": round(statistics.median(latencies), 3) if latencies else None,
        "p95_seconds": round(latencies[max(0, int(0.95 * len(latencies)) - 1)], 3) if latencies else None,
        "max_seconds": round(latencies[-1], 3) if latencies else None,
    }
    out = Path(os.environ.get("ZHQA_LOAD_REPORT") or tmp_path / "load-report.json")
    out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    with capsys.disabled():
        print(f"\n[load] {json.dumps(report)} -> {out}")
    assert not any(t.is_alive() for t in threads)
    assert errors == [], errors[:5]
    assert mismatches == [], mismatches[:5]
    assert len(latencies) == len(asks) >= 200
    assert "Traceback" not in app_server.log_text()
