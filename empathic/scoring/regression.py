"""Regression metrics on (N, D) arrays: MSE and mean row cosine similarity."""
from __future__ import annotations

import numpy as np


def _pair(pred, true) -> tuple[np.ndarray, np.ndarray]:
    pred = np.asarray(pred, dtype=np.float64)
    true = np.asarray(true, dtype=np.float64)
    if pred.shape != true.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from target shape {true.shape}")
    if pred.ndim == 1:
        pred, true = pred[:, None], true[:, None]
    return pred, true


def mse(pred, true) -> float:
    """Mean squared error over every element."""
    pred, true = _pair(pred, true)
    return float(np.mean((pred - true) ** 2))


def row_cosine(pred, true, eps: float = 1e-12) -> np.ndarray:
    """Cosine similarity of each row; a row where either vector is zero scores 0."""
    pred, true = _pair(pred, true)
    num = np.sum(pred * true, axis=1)
    den = np.linalg.norm(pred, axis=1) * np.linalg.norm(true, axis=1)
    return np.where(den > eps, num / np.maximum(den, eps), 0.0)


def cosine(pred, true) -> float:
    """Mean over rows of the cosine similarity between prediction and target."""
    return float(np.mean(row_cosine(pred, true)))
