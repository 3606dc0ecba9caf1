"""Classification losses for imbalanced emotion classes: ce, weighted_ce, class_balanced.

- ``ce``: plain cross-entropy.
- ``weighted_ce``: cross-entropy with inverse-frequency weights ``w_c = 1 / n_c``.
- ``class_balanced``: cross-entropy weighted by the inverse effective number of samples
  (Cui et al., CVPR 2019): ``E_c = (1 - beta^{n_c}) / (1 - beta)``, ``w_c = 1 / E_c``.
  ``beta = 0`` gives plain CE; ``beta -> 1`` tends to ``weighted_ce``.

Weights are normalised to sum to the number of classes that have training samples, as in the
paper; a class without training samples gets weight 0 (it never occurs as a target there).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

LOSSES = ("ce", "weighted_ce", "class_balanced")


def _normalise(raw: np.ndarray, counts: np.ndarray) -> np.ndarray:
    present = counts > 0
    if not present.any():
        raise ValueError("no training samples in any class")
    w = np.zeros(len(counts), dtype=np.float64)
    w[present] = raw[present] * present.sum() / raw[present].sum()
    return w


def inverse_frequency_weights(counts) -> np.ndarray:
    """``w_c ∝ 1 / n_c``, normalised to sum to the number of classes present."""
    counts = np.asarray(counts, dtype=np.float64)
    raw = np.divide(1.0, counts, out=np.zeros_like(counts), where=counts > 0)
    return _normalise(raw, counts)


def class_balanced_weights(counts, beta: float) -> np.ndarray:
    """``w_c ∝ (1 - beta) / (1 - beta^{n_c})``, normalised to sum to the number of classes present."""
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"beta must lie in [0, 1), got {beta}")
    counts = np.asarray(counts, dtype=np.float64)
    effective = np.where(counts > 0, 1.0 - np.power(beta, counts), 1.0)
    raw = np.where(counts > 0, (1.0 - beta) / effective, 0.0)
    return _normalise(raw, counts)


def class_weights(kind: str, counts, beta: float = 0.999) -> np.ndarray | None:
    """Per-class weights for `kind` (None for plain CE)."""
    if kind == "ce":
        return None
    if kind == "weighted_ce":
        return inverse_frequency_weights(counts)
    if kind == "class_balanced":
        return class_balanced_weights(counts, beta)
    raise ValueError(f"unknown loss {kind!r}; expected one of {list(LOSSES)}")


def make_loss(kind: str, counts, beta: float = 0.999) -> nn.CrossEntropyLoss:
    """A cross-entropy module weighted as `kind` asks, from the training-class counts."""
    w = class_weights(kind, counts, beta)
    return nn.CrossEntropyLoss(weight=None if w is None else torch.tensor(w, dtype=torch.float32))
