"""The listwise fit of a LinearRanker (qa/ranker.py), shared by `qa train-fusion` and `qa train-choice`."""
from __future__ import annotations

import numpy as np

from qa.ranker import LinearRanker


def listwise_fit(x: np.ndarray, relevant: np.ndarray, groups: np.ndarray, features: tuple[str, ...], l2: float = 1e-3,
                 question_weights: np.ndarray | None = None) -> LinearRanker:
    """Fit a LinearRanker: minimise, over questions, -log of the softmax probability mass on
    the relevant candidates (``groups``: the first row of each question's candidates, in
    order; every question has at least one relevant and one other candidate), plus
    ``l2`` times the squared weights; ``question_weights`` weigh the questions' terms.
    L-BFGS over standardised features."""
    from scipy.optimize import minimize

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    starts = groups
    sizes = np.diff(np.append(starts, len(x)))
    owner = np.repeat(np.arange(len(starts)), sizes)
    rel = relevant.astype(bool)
    qw = np.ones(len(starts)) if question_weights is None else np.asarray(question_weights, dtype=np.float64)
    qw = qw / qw.sum()

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        s = z @ w
        top = np.maximum.reduceat(s, starts)
        e = np.exp(s - top[owner])
        all_mass = np.add.reduceat(e, starts)
        pos_mass = np.add.reduceat(np.where(rel, e, 0.0), starts)
        value = float(qw @ (np.log(all_mass) - np.log(pos_mass))) + l2 * float(w @ w)
        p = e / all_mass[owner]
        q = np.where(rel, e, 0.0) / pos_mass[owner]
        grad = z.T @ ((p - q) * qw[owner]) + 2 * l2 * w
        return value, grad

    done = minimize(loss, np.zeros(z.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return LinearRanker(features, mean, scale, done.x)
