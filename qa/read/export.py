"""After training: export the reader to ONNX, choose the decoding settings on validation,
quantize, measure and write ``reader.onnx`` + ``reader.json`` (used by qa.read.train)."""
from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import time
from pathlib import Path

import numpy as np

from qa.read import data as D
from qa.read.reader import MODEL_FILE, SETTINGS_FILE, Reader
from qa.read.train import (
    ANSWER_TOKEN_GRID,
    Prepared,
    Settings,
    log,
    mean_em_f1,
    sha256_of,
)

MAX_BYTES = 40 * 1024 * 1024
CHEAP_MAX_TOKENS = 96


def export_onnx(checkpoint: Path, model_dir: Path, settings: Settings, target: Path) -> None:
    import warnings

    import torch

    from qa.read.model import EmbedsToLogits, SpanReader, base_config

    model = SpanReader(base_config(model_dir, settings.layers, attn_implementation="eager"))
    state = torch.load(checkpoint, map_location="cpu")
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or any("word_embeddings" not in m for m in missing):
        raise RuntimeError(f"checkpoint mismatch: missing {missing}, unexpected {unexpected}")
    model.eval()
    wrapper = EmbedsToLogits(model)
    embeds = torch.randn(2, 24, model.bert.config.hidden_size)
    mask = torch.ones(2, 24, dtype=torch.long)
    mask[1, 20:] = 0
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapper, (embeds, mask), str(target), input_names=["inputs_embeds", "attention_mask"],
                          output_names=["start_logits", "end_logits"],
                          dynamic_axes={"inputs_embeds": axes, "attention_mask": axes,
                                        "start_logits": axes, "end_logits": axes},
                          opset_version=17, dynamo=False)
    # The word-embedding matrix must not be in the graph (it is an unused parameter: check).
    import onnx

    graph = onnx.load(str(target))
    big = [i.name for i in graph.graph.initializer if int(np.prod(i.dims)) >= 250000 * 384]
    if big:
        raise RuntimeError(f"the export contains the embedding matrix: {big}")


def quantize_int8(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)


def to_fp16(source: Path, target: Path) -> None:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(source)), keep_io_types=True)
    onnx.save(model, str(target))


def _sentences(text: str) -> list[tuple[int, int]]:
    out, start = [], 0
    for m in re.finditer(r"[。！？!?；;\n]+", text):
        out.append((start, m.end()))
        start = m.end()
    if start < len(text):
        out.append((start, len(text)))
    return out or [(0, len(text))]


def lexical_focus(question: str, passage: str) -> tuple[int, int]:
    """The passage sentence sharing most character bigrams with the question: a stand-in for
    the retrieval hit the answer stage would pass as the cheap mode's focus (no gold used)."""
    qb = {question[i : i + 2] for i in range(len(question) - 1)}
    best, best_n = (0, len(passage)), -1
    for a, b in _sentences(passage):
        s = passage[a:b]
        n = sum(1 for i in range(len(s) - 1) if s[i : i + 2] in qb)
        if n > best_n:
            best, best_n = (a, b), n
    return best


def evaluate_reader(reader: Reader, questions: list[D.Question], grid=ANSWER_TOKEN_GRID,
                    max_tokens: int | None = None, batch: int = 32) -> tuple[dict, dict]:
    """EM/F1 per style for each max-answer-token setting (gold paragraph given) and, per
    setting, each question's margin (best span - no answer)."""
    items = []
    for qi, q in enumerate(questions):
        focus = [lexical_focus(q.question, q.context)] if max_tokens else None
        for _, c, w in reader.windows_for(q.question, [q.context], max_tokens, focus):
            items.append((qi, c, w))
    logits = reader.run_windows([w for _, _, w in items], batch=batch)
    per_q: list[list] = [[] for _ in questions]
    for (qi, c, w), (s, e) in zip(items, logits):
        per_q[qi].append((c, w, D.window_scores(s, e, w, len(w.ids))))
    results = {A: {} for A in grid}
    margins: dict[int, list[float]] = {A: [] for A in grid}
    for q, wins in zip(questions, per_q):
        golds = [a for a, _ in q.answers]
        null = min(sc[2] for _, _, sc in wins)
        for A in grid:
            best = None
            for c, w, (ls, le, _) in wins:
                spans = D.best_spans_in_window(ls, le, A)
                if spans and (best is None or spans[0][2] > best[2]):
                    best = (spans[0][0] + w.tok_lo, spans[0][1] + w.tok_lo, spans[0][2], c)
            text = ""
            if best:
                a, b = D.span_chars(q.context, best[3], best[0], best[1])
                text = q.context[a:b]
            D.tally(results[A], q.style, text, golds)
            margins[A].append(best[2] - null if best else -1e9)
    table = {A: D.summarise(by) for A, by in results.items()}
    return table, margins


def cross_pairs(questions: list[D.Question], n: int) -> list[D.Question]:
    """Validation questions paired with a paragraph of another article of the same source."""
    out = []
    by_source: dict[str, list[D.Question]] = {}
    for q in questions:
        by_source.setdefault(q.source, []).append(q)
    for q in questions[:: max(1, len(questions) // n)][:n]:
        pool = by_source[q.source]
        k = (pool.index(q) + len(pool) // 2) % len(pool)
        for _ in range(len(pool)):
            if pool[k].title != q.title:
                break
            k = (k + 1) % len(pool)
        else:
            continue  # one article only: no other paragraph to pair with
        out.append(D.Question(q.qid + "-x", q.source, q.style, q.title, pool[k].context, q.question, ()))
    return out


def choose_null_margin(pos: list[float], neg: list[float]) -> tuple[float, float]:
    """Threshold on margin maximising balanced accuracy (answered vs not) on validation."""
    best = (0.0, -1.0)
    for t in sorted(set(np.round(pos + neg, 3))):
        acc = (np.mean(np.array(pos) > t) + np.mean(np.array(neg) <= t)) / 2
        if acc > best[1]:
            best = (float(t), float(acc))
    return best


def latency(reader: Reader, runs: int = 30, max_tokens: int | None = None) -> float:
    """p50 ms of reading 3 passages of 300 characters with a 20-character question."""
    base = ("新华社北京11月28日电 国家统计局今天发布数据显示，今年前十个月全国规模以上工业企业实现利润总额"
            "同比增长百分之五点二，其中制造业利润增长较快。专家表示，随着一系列稳增长政策落地见效，"
            "工业经济运行总体平稳，企业效益持续改善。")
    passages = [(base * 3)[i * 7 : i * 7 + 300] for i in range(3)]
    question = "今年前十个月全国工业企业利润增长了多少？"[:20]
    focus = [(100, 140)] * 3 if max_tokens else None
    reader.read(question, passages, max_tokens=max_tokens, focus=focus)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        reader.read(question, passages, max_tokens=max_tokens, focus=focus)
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 1)


def finish(checkpoint: Path, valid_prep: Prepared, model_dir: Path, out_dir: Path, settings: Settings,
           info: dict, run_dir: Path) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    fp32 = run_dir / "reader_fp32.onnx"
    int8 = run_dir / "reader_int8.onnx"
    log(f"exporting {checkpoint}")
    export_onnx(checkpoint, model_dir, settings, fp32)
    base_source = json.loads((model_dir / "zhqa_source.json").read_text(encoding="utf-8"))
    meta = {
        "format": "zhqa-reader-1",
        "inputs": "inputs_embeds [batch, tokens, 384] float32 (word embeddings of the base model), "
                  "attention_mask [batch, tokens] int64",
        "outputs": "start_logits, end_logits [batch, tokens]",
        "window": "<s> question(<=64 tokens) </s></s> passage tokens </s>",
        "score": "per-window log-softmax over <s> and the window's passage tokens; span = logP(start)+logP(end)",
        "base_model": base_source.get("model"),
        "base_source": base_source.get("converted_from"),
        "base_source_sha256": base_source.get("sha256"),
        "base_weights_sha256": sha256_of(model_dir / "model.safetensors"),
        "layers": settings.layers,
        "max_len": settings.max_len,
        "stride": settings.stride,
        "max_question_tokens": D.MAX_QUESTION_TOKENS,
        "training": {k: v for k, v in info.items() if k != "history"} | {
            "settings": settings.__dict__, "checkpoint": checkpoint.name},
        "split": "validation = articles with int(sha1('fold:' + title), 16) % 5 == 0 (qa.read.data.fold_of)",
    }
    # The settings file the Reader reads; max_answer_tokens is filled in once chosen.
    stage = run_dir / "stage"
    stage.mkdir(exist_ok=True)
    shutil.copy(fp32, stage / MODEL_FILE)
    (stage / SETTINGS_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    valid = valid_prep.questions
    threads = int(os.environ.get("ZHQA_EVAL_THREADS", "2"))
    quantize_int8(fp32, int8)
    shutil.copy(int8, stage / "reader_int8.onnx")
    reader8 = Reader(stage, model_dir, model_file="reader_int8.onnx", threads=threads)
    log("validating int8")
    table8, margins8 = evaluate_reader(reader8, valid)
    best_A = max(table8, key=lambda A: mean_em_f1(table8[A]))
    log(f"int8 {json.dumps(table8)} -> max_answer_tokens {best_A}")
    reader8.settings["max_answer_tokens"] = int(best_A)  # it read the stage settings before the choice

    def write(shipped: Path, kind: str, extra: dict) -> None:
        """Write (or rewrite) the shipped file and its settings; called as soon as a model is
        validated, so an interrupted run still leaves a consistent pair behind."""
        if shipped.stat().st_size > MAX_BYTES:
            raise RuntimeError(f"{shipped} is {shipped.stat().st_size} bytes, over the 40 MB limit")
        meta.update({"weights": kind, "max_answer_tokens": int(best_A), **extra,
                     "sha256": sha256_of(shipped), "bytes": shipped.stat().st_size})
        shutil.copy(shipped, out_dir / MODEL_FILE)
        (stage / SETTINGS_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        (out_dir / SETTINGS_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        log(f"wrote {out_dir / MODEL_FILE} ({kind}, {shipped.stat().st_size} bytes)")

    int8_kind = "int8 (onnxruntime quantize_dynamic, QInt8 weights)"
    validation = {"shipped": table8[best_A], "int8": table8[best_A],
                  "int8_by_max_answer_tokens": {str(k): v for k, v in table8.items()}}
    write(int8, int8_kind, {"validation": validation})

    reader32 = Reader(stage, model_dir, threads=threads)
    log("validating fp32")
    table32, _ = evaluate_reader(reader32, valid, grid=(best_A,))
    validation["fp32"] = table32[best_A]
    drop = max(table32[best_A][st]["em"] - table8[best_A][st]["em"] for st in table8[best_A])
    log(f"fp32 {json.dumps(table32)}; int8 EM drop {drop:.2f}")
    shipped, shipped_kind, shipped_reader = int8, int8_kind, reader8
    if drop > 1.5:
        fp16 = run_dir / "reader_fp16.onnx"
        to_fp16(fp32, fp16)
        shutil.copy(fp16, stage / "reader_fp16.onnx")
        shipped_reader = Reader(stage, model_dir, model_file="reader_fp16.onnx", threads=threads)
        table16, margins8 = evaluate_reader(shipped_reader, valid, grid=(best_A,))
        validation["fp16"] = validation["shipped"] = table16[best_A]
        shipped, shipped_kind = fp16, "fp16"
    write(shipped, shipped_kind, {"validation": validation})

    negs = cross_pairs(valid, 400)
    _, margins_neg = evaluate_reader(shipped_reader, negs, grid=(best_A,))
    null_margin, null_acc = choose_null_margin(margins8[best_A], margins_neg[best_A]) if negs else (0.0, float("nan"))
    log(f"null margin {null_margin} balanced accuracy {null_acc:.3f}")
    log("validating the cheap mode")
    cheap_table, _ = evaluate_reader(shipped_reader, valid, grid=(best_A,), max_tokens=CHEAP_MAX_TOKENS)
    lat = {
        "fp32_ms_p50": latency(reader32),
        "shipped_ms_p50": latency(shipped_reader),
        "fp32_cheap_ms_p50": latency(reader32, max_tokens=CHEAP_MAX_TOKENS),
        "shipped_cheap_ms_p50": latency(shipped_reader, max_tokens=CHEAP_MAX_TOKENS),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "setup": "3 passages x 300 chars, 20-char question, 2 ORT threads, p50 of 30 runs, shared machine",
    }
    log(f"latency {lat}")
    write(shipped, shipped_kind, {
        "validation": validation,
        "null_margin": null_margin,
        "null_balanced_accuracy": round(null_acc, 4),
        "null_validation": "gold paragraph vs 400 questions paired with another article's paragraph",
        "cheap_mode": {"max_tokens": CHEAP_MAX_TOKENS, "focus": "qa.read.export.lexical_focus (best question-bigram sentence)",
                       "validation": cheap_table[best_A]},
        "latency": lat,
    })
    return meta
