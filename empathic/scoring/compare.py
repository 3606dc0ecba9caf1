"""Paired comparisons of two predictors on the same test rows, with uncertainty.

Both predictors are scored on the same rows (pooled over every fold's test sessions). A
statistic maps per-row arrays (e.g. true and predicted labels, or per-row errors) to a number;
with several seeds the figure of a system is the mean of its seeds' figures. Then:

- delta: figure(a) - figure(b);
- ci95: the 2.5 / 97.5 percentiles of delta over bootstrap resamples of whole groups (sessions
  or dialogues, drawn with replacement: rows of one speaker are not independent);
- p: a two-sided paired permutation test: each row's two predictions are swapped at random
  (the same swap for every seed) and delta recomputed; p = (1 + #|delta*| >= |delta|) / (1 + R).
  Identical predictors give delta 0 and p = 1.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

Stat = Callable[..., float]


def _figure(stat: Stat, rows: Sequence[tuple], idx=None) -> float:
    """Mean over seeds of stat(*arrays) (each seed's per-row arrays, subset by idx)."""
    if idx is None:
        return float(np.mean([stat(*r) for r in rows]))
    return float(np.mean([stat(*(x[idx] for x in r)) for r in rows]))


def paired(stat: Stat, a: Sequence[tuple], b: Sequence[tuple], groups: np.ndarray,
           higher_is_better: bool, n_boot: int = 1000, n_perm: int = 1000,
           seed: int = 0) -> dict:
    """Compare systems a and b: lists (one per seed) of tuples of per-row arrays.

    Rows are aligned across systems and seeds. `groups` (N,) are the resampling units.
    """
    groups = np.asarray(groups).astype(str)
    n = len(groups)
    delta = _figure(stat, a) - _figure(stat, b)
    rng = np.random.default_rng(seed)
    names, inverse = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(inverse == g) for g in range(len(names))]
    boots = np.empty(n_boot)
    for i in range(n_boot):
        pick = rng.integers(0, len(members), len(members))
        idx = np.concatenate([members[g] for g in pick])
        boots[i] = _figure(stat, a, idx) - _figure(stat, b, idx)
    lo, hi = np.percentile(boots, [2.5, 97.5])
    exceed = 0
    # pair seeds (a seed of b is reused when b has fewer, e.g. a deterministic baseline)
    pairs = [(a[s], b[s % len(b)]) for s in range(max(len(a), len(b)))]
    for _ in range(n_perm):
        swap = rng.random(n) < 0.5
        sa = [tuple(np.where(_col(swap, x), x, y) for x, y in zip(ra, rb)) for ra, rb in pairs]
        sb = [tuple(np.where(_col(swap, x), y, x) for x, y in zip(ra, rb)) for ra, rb in pairs]
        if abs(_figure(stat, sa) - _figure(stat, sb)) >= abs(delta) - 1e-12:
            exceed += 1
    better = delta > 0 if higher_is_better else delta < 0
    excludes = bool(lo > 0 or hi < 0)
    return {"delta": round(delta, 6), "ci95": [round(float(lo), 6), round(float(hi), 6)],
            "p": round((1 + exceed) / (1 + n_perm), 6), "higher_is_better": higher_is_better,
            "better": bool(better and excludes), "n_rows": int(n), "n_groups": len(members)}


def _col(mask: np.ndarray, x: np.ndarray) -> np.ndarray:
    """`mask` (N,) shaped to broadcast against x (N, ...)."""
    return mask.reshape((-1,) + (1,) * (np.ndim(x) - 1))
