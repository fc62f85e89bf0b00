"""The encoder's transformer as an ONNX graph, run by ONNX Runtime.

For a short question, plain sentence-transformers on torch spends most of its time in eager
per-operator overhead; ONNX Runtime runs the same weights in a fraction of the time (measured
by ``qa bench``), with identical outputs (float32, no quantisation: dynamic int8 fell to cosine
0.986 on the seed questions, below what we accept).

sentence-transformers' own ONNX backend needs ``optimum-onnx``, which pins transformers below
4.58 and cannot be installed beside the transformers this project uses, so the graph is
exported here with ``torch.onnx`` (once per model folder, cached next to the weights) and
loaded with ``onnxruntime`` directly.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .atomic import replacing, write_text

ONNX_FILE = "model.onnx"
ONNX_DIR = "onnx"
# Bump when the export changes (inputs, outputs, opset): older cached graphs are re-exported.
EXPORT_VERSION = 1


class UnsupportedModel(ValueError):
    """The model folder is not a plain Transformer + Pooling (+ Normalize) stack."""


@dataclass(frozen=True)
class PipelineConfig:
    """What the ONNX path reproduces of a sentence-transformers folder. The vectors are
    always L2-normalised (the index searches by inner product), as the torch path asks too."""

    pooling: str  # "mean" or "cls"
    prompts: dict[str, str]
    max_seq_length: int
    dim: int

    def pool(self, tokens: np.ndarray) -> np.ndarray:
        """One text's vector from its (unpadded) token vectors, as the Pooling module does."""
        return tokens[0] if self.pooling == "cls" else tokens.mean(0)


def pipeline_config(folder: Path) -> PipelineConfig:
    """The folder's prompts, pooling and sequence limit; UnsupportedModel for a stack the
    ONNX path cannot reproduce."""
    modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    if kinds[:2] != ["Transformer", "Pooling"] or any(k != "Normalize" for k in kinds[2:]):
        raise UnsupportedModel(f"modules {kinds} are not Transformer, Pooling[, Normalize]")
    pooling = json.loads((folder / modules[1]["path"] / "config.json").read_text(encoding="utf-8"))
    if pooling.get("pooling_mode_mean_tokens"):
        mode = "mean"
    elif pooling.get("pooling_mode_cls_token"):
        mode = "cls"
    else:
        raise UnsupportedModel(f"pooling {pooling} is neither mean nor CLS")
    if pooling.get("include_prompt", True) is False:
        raise UnsupportedModel("pooling excludes the prompt tokens")
    st_config = folder / "config_sentence_transformers.json"
    prompts = json.loads(st_config.read_text(encoding="utf-8")).get("prompts", {}) if st_config.exists() else {}
    bert_config = folder / "sentence_bert_config.json"
    limit = json.loads(bert_config.read_text(encoding="utf-8")).get("max_seq_length") if bert_config.exists() else None
    return PipelineConfig(mode, dict(prompts), int(limit or 512), int(pooling["word_embedding_dimension"]))


def onnx_path(folder: Path) -> Path:
    return folder / ONNX_DIR / ONNX_FILE


WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def _export_stamp(folder: Path) -> dict:
    """What the cached graph was exported from: re-export when the weights change."""
    stamp: dict = {"export_version": EXPORT_VERSION}
    for name in WEIGHT_FILES:
        weights = folder / name
        if weights.exists():
            stat = weights.stat()
            stamp[name] = [stat.st_size, stat.st_mtime_ns]
    return stamp


def _read_stamp(path: Path) -> dict | None:
    """The stamp a cached graph was written with; None when missing or unreadable (the graph
    is then exported again)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def ensure_onnx(folder: Path, load_model) -> Path:
    """The folder's transformer exported to ONNX, exporting it first if needed (a few
    seconds). ``load_model()`` returns the folder's SentenceTransformer; it is only called
    when an export is needed."""
    target = onnx_path(folder)
    stamp_file = target.with_suffix(".json")
    stamp = _export_stamp(folder)
    if target.exists() and _read_stamp(stamp_file) == stamp:
        return target
    import warnings

    import torch

    model = load_model()
    transformer = model[0].auto_model.eval()

    class _TokenEmbeddings(torch.nn.Module):
        def __init__(self, inner) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    target.parent.mkdir(parents=True, exist_ok=True)
    example = model.tokenizer(["query: 例子"], return_tensors="pt")
    axes = {0: "batch", 1: "tokens"}
    with replacing(target) as tmp, torch.no_grad(), warnings.catch_warnings():  # a crash never leaves half a graph
        warnings.simplefilter("ignore")  # the tracer's notes on Python control flow in the model
        torch.onnx.export(
            _TokenEmbeddings(transformer),
            (example["input_ids"], example["attention_mask"]),
            str(tmp),
            input_names=["input_ids", "attention_mask"],
            output_names=["token_embeddings"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_embeddings": axes},
            opset_version=17,
            dynamo=False,  # the TorchScript exporter: the dynamo one needs onnxscript
        )
    write_text(stamp_file, json.dumps(stamp))
    return target


def open_session(path: Path, threads: int | None = None):
    """An ONNX Runtime CPU session over the exported graph."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Intra-op threads = cores: a query uses both of this machine's cores; inter-op 1 since
    # the graph is one chain of layers.
    options.intra_op_num_threads = threads or max(1, min(os.cpu_count() or 1, 8))
    options.inter_op_num_threads = 1
    # No busy-waiting between runs: spinning threads would steal the cores from whatever runs
    # next (the web server, an indexer, torch in a benchmark) and measured no faster here.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
