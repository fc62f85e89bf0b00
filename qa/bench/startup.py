"""Startup: from process start to the first answer with an existing index, for the command
line and for the web chat, with each process's peak resident memory."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

from qa.bench.stats import rss_mb

PROJECT = Path(__file__).resolve().parents[2]
# `qa ask` in a fresh interpreter that writes its own peak RSS (VmHWM) at exit: the rusage of
# a child would count the pages it shared with this (large) process before exec.
_CLI = (
    "import atexit, os, sys\n"
    "from qa.bench.stats import rss_mb\n"
    "atexit.register(lambda: open(os.environ['ZHQA_BENCH_HWM'], 'w').write(str(rss_mb('self', 'VmHWM'))))\n"
    "from qa.cli import main\n"
    "sys.argv = ['qa'] + sys.argv[1:]\n"
    "main()\n"
)


# The floor of a cold `qa ask`: a fresh interpreter that only opens what answering cannot do
# without, the encoder's and the reader's ONNX Runtime sessions and the tokenizer they share,
# as the engine opens them (one after the other), and nothing else.
_FLOOR = (
    "import sys\n"
    "from embeddings.encoder import Encoder\n"
    "from qa.read.reader import Reader\n"
    "Encoder(sys.argv[1])\n"
    "Reader().warm_up()\n"
)
COLD_TARGET = 1.5  # a cold `qa ask` within 1.5 x its floor (issue 33)


def _env(index_dir: Path) -> dict:
    env = dict(os.environ)
    env["ZHQA_INDEX_DIR"] = str(index_dir)
    env.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    return env


def cli_first_answer(index_dir: Path, question: str) -> dict:
    """``qa ask`` in a fresh process: seconds to its answer, and its peak RSS."""
    with tempfile.TemporaryDirectory() as scratch:
        hwm = Path(scratch) / "hwm"
        env = _env(index_dir) | {"ZHQA_BENCH_HWM": str(hwm)}
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", _CLI, "ask", "--json", question], env=env,
                              capture_output=True, cwd=PROJECT, timeout=300)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"qa ask failed: {proc.stderr.decode(errors='replace').strip()[-300:]}")
        peak = float(hwm.read_text()) if hwm.exists() else 0.0
    return {"first_answer_s": round(elapsed, 3), "peak_rss_mb": round(peak, 1),
            "answered": json.loads(proc.stdout)["answered"]}


def floor_seconds(index_dir: Path, model: str) -> float:
    """Seconds for a fresh process to open the encoder and reader sessions alone."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _FLOOR, model], env=_env(index_dir), capture_output=True, cwd=PROJECT,
                          timeout=300)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"opening the models failed: {proc.stderr.decode(errors='replace').strip()[-300:]}")
    return round(elapsed, 3)


def cold_ask(index_dir: Path, question: str, model: str, runs: int = 3) -> dict:
    """A cold ``qa ask`` (process start to answer) beside its floor, ``runs`` of each,
    interleaved so both see the same machine; medians and their ratio."""
    asks, floors = [], []
    for _ in range(runs):
        floors.append(floor_seconds(index_dir, model))
        asks.append(cli_first_answer(index_dir, question)["first_answer_s"])
    # The ratio is of the two figures as stated, so a reader dividing them gets the same number.
    ask, floor = round(float(np.median(asks)), 3), round(float(np.median(floors)), 3)
    return {"ask_s": ask, "floor_s": floor, "ratio": round(ask / floor, 2), "target_ratio": COLD_TARGET,
            "ask_runs_s": asks, "floor_runs_s": floors}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ask_api(port: int, question: str, timeout: float = 5.0):
    """One call of the web chat's /ask endpoint over Gradio's REST protocol; None if not up."""
    base = f"http://127.0.0.1:{port}/gradio_api/call/ask"
    body = json.dumps({"data": [question, "hybrid", 5, []]}).encode()
    request = urllib.request.Request(base, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            event = json.loads(response.read())["event_id"]
        with urllib.request.urlopen(f"{base}/{event}", timeout=60) as response:
            stream = response.read().decode()
    except urllib.error.HTTPError as exc:  # the server is up and refused: no point waiting
        if exc.code == 404:
            return None  # routes not mounted yet
        raise RuntimeError(f"the web chat answered HTTP {exc.code} to /ask") from exc
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return None  # not listening yet
    for block in stream.split("\n\n"):
        if block.startswith("event: complete"):
            return json.loads(block.split("data:", 1)[1])[0]
    raise RuntimeError(f"the web chat answered with an error: {stream.strip()[-300:]}")


def web_first_answer(index_dir: Path, question: str, limit_s: float = 180.0) -> dict:
    """``python app.py`` on an existing index: seconds until /ask returns an answer, and
    the server process's peak RSS (VmHWM) at that moment."""
    app = PROJECT / "app.py"
    if not app.exists():
        return {}
    port = _free_port()
    log = tempfile.TemporaryFile()  # the server's stderr; a pipe nobody reads could fill and block it
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(app), "--port", str(port), "--index-dir", str(index_dir)],
                            env=_env(index_dir), stdout=subprocess.DEVNULL, stderr=log, cwd=PROJECT)
    try:
        while time.perf_counter() - start < limit_s:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"app.py exited: {log.read().decode(errors='replace').strip()[-300:]}")
            answer = _ask_api(port, question)
            if answer is not None:
                return {"first_answer_s": round(time.perf_counter() - start, 3),
                        "peak_rss_mb": round(rss_mb(proc.pid, "VmHWM"), 1), "answered": answer["answered"]}
            time.sleep(0.2)
        raise RuntimeError(f"the web chat gave no answer within {limit_s:.0f} s")
    finally:
        stop(proc, log)


def stop(proc: subprocess.Popen, log) -> None:
    """End a server this bench started (politely, then not) and close its log."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()
