"""A real Milvus server on this machine, for the tests and ``qa bench``: the standalone
server binary that the PyPI package ``milvus`` ("Embedded Milvus", 2.3.5, Apache-2.0)
ships, with its embedded etcd and local storage, started on a free loopback port with a
data folder of its own. It is an older server (2.3: no sparse vectors, no BM25 function),
so it also exercises the store's fallbacks.

Ready means a client call succeeds, not only that the port listens: a fresh start can
leave the proxy's port closed for a while after its other ports listen."""
from __future__ import annotations

import importlib.util
import platform
import socket
import time
from pathlib import Path


def unavailable() -> str | None:
    """Why a server cannot run here (one line), or None when it can."""
    if importlib.util.find_spec("milvus") is None:
        return 'the PyPI package milvus is not installed (pip install "milvus==2.3.5")'
    if importlib.util.find_spec("pymilvus") is None:
        return "pymilvus is not installed"
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        return f"the milvus package's server binary is for Linux x86_64, not {platform.system()} {platform.machine()}"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalMilvus:
    """One Milvus server process: ``start()``, ``stop()``, and ``start()`` again on the same
    port and data (what a restart of a real server looks like to its clients)."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = Path(folder)
        self.port = port or free_port()
        self._server = None

    @property
    def address(self) -> str:
        return f"milvus://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None and self._server.server_proc is not None and self._server.server_proc.poll() is None

    def start(self, timeout: float = 240.0) -> float:
        """Start the server and wait until a client call succeeds; the seconds it took."""
        from milvus import MilvusServer, MilvusServerConfig

        class Config(MilvusServerConfig):
            def try_bind_port(self, port):
                # The package checks a port by binding it without SO_REUSEADDR, so after a
                # stop it refuses the server's own port for a minute (TIME_WAIT); the server
                # itself binds with SO_REUSEADDR.
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind(("127.0.0.1", port))
                    sock.listen()
                    return sock
                except OSError:
                    sock.close()
                    return None

        started = time.monotonic()
        self.folder.mkdir(parents=True, exist_ok=True)
        config = Config()
        # A stopped server's sessions expire in 5 s, not 30: a restart answers in about 11 s,
        # not 40. SIGTERM finishes within 5 s, not the default half hour.
        config.set("common.session.ttl", 5)
        config.set("common.gracefulStopTimeout", 5)
        self._server = MilvusServer(config, wait_for_started=False, data_dir=str(self.folder), proxy_port=self.port)
        self._server.start()
        self._wait_ready(started + timeout)
        return time.monotonic() - started

    def _wait_ready(self, deadline: float) -> None:
        from pymilvus import MilvusClient

        last = ""
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"the Milvus server exited (logs in {self.folder / 'logs'})")
            try:
                client = MilvusClient(uri=f"http://127.0.0.1:{self.port}", timeout=5)
                try:
                    client.list_collections()
                    return
                finally:
                    client.close()
            except Exception as exc:  # noqa: BLE001 - not ready yet: grpc and pymilvus errors of many types
                last = f"{type(exc).__name__}: {exc}"
                time.sleep(0.5)
        self.stop()
        raise TimeoutError(f"the Milvus server on port {self.port} was not ready in time ({last[:200]})")

    def stop(self, kill: bool = False) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s; at once with ``kill``)."""
        server, self._server = self._server, None
        if server is None or server.server_proc is None:
            return
        proc = server.server_proc
        if proc.poll() is None:
            proc.kill() if kill else proc.terminate()
            try:
                proc.wait(timeout=10)
            except Exception:  # noqa: BLE001 - subprocess.TimeoutExpired
                proc.kill()
                proc.wait(timeout=10)
        for fh in server.proc_fds.values():
            fh.close()
        server.server_proc = None
        server.config.cleanup_listen_ports()

    def rss_mb(self) -> float:
        """The server process's resident memory."""
        if not self.running:
            return 0.0
        with open(f"/proc/{self._server.server_proc.pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0


def bench_server(seeds_index: Path, questions: list[str], encoder, base_vectors, passages: int, work: Path,
                 settings, repeats: int = 3, say=print, server: LocalMilvus | None = None) -> dict:
    """``qa bench``'s Milvus server section, all against one server started here:

    - ask latency over ``questions`` by stage, served by a QA that has only the server's
      address (its folder is the copy it fetched), beside the same index searched locally
      in the same run;
    - write throughput of a ``passages``-passage sync (synthetic vectors near
      ``base_vectors``), and of the same sync again (nothing to write);
    - the server's resident memory.

    ``server``: one already running (left running); else one is started here and stopped."""
    import shutil
    from dataclasses import replace

    import numpy as np

    from embeddings.milvus_store import MilvusStore
    from embeddings.passage_store import StoredPassage, parse_store_address
    from qa.bench.scale import synthetic_vectors
    from qa.bench.stats import ms, stopwatch
    from qa.engine import QA

    from .ask import STAGES, time_asks

    own = server is None
    if own:
        server = LocalMilvus(work / "server")
        say("Milvus server: starting ...")
    result: dict = {"server": "milvus 2.3.5 standalone (the milvus package), on this machine",
                    "start_s": round(server.start(), 1) if own else None}
    try:
        store = f"{server.address}/bench_seeds"
        builder_dir = work / "builder"
        shutil.copytree(seeds_index, builder_dir)
        builder = QA(replace(settings, index_dir=builder_dir, store=store), encoder=encoder)
        with stopwatch() as t:
            builder.index()
        result["seeds_index_into_server_s"] = round(t(), 2)
        served = QA(replace(settings, index_dir=work / "served", store=store), encoder=encoder)
        local = QA(replace(settings, index_dir=seeds_index, store=None), encoder=encoder)
        with stopwatch() as t:
            served.data()
        result["fetch_published_index_s"] = round(t(), 2)
        say(f"Milvus server: ask latency over {len(questions)} seed questions, beside the local store ...")
        for name, qa in (("server", served), ("local", local)):
            for q in questions[:5]:
                qa.ask(q)
            totals, stages = [], {s: [] for s in STAGES}
            for _ in range(repeats):
                time_asks(qa, questions, totals, stages)
            result[f"ask_{name}"] = {"total_ms": ms(totals), "stages_ms": {s: ms(v) for s, v in stages.items()}}
        result["keywords"] = served.passage_store().describe()["keywords"]

        say(f"Milvus server: a {passages:,}-passage sync ...")
        vectors = synthetic_vectors(np.asarray(base_vectors, dtype=np.float32), passages)
        rows = [StoredPassage(i, f"doc-{i // 8}", 0, 200, "", "", (), vectors[i], f"key-{i}") for i in range(passages)]
        target = MilvusStore(parse_store_address(f"{server.address}/bench_sync"), "bench_sync", vectors.shape[1], create=True)
        first = target.sync(rows)
        again = target.sync(rows)
        result["sync"] = {"passages": passages, "written": first.written, "seconds": round(first.seconds, 1),
                          "passages_per_s": round(first.written / first.seconds, 1),
                          "unchanged_again_s": round(again.seconds, 1), "count_after": target.count()}
        result["server_rss_mb"] = round(server.rss_mb(), 1)
        target.drop()
    finally:
        if own:
            server.stop()
    return result
