"""Metrics for dimensional emotion (valence, arousal, dominance on the 1-5 scale): CCC and MAE.

Lin's concordance correlation coefficient,
``ccc = 2 cov(y, p) / (var(y) + var(p) + (mean(y) - mean(p))^2)``, with population
(1/N) moments, as the AVEC/ETRI challenges compute it. A constant prediction scores 0.
"""
from __future__ import annotations

import numpy as np


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.float64).ravel()
    p = np.asarray(y_pred, dtype=np.float64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"{t.size} targets but {p.size} predictions")
    if t.size == 0:
        raise ValueError("no rows to score")
    if not (np.isfinite(t).all() and np.isfinite(p).all()):
        raise ValueError("targets and predictions must be finite")
    return t, p


def ccc(y_true, y_pred) -> float:
    """Concordance correlation coefficient in [-1, 1]; 0 when both sides are constant."""
    t, p = _pair(y_true, y_pred)
    mt, mp = t.mean(), p.mean()
    cov = ((t - mt) * (p - mp)).mean()
    denom = t.var() + p.var() + (mt - mp) ** 2
    return float(2 * cov / denom) if denom > 0 else 0.0


def mae(y_true, y_pred) -> float:
    t, p = _pair(y_true, y_pred)
    return float(np.abs(t - p).mean())


def score(y_true: np.ndarray, y_pred: np.ndarray, dims: list[str]) -> dict:
    """Flat metric dict for one fold: ccc_<dim> and mae_<dim> for each column of (N, D) arrays."""
    t = np.asarray(y_true, dtype=np.float64).reshape(-1, len(dims))
    p = np.asarray(y_pred, dtype=np.float64).reshape(-1, len(dims))
    out = {}
    for j, d in enumerate(dims):
        out[f"ccc_{d}"] = ccc(t[:, j], p[:, j])
    for j, d in enumerate(dims):
        out[f"mae_{d}"] = mae(t[:, j], p[:, j])
    return out
