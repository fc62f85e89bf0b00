"""Chat servers on a real Milvus server: the standalone server of the PyPI package
``milvus`` (2.3.5), started here on a free loopback port (qa/bench/milvus_server.py).

Each chat server gets only the Milvus address and an empty folder of its own: the index
generation it serves is fetched from Milvus (qa/index/published.py). Milvus 2.3 has no
sparse vectors, so BM25 is scored in each chat process (keywords=local)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from embeddings.milvus_store import MilvusStore
from embeddings.passage_store import StoredPassage, StoreError, parse_store_address
from qa.bench.milvus_server import LocalMilvus, free_port, unavailable
from qa.engine import QA
from qa.errors import ZhqaError
from qa.settings import Settings
from qa.web.handlers import api_ask
from qa.web.uploads import UPLOADS, add_documents

pytestmark = [pytest.mark.slow, pytest.mark.skipif(unavailable() is not None, reason=f"no Milvus server here: {unavailable()}")]

PROJECT = Path(__file__).resolve().parent.parent
QUESTIONS = [json.loads(line) for line in (PROJECT / "eval" / "seeds.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
QINGXU = "清徐县是在哪里发现初筛阳性人员的？"
UPLOADED = "据悉，青藤市第七中学今年新建的天文馆于周三正式对学生开放，馆内的望远镜口径为六百毫米。"
UPLOAD_QUESTION = "青藤市第七中学天文馆的望远镜口径是多少？"


@pytest.fixture(scope="module")
def milvus(tmp_path_factory):
    server = LocalMilvus(tmp_path_factory.mktemp("milvus-server"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def built(milvus, seeds_index_dir, tmp_path_factory, encoder):
    """The seeds index built into the server from a copy of the session's index (nothing is
    embedded again): its passages and its generation are written to Milvus."""
    folder = tmp_path_factory.mktemp("builder") / "index"
    shutil.copytree(seeds_index_dir, folder)
    store = f"{milvus.address}/seeds"
    builder = QA(Settings(index_dir=folder, store=store), encoder=encoder)
    builder.index()
    return store, builder


def _chat_process(store: str, folder: Path, port: int, env: dict) -> subprocess.Popen:
    with open(folder.parent / f"chat-{port}.log", "w") as log:  # the child keeps its own copy of the handle
        return subprocess.Popen([sys.executable, str(PROJECT / "app.py"), "--port", str(port), "--store", store,
                                 "--index-dir", str(folder)], cwd=folder.parent, env=env, stdout=log, stderr=subprocess.STDOUT)


def _client(url: str, proc: subprocess.Popen, log: Path, timeout: float = 300):
    from gradio_client import Client

    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, log.read_text(encoding="utf-8")[-2000:]
        try:
            return Client(url, verbose=False)
        except Exception:  # noqa: BLE001 - not listening yet
            time.sleep(1)
    raise AssertionError(f"the chat at {url} did not start: {log.read_text(encoding='utf-8')[-2000:]}")


@pytest.fixture(scope="module")
def chats(built, tmp_path_factory):
    """Two chat servers (app.py) on two ports, each with an empty folder of its own."""
    store, _ = built
    env = {k: v for k, v in os.environ.items() if k not in ("ZHQA_INDEX_DIR", "ZHQA_DEBUG")}
    procs, clients = [], []
    try:
        for name in ("one", "two"):
            folder = tmp_path_factory.mktemp(f"chat-{name}") / "index"
            port = free_port()
            proc = _chat_process(store, folder, port, env)
            procs.append(proc)
            clients.append((_client(f"http://127.0.0.1:{port}/", proc, folder.parent / f"chat-{port}.log"), folder))
        yield clients
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_two_chat_servers_with_only_the_store_answer_every_seed_question_like_the_local_index(built, chats, seeds_qa):
    (one, folder_one), (two, folder_two) = chats
    differing = []
    for q in QUESTIONS:
        local = seeds_qa.ask(q["question"], k=5, mode="hybrid").to_json()
        for client in (one, two):
            if client.predict(q["question"], "hybrid", 5, api_name="/ask") != local:
                differing.append(q["id"])
    assert not differing, differing
    for q in QUESTIONS[:10]:
        assert one.predict(q["question"], "dense", 5, api_name="/ask") == seeds_qa.ask(q["question"], k=5, mode="dense").to_json()
    # Neither chat shares a folder: each holds its own copy of the generation Milvus publishes.
    assert (folder_one / "CURRENT").read_text() == (folder_two / "CURRENT").read_text() == built[1].folder.generation()


def test_ask_json_from_the_store_alone_is_the_local_index_s(built, seeds_index_dir, tmp_path, qa_bin, cli_env):
    store, _ = built
    env = {k: v for k, v in cli_env.items() if k != "ZHQA_INDEX_DIR"}
    env["HOME"] = str(tmp_path)
    for mode in ("hybrid", "dense"):
        run = subprocess.run([qa_bin, "ask", QINGXU, "--json", "-k", "8", "--mode", mode, "--store", store,
                              "--index-dir", str(tmp_path / f"copy-{mode}")], capture_output=True, text=True, env=env, timeout=300, check=False)
        assert run.returncode == 0, run.stderr
        local = subprocess.run([qa_bin, "ask", QINGXU, "--json", "-k", "8", "--mode", mode, "--index-dir", str(seeds_index_dir)],
                               capture_output=True, text=True, env=env, timeout=300, check=False)
        assert json.loads(run.stdout) == json.loads(local.stdout)
    info = subprocess.run([qa_bin, "info", "--store", store, "--index-dir", str(tmp_path / "copy-hybrid")],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert info.returncode == 0, info.stderr
    assert "in this process" in info.stdout and "no sparse vectors" in info.stdout


def test_the_server_address_without_a_collection_serves_its_published_index(built, milvus, tmp_path, qa_bin, cli_env,
                                                                           monkeypatch):
    """`milvus://HOST:PORT` and `milvus://HOST:PORT/NAME` alike: an empty folder with either
    reads the index the server publishes (here the only one), and indexes no seeds over it.
    Runs before any other test of this module publishes a second index."""
    from qa.options import build_settings

    store, builder = built
    env = {k: v for k, v in cli_env.items() if k != "ZHQA_INDEX_DIR"}
    env["HOME"] = str(tmp_path)
    answers = []
    for name, address in (("named", store), ("bare", milvus.address)):
        folder = tmp_path / name
        run = subprocess.run([qa_bin, "ask", QINGXU, "--json", "--store", address, "--index-dir", str(folder)],
                             capture_output=True, text=True, env=env, timeout=300, check=False)
        assert run.returncode == 0, run.stderr
        assert "indexing the bundled seeds" not in run.stderr
        assert (folder / "CURRENT").read_text() == builder.folder.generation()
        answers.append(json.loads(run.stdout))
    assert answers[0] == answers[1] and answers[0]["answered"]
    monkeypatch.delenv("ZHQA_INDEX_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    bare, named = build_settings(None, milvus.address), build_settings(None, store)  # `qa serve --store …`, no folder
    assert (bare.store, bare.index_dir) == (named.store, named.index_dir)


def test_an_upload_through_one_chat_is_found_through_the_other_and_an_outage_is_one_line(built, chats, milvus, tmp_path, encoder):
    """A third chat server in this process uploads through the chat's own upload handler;
    the two chat processes find the document. Then Milvus stops: every chat says so in one
    line; Milvus starts again: they answer again, without a restart."""
    store, _ = built
    (one, _), (two, _) = chats
    here = QA(Settings(index_dir=tmp_path / "index", store=store), encoder=encoder)
    source = tmp_path / "天文馆.txt"
    source.write_text(UPLOADED, encoding="utf-8")
    done = add_documents(here, [str(source)], tmp_path / "index" / UPLOADS, uploader="alice")
    assert done.report is not None and done.report.documents == 6
    deadline = time.time() + 30
    found = {}
    while time.time() < deadline and len(found) < 2:
        for name, client in (("one", one), ("two", two)):
            answer = client.predict(UPLOAD_QUESTION, "hybrid", 5, api_name="/ask")
            if answer["answered"] and answer["snippets"][0]["doc_id"].startswith("upload/"):
                found[name] = answer
        time.sleep(1)
    assert set(found) == {"one", "two"}
    assert found["one"] == found["two"] == here.ask(UPLOAD_QUESTION, k=5).to_json()
    assert "六百毫米" in found["one"]["snippets"][0]["text"]

    milvus.stop()
    try:
        for client in (one, two):
            with pytest.raises(Exception) as down:
                client.predict(QINGXU, "hybrid", 5, api_name="/ask")
            message = str(down.value)
            assert "Milvus" in message and "Traceback" not in message, message
        with pytest.raises(ZhqaError) as here_down:
            api_ask(here, QINGXU)
        assert "\n" not in str(here_down.value) and "Milvus" in str(here_down.value)
    finally:
        milvus.start()
    for client in (one, two):
        deadline = time.time() + 60
        while True:
            try:
                answer = client.predict(QINGXU, "hybrid", 5, api_name="/ask")
                break
            except Exception:  # noqa: BLE001 - the server is loading its collections again
                assert time.time() < deadline, "the chat did not answer again after Milvus came back"
                time.sleep(2)
        assert answer["answered"] and "韻達快遞物流園" in answer["snippets"][0]["text"]


def test_a_sync_killed_with_the_server_completes_when_run_again(milvus):
    """The Milvus server killed in the middle of a write: running the same write again
    leaves every passage exactly once."""
    address = parse_store_address(f"{milvus.address}/killed")
    store = MilvusStore(address, "killed", 384, create=True)
    rng = np.random.default_rng(0)
    n = 60_000
    vectors = rng.standard_normal((n, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    passages = [StoredPassage(pid, f"doc-{pid // 10}", 0, 10, f"passage {pid}", f"passage {pid}", ("passage",), vectors[pid],
                              f"key-{pid}") for pid in range(n)]
    failure: list[BaseException] = []

    def write():
        try:
            store.sync(passages)
        except BaseException as exc:  # noqa: BLE001 - the point: the write fails
            failure.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    while writer.is_alive() and store.count() < 2000:  # killed once the write is under way
        time.sleep(0.2)
    assert writer.is_alive(), "the write finished before the server could be killed"
    milvus.stop(kill=True)
    writer.join(timeout=120)
    assert failure and isinstance(failure[0], StoreError) and "\n" not in str(failure[0])
    milvus.start()
    report = store.sync(passages)
    assert report.written + report.kept == n
    assert store.count() == n
    pids = sorted(int(p) for p in store._existing())
    assert pids == list(range(n))
    hits = store.dense_search(vectors[123], 1)
    assert hits.pids.tolist() == [123]
    store.drop()


def test_a_change_through_either_copy_is_followed_by_the_other(milvus, seeds_index_dir, tmp_path, encoder):
    """Two folders on one store: a removal through the second is published, and the first
    (the one that built it) follows it on its next question."""
    store = f"{milvus.address}/follow"
    shutil.copytree(seeds_index_dir, tmp_path / "first")
    first = QA(Settings(index_dir=tmp_path / "first", store=store, store_poll=0), encoder=encoder)
    first.index()
    second = QA(Settings(index_dir=tmp_path / "second", store=store, store_poll=0), encoder=encoder)
    assert second.ask(QINGXU, k=8).to_json() == first.ask(QINGXU, k=8).to_json()
    qingxu = second.ask(QINGXU).snippets[0].citation.doc_id
    second.remove([qingxu])
    assert qingxu not in first.data().documents
    assert first.folder.generation() == second.folder.generation()
    assert first.passage_store().count() == len(first.data().passages)


def test_a_local_index_is_never_overwritten_by_a_store_s_published_one(built, seeds_index_dir, tmp_path, encoder):
    """Asking a folder that holds a local index with --store of a store that publishes
    another index is refused in one line, and the folder is left as it was."""
    store, _ = built
    shutil.copytree(seeds_index_dir, tmp_path / "local")
    before = (tmp_path / "local" / "CURRENT").read_text()
    with pytest.raises(ZhqaError) as refused:
        QA(Settings(index_dir=tmp_path / "local", store=store), encoder=encoder).data()
    assert "serve" in str(refused.value) and "\n" not in str(refused.value)
    assert (tmp_path / "local" / "CURRENT").read_text() == before


def test_a_collection_with_no_published_index_is_not_replaced_by_the_seeds(milvus, tmp_path, encoder):
    """A collection written without a published index (by an older zhqa, or a first build
    stopped before its publish): a chat started on it with an empty folder refuses in one
    line instead of indexing the seeds over its passages."""
    address = parse_store_address(f"{milvus.address}/older")
    older = MilvusStore(address, "older", 384, create=True)
    vector = np.ones(384, dtype=np.float32) / np.sqrt(384)
    older.sync([StoredPassage(i, "old-doc", 0, 5, "old", "old", ("old",), vector, f"k{i}") for i in range(5)])
    chat = QA(Settings(index_dir=tmp_path / "empty", store=address.text), encoder=encoder)
    with pytest.raises(ZhqaError) as refused:
        chat.ensure_index()
    assert "holds 5 passages but no published index" in str(refused.value) and "\n" not in str(refused.value)
    assert older.count() == 5
    older.drop()


def test_bench_times_the_server_beside_the_local_store(milvus, seeds_index_dir, seeds_qa, tmp_path, encoder):
    from qa.bench.milvus_server import bench_server

    questions = [q["question"] for q in QUESTIONS[:4]]
    result = bench_server(seeds_index_dir, questions, encoder, seeds_qa.data().vectors, 2000, tmp_path, Settings(),
                          repeats=1, say=lambda *_: None, server=milvus)
    assert result["sync"]["written"] == result["sync"]["count_after"] == 2000 and result["sync"]["passages_per_s"] > 0
    for side in ("ask_server", "ask_local"):
        assert result[side]["total_ms"]["p50"] >= result[side]["stages_ms"]["dense"]["p50"] > 0
    assert "in this process" in result["keywords"] and result["server_rss_mb"] > 0
    assert milvus.running  # a server it was given is left running


def test_a_server_publishing_several_indexes_asks_for_a_name(built, milvus, seeds_index_dir, tmp_path, encoder, qa_bin, cli_env):
    """With two published indexes, `milvus://HOST:PORT` alone is ambiguous for an empty folder: one line names them."""
    second = tmp_path / "second"
    shutil.copytree(seeds_index_dir, second)
    QA(Settings(index_dir=second, store=f"{milvus.address}/another"), encoder=encoder).index()
    env = {k: v for k, v in cli_env.items() if k != "ZHQA_INDEX_DIR"}
    env["HOME"] = str(tmp_path)
    run = subprocess.run([qa_bin, "ask", QINGXU, "--store", milvus.address, "--index-dir", str(tmp_path / "empty")],
                         capture_output=True, text=True, env=env, timeout=300, check=False)
    assert run.returncode == 1 and run.stdout == "", run.stderr
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith("error: ") and "another" in line and "seeds" in line and "name one" in line
    assert not (tmp_path / "empty" / "CURRENT").exists()
