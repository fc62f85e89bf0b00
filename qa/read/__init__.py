"""Extractive reader: finds answer spans in passages (question + passage -> character offsets).

``qa.read.reader.Reader`` runs the shipped ONNX model; ``qa train-reader`` (qa_train/train_reader.py)
rebuilds it from the shared SQuAD-style data; ``qa.read.data`` holds the split (``fold_of``), windowing and metric.
"""
from __future__ import annotations

__all__ = ["fold_of"]

from qa.read.data import fold_of
