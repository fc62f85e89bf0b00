"""The one split by document that every tuned part of zhqa uses: weights, thresholds and
checkpoints are chosen on the train folds, and numbers are reported on the validation fold.

A document's fold is a hash of its article title (its id when it has none), so all the
paragraphs of one article, and all the questions about them, fall in the same fold."""
from __future__ import annotations

import hashlib

FOLDS = 5
VALIDATION_FOLD = 0


def fold_of(key: str, k: int = FOLDS) -> int:
    """Deterministic fold of ``key`` (an article title): sha1 of "fold:" + key, modulo ``k``."""
    return int(hashlib.sha1(("fold:" + key).encode("utf-8")).hexdigest(), 16) % k


def is_validation(key: str) -> bool:
    """Whether ``key``'s article is in the validation fold (fold 0 of 5, about a fifth)."""
    return fold_of(key) == VALIDATION_FOLD


def validation_part(key: str, parts: int = 4) -> int:
    """Which of ``parts`` equal parts of the validation fold ``key``'s article falls in
    (0 .. parts-1): sha1 of "fold:" + key modulo FOLDS * parts, which is its fold modulo FOLDS,
    so the parts split fold 0 alone, by article. Used where a part's rows must teach what the
    validation fold alone can teach honestly (``qa train-choice``), each reported part answered
    by a fit that never saw it."""
    return fold_of(key, FOLDS * parts) // FOLDS
