"""``qa bench``: how fast each stage is on this machine, and how that compares with plain
sentence-transformers, rank_bm25 and a plain FAISS loop in the same run. ``run`` returns one
JSON-ready dict (docs/performance.md explains the keys); ``report.table`` prints it."""
from __future__ import annotations

import json
import platform
import tempfile
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from qa.bench.stats import cores, rss_mb
from qa.settings import Settings

PROJECT = Path(__file__).resolve().parents[2]
FULL_SIZES = [10_000, 100_000, 1_000_000]
QUICK_SIZES = [10_000]


@dataclass
class BenchConfig:
    quick: bool = False
    eval_dir: Path = PROJECT.parent / "shared" / "eval"
    work_dir: Path | None = None  # indexes built by the bench; a temporary folder by default
    sizes: list[int] = field(default_factory=list)
    milvus_size: int = 100_000  # Milvus Lite against FAISS at this size (full runs, if installed); 0: skip
    settings: Settings = field(default_factory=Settings)


def _questions(path: Path, limit: int | None = None) -> list[str]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["question"] for r in rows][:limit]


def largest_eval_set(eval_dir: Path) -> Path | None:
    """The evaluation folder whose corpus.jsonl is largest, or None when there is none."""
    if not eval_dir.is_dir():
        return None
    sets = [d for d in eval_dir.iterdir() if (d / "corpus.jsonl").is_file() and (d / "questions.jsonl").is_file()]
    return max(sets, key=lambda d: (d / "corpus.jsonl").stat().st_size, default=None)


def _milvus_lite_installed() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("pymilvus", "milvus_lite"))


def run(config: BenchConfig, say=print) -> dict:
    from embeddings.encoder import Encoder
    from qa.bench.ask import bench_ask
    from qa.bench.indexing import bench_index
    from qa.bench.peers import bench_peers
    from qa.bench.scale import bench_bm25, bench_milvus_lite_rows, bench_vectors
    from qa.bench.startup import cli_first_answer, cold_ask, web_first_answer
    from qa.engine import QA
    from qa.question.query import make_query

    work = Path(config.work_dir or tempfile.mkdtemp(prefix="zhqa-bench-"))
    quick = config.quick
    sizes = config.sizes or (QUICK_SIZES if quick else FULL_SIZES)
    from qa.cpu import processor

    # the instruction sets and int8 kernel path: the ratios and the reader differ by processor kind
    result: dict = {"machine": {"cores": cores(), "python": platform.python_version(), "processor": platform.machine(),
                                "cpu": processor().as_dict()},
                    "quick": quick, "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}

    say("Loading the model and indexing the seeds ...")
    encoder = Encoder(config.settings.model)
    seeds_settings = replace(config.settings, index_dir=work / "seeds")
    seeds_qa = QA(seeds_settings, encoder=encoder)
    seeds_qa.index([PROJECT / "seeds"])
    seed_questions = _questions(PROJECT / "eval" / "seeds.jsonl", 20 if quick else None)

    say(f"Ask latency over {len(seed_questions)} seed questions ...")
    result["ask"] = bench_ask(seeds_qa, seed_questions, repeats=1 if quick else 3, warmup=3 if quick else 10)

    eval_set = largest_eval_set(config.eval_dir)
    if quick or eval_set is None:
        corpus, questions_file = PROJECT / "seeds", PROJECT / "eval" / "seeds.jsonl"
    else:
        corpus, questions_file = eval_set / "corpus.jsonl", eval_set / "questions.jsonl"
    say(f"Indexing throughput on {corpus} ...")
    result["index"] = bench_index(corpus, work / "corpus", config.settings, encoder, torch_sample=32 if quick else 256)
    corpus_qa = QA(replace(config.settings, index_dir=work / "corpus"), encoder=encoder)
    data = corpus_qa.data()

    say("Startup to first answer (command line, then web chat) ...")
    first = seed_questions[0]
    cli = cli_first_answer(work / "seeds", first)
    web = web_first_answer(work / "seeds", first)
    result["startup"] = {"first_answer_s": web.get("first_answer_s", cli["first_answer_s"]),
                         "peak_rss_mb": web.get("peak_rss_mb", cli["peak_rss_mb"]),
                         "web": web, "cli": cli}
    say("Cold `qa ask` beside its floor (a process that only opens the encoder and reader sessions) ...")
    result["startup"]["cold_ask"] = cold_ask(work / "seeds", first, config.settings.model, runs=2 if quick else 5)

    from qa.bench.api import bench_api

    say("API and MCP over QA.ask, and throughput of concurrent API clients ...")
    result["api"] = bench_api(work / "seeds", seeds_qa, seed_questions, rounds=1 if quick else 3,
                              per_client=5 if quick else 20)

    questions = _questions(questions_file, 50 if quick else 200)
    texts = [make_query(q).normalized for q in questions]
    tokens = [list(make_query(q).tokens) for q in questions]
    say(f"Scale: {', '.join(f'{n:,}' for n in sizes)} passages ...")
    queries = encoder.encode_queries(texts)
    base = np.concatenate([data.vectors, seeds_qa.data().vectors])
    scale = bench_vectors(base, queries, sizes, progress=say)
    if not quick and config.milvus_size and _milvus_lite_installed():
        say(f"Milvus Lite at {config.milvus_size:,} passages ...")
        scale += bench_milvus_lite_rows(base, queries, config.milvus_size, work / "milvus", progress=say)
    scale += bench_bm25(data.tokens + seeds_qa.data().tokens, tokens, sizes, progress=say)
    result["scale"] = scale
    result["scale_note"] = ("vectors: real passage embeddings plus noise (cosine 0.9 to their source), searched with "
                            "real question embeddings, one query at a time on one thread; HNSW is built up to 100,000 "
                            "passages only (its build at 1M takes tens of minutes on two cores); ivfpq stores 48 bytes "
                            "a vector; bm25: real passages' tokens drawn with replacement")

    from qa.bench.milvus_server import bench_server, unavailable

    if quick or not config.milvus_size:
        result["milvus_server"] = {"skipped": "quick run" if quick else "milvus_size is 0"}
    elif unavailable() is not None:
        result["milvus_server"] = {"skipped": unavailable()}
    else:
        result["milvus_server"] = bench_server(work / "seeds", seed_questions, encoder, base, config.milvus_size,
                                               work / "milvus-server", config.settings, say=say)

    say("Peers: rank_bm25, plain encode + IndexFlatIP ...")
    result["peers"] = bench_peers(data, encoder, texts, tokens)
    result["bench_peak_rss_mb"] = round(rss_mb("self", "VmHWM"), 1)
    result["work_dir"] = str(work)
    return result
