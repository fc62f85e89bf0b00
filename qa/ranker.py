"""The linear ranker that hybrid mode's fusion (qa/retrieve/fusion.py) and the sentence choice
(qa/answer/choice.py) both ship: a score over standardised, named features, read from and
written to a model file's JSON. It is fitted by qa_train/listwise.py."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LinearRanker:
    """score = ((x - mean) / scale) · weights, over named features."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray

    def score(self, x: np.ndarray) -> np.ndarray:
        if x.shape[1] != len(self.features):
            raise ValueError(f"expected {len(self.features)} features, got {x.shape[1]}")
        return ((x - self.mean) / self.scale) @ self.weights

    def to_json(self) -> dict:
        return {"features": list(self.features), "mean": self.mean.round(8).tolist(), "scale": self.scale.round(8).tolist(),
                "weights": self.weights.round(8).tolist()}

    @classmethod
    def from_json(cls, row: dict, expected: tuple[str, ...], model: str = "fusion model",
                  retrain: str = "qa train-fusion") -> LinearRanker:
        """A ranker from its file's entry; a file fitted on other features than ``expected`` is
        refused, naming the ``model`` and the command that refits it."""
        if tuple(row["features"]) != expected:
            raise ValueError(f"the {model}'s features are not this version's; retrain it with `{retrain}`")
        return cls(tuple(row["features"]), *(np.asarray(row[k], dtype=np.float64) for k in ("mean", "scale", "weights")))
