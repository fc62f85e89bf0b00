"""The ONNX Runtime encoder gives the same vectors as plain sentence-transformers on torch."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from embeddings import onnx_model
from embeddings.encoder import Encoder, EncoderError

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def questions() -> list[str]:
    lines = (PROJECT / "eval" / "seeds.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def test_default_backend_is_onnx(encoder):
    assert encoder.backend == "onnx"
    assert onnx_model.onnx_path(encoder.folder).is_file()


def test_query_vectors_match_plain_sentence_transformers(encoder, questions):
    ours = encoder.encode_queries(questions)
    plain = encoder.model.encode(questions, prompt_name="query", normalize_embeddings=True)
    assert ours.dtype == np.float32 and ours.shape == plain.shape
    assert (ours * plain).sum(1).min() >= 0.9999


def test_passage_and_sentence_vectors_match_the_torch_backend(encoder, seed_docs):
    texts = [doc.text[i : i + 400] for doc in seed_docs.values() for i in (0, 700)]
    spans = [[(0, 40), (40, 200), (200, len(t))] for t in texts]
    ours, our_sentences = encoder.encode_passages_with_spans(texts, spans)
    torch_encoder = Encoder(backend="torch")
    theirs, their_sentences = torch_encoder.encode_passages_with_spans(texts, spans)
    assert (ours * theirs).sum(1).min() >= 0.9999
    for a, b in zip(our_sentences, their_sentences):
        assert a.shape == b.shape and (a * b).sum(1).min() >= 0.9999
    # Batches are sorted by length inside the encoder; rows must still come back in order.
    single = np.stack([encoder.encode_passages([t])[0] for t in texts[:3]])
    assert (single * encoder.encode_passages(texts[:3])).sum(1).min() >= 0.9999


def test_empty_input_gives_no_rows(encoder):
    assert encoder.encode_queries([]).shape == (0, encoder.dim)


def test_unknown_backend_is_one_clear_error():
    with pytest.raises(EncoderError, match="use one of onnx, torch"):
        Encoder(backend="tensorrt")


def test_an_up_to_date_export_is_reused_without_loading_the_model(encoder):
    target = onnx_model.onnx_path(encoder.folder)
    stamp = json.loads(target.with_suffix(".json").read_text(encoding="utf-8"))
    assert stamp == onnx_model._export_stamp(encoder.folder)
    calls = []
    assert onnx_model.ensure_onnx(encoder.folder, lambda: calls.append(1)) == target
    assert calls == []  # up to date: the model is not even loaded


@pytest.mark.slow
def test_a_stale_export_is_exported_again(tmp_path, encoder):
    """Weights newer than the cached graph's stamp: the graph is exported again, atomically,
    and gives the same vectors."""
    folder = tmp_path / "model"
    folder.mkdir()
    for item in encoder.folder.iterdir():
        if item.name != onnx_model.ONNX_DIR:
            (folder / item.name).symlink_to(item)
    target = onnx_model.onnx_path(folder)
    target.parent.mkdir()
    target.write_bytes(b"not a graph")
    target.with_suffix(".json").write_text(json.dumps({"export_version": 0}), encoding="utf-8")
    loads = []
    assert onnx_model.ensure_onnx(folder, lambda: loads.append(1) or encoder.model) == target
    assert loads == [1] and target.stat().st_size > 100_000_000
    assert json.loads(target.with_suffix(".json").read_text(encoding="utf-8")) == onnx_model._export_stamp(folder)
    assert not list(target.parent.glob("*.tmp-*"))
    fresh = Encoder(str(folder))
    assert fresh.backend == "onnx"
    assert (fresh.encode_queries(["测试"]) * encoder.encode_queries(["测试"])).sum() >= 0.9999


def test_a_model_folder_that_cannot_take_the_graph_falls_back_to_torch(tmp_path, encoder, monkeypatch):
    def refuse(folder, load_model):
        raise PermissionError(13, "Permission denied", str(folder))

    monkeypatch.setattr(onnx_model, "ensure_onnx", refuse)
    fallback = Encoder()
    assert fallback.backend == "torch"
    assert (fallback.encode_queries(["测试"]) * encoder.encode_queries(["测试"])).sum() >= 0.9999


def test_pipeline_config_reads_the_folder(encoder):
    config = onnx_model.pipeline_config(encoder.folder)
    assert config == onnx_model.PipelineConfig("mean", {"query": "query: ", "passage": "passage: "}, 512, 384)


def test_a_stack_onnx_cannot_reproduce_falls_back_to_torch(tmp_path, encoder):
    import shutil

    folder = tmp_path / "model"
    shutil.copytree(encoder.folder, folder, ignore=shutil.ignore_patterns("onnx"))
    modules = json.loads((folder / "modules.json").read_text())
    pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
    pooling.update(pooling_mode_mean_tokens=False, pooling_mode_max_tokens=True)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    with pytest.raises(onnx_model.UnsupportedModel):
        onnx_model.pipeline_config(folder)
    fallback = Encoder(str(folder))
    assert fallback.backend == "torch" and len(modules) == 3
    assert fallback.encode_queries(["测试"]).shape == (1, 384)
