"""Indexing throughput: the whole pipeline (load, clean, chunk, embed, index, write) against
raw encoding of the very passages it embedded, and the cost of re-indexing an unchanged
corpus."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from qa.bench.stats import stopwatch
from qa.engine import QA
from qa.index.build import prepare
from qa.ingest.load import load_corpus
from qa.settings import Settings


def bench_index(corpus: Path, work_dir: Path, qa_settings: Settings, encoder, torch_sample: int = 256) -> dict:
    """Index ``corpus`` from scratch into ``work_dir``, then encode the same passages raw.
    Plain sentence-transformers on torch encodes the first ``torch_sample`` of them, for
    reference (all of them would double the run)."""
    settings = replace(qa_settings, index_dir=work_dir)
    qa = QA(settings, encoder=encoder)
    # Grow the runtime's memory arena to full-length batches once, so neither timed run
    # below pays that one-time cost for the other.
    encoder.encode_passages(["新闻报道" * 150] * encoder.batch_size)
    with stopwatch() as pipeline:
        report = qa.index([corpus])
    passages = len(qa.data().passages)
    with stopwatch() as again:
        qa.index([corpus])
    texts = [prep.embed_text for doc in load_corpus([corpus]).documents for prep in prepare(doc, settings)]
    with stopwatch() as raw:
        encoder.encode_passages(texts)
    sample = texts[:torch_sample]
    plain_model = encoder.model  # loaded (and warmed up) outside the timing
    plain_model.encode(sample[:2], prompt_name=encoder.passage_prompt)
    with stopwatch() as plain:
        plain_model.encode(sample, prompt_name=encoder.passage_prompt, batch_size=encoder.batch_size,
                             normalize_embeddings=True)
    pipeline_rate = passages / pipeline()
    raw_rate = len(texts) / raw()
    return {
        "corpus": str(corpus),
        "documents": len(qa.data().documents),
        "passages": passages,
        "encoded": report.encoded,
        "pipeline_s": round(pipeline(), 3),
        "pipeline_passages_per_s": round(pipeline_rate, 2),
        "raw_encode_passages_per_s": round(raw_rate, 2),
        "pipeline_over_raw": round(pipeline_rate / raw_rate, 3),
        "plain_st_encode_passages_per_s": round(len(sample) / plain(), 2),
        "plain_st_sample": len(sample),
        "reindex_unchanged_s": round(again(), 3),
    }
