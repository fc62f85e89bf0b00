"""Load: 20 concurrent gradio_client clients send 240 questions to a real `python app.py` on
127.0.0.1. No errors, every answer identical to the same question asked alone, p95 latency
reported (printed, and written as JSON to $ZHQA_LOAD_REPORT when set). Bounded in count and
in time; the server is stopped by the fixture."""
from __future__ import annotations

import json
import os
import statistics
import threading
import time
from pathlib import Path

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


@pytest.mark.slow
def test_twenty_clients_two_hundred_questions(app_server, tmp_path, capsys):
    from gradio_client import Client

    asks = [(QUESTIONS[i % len(QUESTIONS)], MODES[(i // len(QUESTIONS)) % len(MODES)], 5) for i in range(CLIENTS * PER_CLIENT)]
    alone = {}
    solo = Client(app_server.url, verbose=False)
    for key in sorted(set(asks)):  # each distinct question asked alone first
        alone[key] = solo.predict(*key, api_name="/ask")
    clients = [Client(app_server.url, verbose=False) for _ in range(CLIENTS)]
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
                result = clients[n].submit(*key, api_name="/ask").result(timeout=REQUEST_TIMEOUT)
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
