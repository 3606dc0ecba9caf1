"""Paired comparisons of two predictors on the same test rows, with uncertainty.

Both predictors are scored on the same rows (pooled over every fold's test sessions). A
statistic maps per-row arrays (e.g. true and predicted labels, or per-row errors) to a number;
with several seeds the figure of a system is the mean of its seeds' figures. Then, with one
resampling unit for everything (whole groups: dialogues, or sessions; rows of one dialogue are
not independent):

- delta: figure(a) - figure(b) on all rows;
- the bootstrap: `n_boot` resamples of the groups with replacement, delta recomputed on each;
- ci95: the equal-tailed 95 % interval of those deltas, as order statistics: the k-th smallest
  and k-th largest with k = ceil(0.025 * n_boot) (so nothing is interpolated);
- p: two-sided, from the same resamples (the interval inverted): twice the smaller of the
  fractions of deltas <= 0 and >= 0, at most 1 and at least 1 / n_boot (the resolution).

So the interval excludes 0 exactly when p < 0.05: the two never disagree. `better`: a beats b,
the interval lies wholly on a's side. Identical predictors give delta 0, ci95 [0, 0] and p 1.
(An earlier version took p from a permutation of single rows while the interval resampled
dialogues; on a few dialogues the two disagreed.)
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

Stat = Callable[..., float]
ALPHA = 0.05
TEST = "bootstrap over groups; p from the same resamples (the interval inverted)"


def _figure(stat: Stat, rows: Sequence[tuple], idx=None) -> float:
    """Mean over seeds of stat(*arrays) (each seed's per-row arrays, subset by idx)."""
    if idx is None:
        return float(np.mean([stat(*r) for r in rows]))
    return float(np.mean([stat(*(x[idx] for x in r)) for r in rows]))


def interval_and_p(boots: np.ndarray) -> tuple[float, float, float]:
    """(lo, hi, p) of bootstrap deltas: the order-statistic 95 % interval and its inverted p."""
    n = len(boots)
    k = math.ceil(ALPHA / 2 * n)
    if k < 2:
        raise ValueError(f"n_boot={n} is too few for a 95 % interval (more than {int(2 / ALPHA)})")
    s = np.sort(boots)
    tail = min(int(np.sum(s <= 0)), int(np.sum(s >= 0)))
    return float(s[k - 1]), float(s[n - k]), min(1.0, max(2 * tail, 1) / n)


def paired(stat: Stat, a: Sequence[tuple], b: Sequence[tuple], groups: np.ndarray,
           higher_is_better: bool, n_boot: int = 1000, seed: int = 0) -> dict:
    """Compare systems a and b: lists (one per seed) of tuples of per-row arrays.

    Rows are aligned across systems and seeds. `groups` (N,) are the resampling units.
    """
    groups = np.asarray(groups).astype(str)
    delta = _figure(stat, a) - _figure(stat, b)
    rng = np.random.default_rng(seed)
    names, inverse = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(inverse == g) for g in range(len(names))]
    boots = np.empty(n_boot)
    for i in range(n_boot):
        pick = rng.integers(0, len(members), len(members))
        idx = np.concatenate([members[g] for g in pick])
        boots[i] = _figure(stat, a, idx) - _figure(stat, b, idx)
    lo, hi, p = interval_and_p(boots)
    better = lo > 0 if higher_is_better else hi < 0
    return {"delta": round(delta, 6), "ci95": [round(lo, 6), round(hi, 6)], "p": round(p, 6),
            "higher_is_better": higher_is_better, "better": bool(better),
            "excludes_zero": bool(lo > 0 or hi < 0), "n_rows": len(groups),
            "n_groups": len(members), "test": TEST}

