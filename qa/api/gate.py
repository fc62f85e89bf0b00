"""How many questions the API and MCP answer at once. A question takes tens of milliseconds
of CPU on two cores: ``running`` run together in worker threads, up to ``waiting`` more
wait their turn, and past that a request is refused at once ("busy") instead of piling up."""
from __future__ import annotations

import anyio
import anyio.to_thread

RUNNING = 4  # as the chat's own queue (app.py ASK_CONCURRENCY)
WAITING = 256  # as the chat's queue size (app.py QUEUE_MAX_SIZE)


class Busy(Exception):
    """More requests are waiting than the gate lets wait."""


class Gate:
    def __init__(self, running: int = RUNNING, waiting: int = WAITING) -> None:
        self.running, self.waiting = running, waiting
        self._limiter: anyio.CapacityLimiter | None = None  # made in the server's event loop
        self._inside = 0

    async def run(self, fn, *args):
        """``fn(*args)`` in a worker thread, when a place is free; Busy when too many wait."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.running)
        if self._inside >= self.running + self.waiting:
            raise Busy(f"The server is busy ({self._inside} requests in hand); retry in a few seconds.")
        self._inside += 1
        try:
            return await anyio.to_thread.run_sync(lambda: fn(*args), limiter=self._limiter)
        finally:
            self._inside -= 1
