"""Password guessing slowed down: an ASGI middleware in front of Gradio's ``/login`` route.

Gradio checks a password but counts nothing. Here, after ``free`` failed logins from one
client address, each further attempt must wait: 2 s, then 4, 8 … up to ``longest``
seconds; an attempt made while waiting is answered 429 with one line saying how long to
wait, and its password is never checked. A successful login clears the client's count.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

FREE_FAILURES = 5
FIRST_WAIT = 2.0
LONGEST_WAIT = 15 * 60.0
MAX_CLIENTS = 10_000  # addresses remembered at once: a flood of addresses cannot grow memory without bound


@dataclass
class _Record:
    failures: int = 0
    until: float = 0.0  # no attempt before this monotonic time


class LoginLimiter:
    """Failed logins per client address, and the wait each has earned."""

    def __init__(self, free: int = FREE_FAILURES, first_wait: float = FIRST_WAIT, longest: float = LONGEST_WAIT,
                 clock=time.monotonic) -> None:
        self.free, self.first_wait, self.longest, self.clock = free, first_wait, longest, clock
        self._clients: dict[str, _Record] = {}
        self._lock = threading.Lock()

    def wait(self, client: str) -> float:
        """Seconds ``client`` must still wait before its next attempt (0: go ahead)."""
        with self._lock:
            record = self._clients.get(client)
            return max(0.0, record.until - self.clock()) if record else 0.0

    def failed(self, client: str) -> None:
        with self._lock:
            if client not in self._clients and len(self._clients) >= MAX_CLIENTS:
                self._clients.pop(next(iter(self._clients)))  # forget the oldest
            record = self._clients.setdefault(client, _Record())
            record.failures += 1
            if record.failures >= self.free:
                record.until = self.clock() + min(self.longest, self.first_wait * 2 ** (record.failures - self.free))

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._clients.pop(client, None)


class LoginGuard:
    """ASGI middleware: ``POST …/login`` passes through ``limiter``."""

    def __init__(self, app, limiter: LoginLimiter | None = None) -> None:
        self.app = app
        self.limiter = limiter or LoginLimiter()

    async def __call__(self, scope, receive, send):
        if scope.get("type") != "http" or scope.get("method") != "POST" or not scope.get("path", "").rstrip("/").endswith("/login"):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("?", 0))[0]
        wait = self.limiter.wait(client)
        if wait > 0:
            await _refuse(send, wait)
            return
        status = {}

        async def watch(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        if status.get("code") == 200:
            self.limiter.succeeded(client)
        elif status.get("code") in (400, 401, 403):
            self.limiter.failed(client)


async def _refuse(send, wait: float) -> None:
    seconds = int(wait) + 1
    body = json.dumps({"detail": f"登录失败次数过多，请 {seconds} 秒后再试。Too many failed logins; try again in {seconds} s."},
                      ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": 429,
                "headers": [(b"content-type", b"application/json; charset=utf-8"), (b"retry-after", str(seconds).encode()),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
