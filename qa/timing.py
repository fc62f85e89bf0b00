"""Per-stage timing of a question, for ``qa bench``: ``with stage("bm25"):`` around a step
records its own time (time spent in nested stages is not counted twice) while a
``recording()`` is active, and costs one context-variable lookup otherwise."""
from __future__ import annotations

import time
from contextlib import contextmanager
from contextvars import ContextVar

_active: ContextVar["_Recorder | None"] = ContextVar("zhqa_stage_recorder", default=None)


class _Recorder:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._children: list[float] = []  # time spent in nested stages, one slot per open stage


@contextmanager
def stage(name: str):
    recorder = _active.get()
    if recorder is None:
        yield
        return
    recorder._children.append(0.0)
    start = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - start
        nested = recorder._children.pop()
        recorder.seconds[name] = recorder.seconds.get(name, 0.0) + elapsed - nested
        if recorder._children:
            recorder._children[-1] += elapsed


@contextmanager
def recording():
    """Collect stage times (seconds, by stage name) of everything run inside the block."""
    recorder = _Recorder()
    token = _active.set(recorder)
    try:
        yield recorder.seconds
    finally:
        _active.reset(token)


def active() -> bool:
    return _active.get() is not None
