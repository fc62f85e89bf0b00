"""Stage timing counts each stage's own time once, and is inert when nothing records."""
from __future__ import annotations

import time

from qa.timing import active, recording, stage


def test_nested_stages_are_not_counted_twice():
    with recording() as seconds:
        with stage("outer"):
            time.sleep(0.02)
            with stage("inner"):
                time.sleep(0.03)
        with stage("inner"):
            time.sleep(0.01)
    # outer's own 20 ms, not the 50 ms it spanned; inner's 30 + 10 ms. Sleeps only overshoot,
    # so the bounds are lower ones, plus outer < inner (false if nesting were counted twice).
    assert seconds["outer"] >= 0.019 and seconds["inner"] >= 0.039
    assert seconds["outer"] < seconds["inner"]


def test_nothing_is_recorded_outside_a_recording():
    assert not active()
    with stage("x"):
        pass
    with recording() as seconds:
        assert active()
    assert seconds == {} and not active()


def test_ask_records_every_stage(seeds_qa):
    with recording() as seconds:
        seeds_qa.ask("董健的妻子是做什么的？")
    assert set(seconds) == {"normalise", "encode", "dense", "bm25", "fusion", "read", "snippets"}
    assert all(v > 0 for v in seconds.values())
