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

from robust_helpers import QINGXU, QINGXU_DOC, one_line

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
    assert [p.name for p in index_copy.glob("gen-*")] == [final.store.generation()]  # leftovers pruned


@pytest.mark.slow
def test_two_indexers_at_once_one_waits_never_a_mix(qa_bin, cli_env, index_copy, tmp_path, seeds_dir):
    """Two `qa index` with different corpora start together: the second waits for the lock
    (and says so), both finish, and the index holds exactly one corpus, the last one committed."""
    a = extra_corpus(tmp_path, 12, "甲")
    b = extra_corpus(tmp_path, 12, "乙")
    first = subprocess.Popen([str(qa_bin), "index", str(a), "--index-dir", str(index_copy)], env=cli_env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock = index_copy / ".lock"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and first.poll() is None:  # until the first holds the lock
        probe = subprocess.run(["flock", "-n", str(lock), "true"], capture_output=True)
        if probe.returncode != 0:
            break
        time.sleep(0.05)
    second = subprocess.Popen([str(qa_bin), "index", str(b), "--index-dir", str(index_copy)], env=cli_env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out1, err1 = first.communicate(timeout=900)
    out2, err2 = second.communicate(timeout=900)
    assert first.returncode == 0 and second.returncode == 0, (err1, err2)
    assert "waiting for another indexer to finish" in err1 + err2
    info = json.loads(subprocess.run([qa_bin, "info", "--json", "--index-dir", str(index_copy)], env=cli_env,
                                     capture_output=True, text=True, timeout=300).stdout)
    ids = {d["id"] for d in info["document_list"]}
    assert ids in ({f"甲-{i:03d}.txt" for i in range(12)}, {f"乙-{i:03d}.txt" for i in range(12)})


def test_second_indexer_with_a_short_lock_timeout_refuses_in_one_line(index_copy, encoder, tmp_path, qa_bin, cli_env):
    """While a writer holds the lock, an indexer that will not wait long refuses in one line
    and changes nothing (here the holder is another process holding the same flock)."""
    from qa.engine import QA
    from qa.errors import IndexLocked
    from qa.settings import Settings

    before = (index_copy / "CURRENT").read_text()
    holder = subprocess.Popen(["flock", str(index_copy / ".lock"), "sleep", "60"])
    try:
        time.sleep(0.5)
        with pytest.raises(IndexLocked) as caught:
            QA(Settings(index_dir=index_copy, lock_timeout=1), encoder=encoder).index([extra_corpus(tmp_path, 2, "丙")])
        assert one_line(str(caught.value)) and "Another process is writing" in str(caught.value)
    finally:
        holder.kill()
        holder.wait(10)
    assert (index_copy / "CURRENT").read_text() == before
