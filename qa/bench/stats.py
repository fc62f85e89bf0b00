"""Summaries of repeated timings: medians and 95th percentiles in milliseconds."""
from __future__ import annotations

import os
import time
from contextlib import contextmanager

import numpy as np


def ms(seconds: list[float]) -> dict[str, float]:
    """{"p50", "p95"} in milliseconds of a list of durations in seconds."""
    values = np.asarray(seconds, dtype=np.float64) * 1000.0
    return {"p50": round(float(np.percentile(values, 50)), 3), "p95": round(float(np.percentile(values, 95)), 3)}


@contextmanager
def stopwatch():
    """``with stopwatch() as t: ...`` then ``t()`` is the elapsed seconds."""
    start = time.perf_counter()
    end: list[float] = []
    yield lambda: (end[0] if end else time.perf_counter()) - start
    end.append(time.perf_counter())


def rss_mb(pid: int | str = "self", field: str = "VmRSS") -> float:
    """Resident memory of a process from /proc (VmHWM for its peak), in MiB."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
