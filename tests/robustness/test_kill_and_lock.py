"""Faults while writing: `qa index` killed with SIGKILL at random moments, and two `qa index`
processes on one index folder at once."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from robust_helpers import QINGXU, QINGXU_DOC, lock_held, one_line, wait_for_text

KILLS = 5


def extra_corpus(root: Path, n: int, tag: str) -> Path:
    """``n`` short distinct articles (so that a build takes a few seconds of embedding)."""
    folder = root / f"extra {tag}"
    folder.mkdir()
    for i in range(n):
        (folder / f"{tag}-{i:03d}.txt").write_text(
            f"{tag}区第{i}号简报\n\n2025年6月{i % 28 + 1}日 来源：测试日报\n\n"
            + "".join(f"{tag}区第{i}号简报第{j}条：辖区第{j}个网格今天完成了{(i * 31 + j * 7) % 90 + 10}户居民的走访登记。" for j in range(12))
            + "\n", encoding="utf-8")
    return folder


def ask_json(qa_bin, env, index_dir, question=QINGXU) -> dict:
    result = subprocess.run([qa_bin, "ask", question, "--json", "--index-dir", str(index_dir)], env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.slow
def test_sigkill_at_random_moments_never_loses_the_index(qa_bin, cli_env, index_copy, tmp_path, seeds_dir, encoder):
    from qa.engine import QA
    from qa.settings import Settings

    corpus = extra_corpus(tmp_path, 30, "东城")
    expected = json.dumps(QA(Settings(index_dir=index_copy), encoder=encoder).ask(QINGXU).to_json(), sort_keys=True)
    args = [qa_bin, "index", str(seeds_dir), str(corpus), "--index-dir", str(index_copy)]
    # how long an uninterrupted build takes, measured on a scratch copy
    import shutil

    scratch = tmp_path / "scratch"
    shutil.copytree(index_copy, scratch)
    started = time.monotonic()
    full = subprocess.run([*args[:-1], str(scratch)], env=cli_env, capture_output=True, text=True, timeout=900)
    duration = time.monotonic() - started
    assert full.returncode == 0, full.stderr
    rng = random.Random(int(os.environ.get("ZHQA_KILL_SEED", "6")))
    moments = []
    for _ in range(KILLS):
        moment = rng.uniform(0.5, duration * 1.05)  # from start-up to the commit, and a little past
        moments.append(round(moment, 2))
        process = subprocess.Popen(args, env=cli_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            process.wait(moment)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait(30)
        # the index loads and answers correctly every time: the previous one, or the finished build
        fresh = QA(Settings(index_dir=index_copy), encoder=encoder)
        got = fresh.ask(QINGXU)
        assert got.answered and got.snippets[0].citation.doc_id == QINGXU_DOC
        docs = fresh.data().documents
        assert len(docs) in (5, 35)  # all old, or all new: never a mix
        if len(docs) == 5:
            assert json.dumps(got.to_json(), sort_keys=True) == expected
        for s in got.snippets:
            assert docs[s.citation.doc_id].text[s.citation.start:s.citation.end] == s.text
    print(f"\n[SIGKILL] uninterrupted build {duration:.1f}s; killed at {moments} s")
    rerun = subprocess.run(args, env=cli_env, capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stderr
    final = QA(Settings(index_dir=index_copy), encoder=encoder)
    assert len(final.data().documents) == 35 and "东城-007.txt" in final.data().documents
    assert final.ask(QINGXU).snippets[0].citation.doc_id == QINGXU_DOC
    assert [p.name for p in index_copy.glob("gen-*")] == [final.folder.generation()]  # leftovers pruned


@pytest.mark.slow
def test_two_indexers_at_once_one_waits_never_a_mix(qa_bin, cli_env, index_copy, tmp_path, encoder):
    """Two `qa index` with different corpora start while a writer holds the index's lock: both
    wait for it (and say so) without touching the index; once it is free they take turns,
    never both writing: the second to commit builds on the first's index (its report removes
    the first's corpus, not the seeds), and the index holds exactly its corpus, consistent."""
    from qa.engine import QA
    from qa.settings import Settings

    corpora = {"甲": extra_corpus(tmp_path, 12, "甲"), "乙": extra_corpus(tmp_path, 12, "乙")}
    ids = {tag: {f"{tag}-{i:03d}.txt" for i in range(12)} for tag in corpora}
    seeds = set(QA(Settings(index_dir=index_copy), encoder=encoder).data().documents)
    before = (index_copy / "CURRENT").read_text()
    processes, errs = {}, {}
    try:
        # the test holds the lock, so that neither indexer can finish before the other has started
        with lock_held(index_copy / ".lock"):
            for tag, corpus in corpora.items():
                errs[tag] = tmp_path / f"{tag}.err"
                with open(errs[tag], "w") as err:
                    processes[tag] = subprocess.Popen(
                        [str(qa_bin), "index", str(corpus), "--json", "--index-dir", str(index_copy)], env=cli_env,
                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, text=True)
            for tag in corpora:  # each one got as far as the lock, and says it waits
                wait_for_text(errs[tag], "waiting for another indexer to finish", processes.values(), timeout=600)
            assert (index_copy / "CURRENT").read_text() == before  # waiting, nothing written
            assert all(p.poll() is None for p in processes.values())
        outs = {tag: p.communicate(timeout=900)[0] for tag, p in processes.items()}
    finally:
        for p in processes.values():
            if p.poll() is None:
                p.kill()
                p.wait(30)
    stderr = {tag: path.read_text(encoding="utf-8") for tag, path in errs.items()}
    assert all(p.returncode == 0 for p in processes.values()), stderr
    reports = {tag: json.loads(out) for tag, out in outs.items()}
    for tag, report in reports.items():
        assert set(report["added"]) == ids[tag] and report["documents"] == 12, (tag, report)
        assert one_line(stderr[tag]), stderr[tag]  # the waiting line only: no traceback, no warning
    # one built on the seeds index and the other on its result: never two builds from the same start
    first, last = sorted(corpora, key=lambda tag: set(reports[tag]["removed"]) != seeds)
    assert set(reports[first]["removed"]) == seeds, reports
    assert set(reports[last]["removed"]) == ids[first], reports
    final = QA(Settings(index_dir=index_copy), encoder=encoder)
    assert set(final.data().documents) == ids[last]  # exactly the last committed corpus: never a mix
    assert len(final.data().passages) == reports[last]["passages"]
    answer = final.ask(f"{last}区第5号简报第3条：辖区第3个网格今天完成了多少户居民的走访登记？")
    assert answer.answered and {s.citation.doc_id for s in answer.snippets} <= ids[last]
    for s in answer.snippets:  # its passages, vectors and texts belong together
        assert final.data().documents[s.citation.doc_id].text[s.citation.start:s.citation.end] == s.text
    assert [p.name for p in index_copy.glob("gen-*")] == [final.folder.generation()]


def test_second_indexer_with_a_short_lock_timeout_refuses_in_one_line(index_copy, encoder, tmp_path):
    """While a writer holds the lock, an indexer that will not wait long refuses in one line
    and changes nothing (here the holder is another process holding the same flock)."""
    from qa.engine import QA
    from qa.errors import IndexLocked
    from qa.settings import Settings

    before = (index_copy / "CURRENT").read_text()
    corpus = extra_corpus(tmp_path, 2, "丙")
    with lock_held(index_copy / ".lock"):  # returns once the other process certainly holds it
        started = time.monotonic()
        with pytest.raises(IndexLocked) as caught:
            QA(Settings(index_dir=index_copy, lock_timeout=1), encoder=encoder).index([corpus])
        waited = time.monotonic() - started
    assert one_line(str(caught.value)) and "Another process is writing" in str(caught.value)
    assert waited >= 1  # it did wait its timeout before refusing
    assert (index_copy / "CURRENT").read_text() == before
    assert QA(Settings(index_dir=index_copy), encoder=encoder).index([corpus]).documents == 2  # free again: it goes through
