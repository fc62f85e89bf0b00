"""Helpers of the robustness suite (fixtures are in conftest.py): a real ``python app.py`` server on loopback over a
private copy of the seeds index (plus one hostile article), and small helpers.

The server is a separate process, as a user runs it: it loads its own copy of the model,
binds 127.0.0.1 on a free port and is stopped (SIGTERM, then SIGKILL) when the session ends.
"""
from __future__ import annotations

import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
QINGXU = "清徐县是在哪里发现初筛阳性人员的？"
QINGXU_DOC = "002_55bd9ca71670d804.txt"
START_TIMEOUT = 240  # s: the server imports torch and gradio and loads the model

# An article that tries every trick on a renderer: HTML, script, event handlers, Markdown
# links and images, template syntax. Its one fact makes it the answer to HOSTILE_QUESTION.
HOSTILE_DOC = "hostile-article.txt"
HOSTILE_FACT = "蓝湖镇的吉祥物是一只名叫阿青的青色水獭，由镇长李春雨在2026年10月选定。"
HOSTILE_TEXT = (
    "蓝湖镇新闻 <script>alert('title')</script>\n\n2026年10月20日 来源：测试日报\n\n"
    f"{HOSTILE_FACT}[点这里](javascript:alert(1)) ![图](http://127.0.0.1:9/pixel.png) **加粗** <img src=x onerror=alert(2)>"
    " ${alert(3)} {{7*7}}\n\n"
    "蓝湖镇居民对阿青的评价很高，<a href=\"javascript:alert(4)\">详情</a>，很多游客专程前来拍照。\n"
)
HOSTILE_QUESTION = "蓝湖镇的吉祥物是什么？"


PORT_TRIES = 3  # a free port can be taken by someone else before the server binds it
PORT_TAKEN = ("Cannot find empty port", "Address already in use", "address already in use")


def free_port() -> int:
    """A port free right now (bind it soon after, and be ready to retry: see start_server)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 30, headers: dict | None = None) -> tuple[int, bytes]:
    """(status, body) of a GET; HTTP errors are returned, not raised."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@dataclass
class Server:
    url: str
    port: int
    index_dir: Path
    process: subprocess.Popen
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


class PortTaken(AssertionError):
    """app.py exited because its port was no longer free."""


def start_server(index_dir: Path, log: Path, *args: str, env: dict | None = None) -> Server:
    """``python app.py --index-dir INDEX --port FREE ARGS`` (host left to its default), ready.
    If the port was taken between choosing it and the server binding it, again on another."""
    for attempt in range(1, PORT_TRIES + 1):
        try:
            return _start_server_on(free_port(), index_dir, log, args, env)
        except PortTaken:
            if attempt == PORT_TRIES:
                raise


def _start_server_on(port: int, index_dir: Path, log: Path, args, env: dict | None) -> Server:
    environment = dict(os.environ if env is None else env)
    environment.pop("GRADIO_SERVER_NAME", None)
    environment.pop("GRADIO_SERVER_PORT", None)
    environment["GRADIO_ANALYTICS_ENABLED"] = "False"
    fh = open(log, "wb")
    process = subprocess.Popen(
        [sys.executable, str(PROJECT / "app.py"), "--index-dir", str(index_dir), "--port", str(port), *args],
        cwd=PROJECT, env=environment, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True,
    )
    fh.close()
    server = Server(f"http://127.0.0.1:{port}/", port, index_dir, process, log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            text = server.log_text()
            kind = PortTaken if any(m in text for m in PORT_TAKEN) else AssertionError
            raise kind(f"app.py exited with {process.returncode}:\n{text[-3000:]}")
        try:
            status, _ = http_get(server.url + "config", timeout=5)
            if status in (200, 401):
                return server
        except OSError:
            pass
        time.sleep(0.5)
    stop_server(server)
    raise AssertionError(f"app.py did not answer within {START_TIMEOUT}s:\n{server.log_text()[-3000:]}")


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(20)


@contextmanager
def lock_held(lock: Path, timeout: float = 60):
    """Another process holds the flock on ``lock`` (as a writer holds an index's ``.lock``)
    for the duration of the ``with`` block; on entry it certainly holds it: polled with a
    non-blocking flock from here until it does, never assumed after a sleep. Released when
    the block ends (the holder is killed, which closes its descriptor)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time; fh = open(sys.argv[1], 'a+'); "
         "fcntl.flock(fh, fcntl.LOCK_EX); time.sleep(3600)", str(lock)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + timeout
        with open(lock, "a+") as probe:
            while True:
                try:
                    fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    break  # somebody holds it, and only the holder tries
                fcntl.flock(probe, fcntl.LOCK_UN)  # not yet: let the holder have it
                if holder.poll() is not None:
                    raise AssertionError(f"the lock holder exited with {holder.returncode}: {holder.stderr.read()}")
                if time.monotonic() > deadline:
                    raise AssertionError(f"the lock holder did not take {lock} within {timeout}s")
                time.sleep(0.02)
        yield holder
    finally:
        holder.kill()
        holder.wait(30)
        holder.stderr.close()


def wait_for_text(path: Path, text: str, processes=(), timeout: float = 300) -> None:
    """Poll the file ``path`` until it contains ``text``; fail early if one of ``processes``
    exits first, and at ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while text not in path.read_text(encoding="utf-8", errors="replace"):
        for process in processes:
            if process.poll() is not None:
                raise AssertionError(f"{process.args[:3]} exited with {process.returncode} before {path.name} "
                                     f"said {text!r}:\n{path.read_text(encoding='utf-8', errors='replace')[-2000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path.name} did not say {text!r} within {timeout}s")
        time.sleep(0.05)


def one_line(message: str) -> bool:
    """A user-facing error: one non-empty line, no traceback."""
    message = message.strip()
    return bool(message) and "\n" not in message and "Traceback" not in message
