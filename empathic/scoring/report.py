"""The metrics JSON every task writes (DESIGN.md contract), built from per-fold figures.

    {"protocol": "loso-session", "n_test": 1234, "folds": [...],
     "models":    {name: {metric: {"mean", "std", "per_fold"}}},
     "baselines": {name: {metric: {"mean", "std", "per_fold"}}},
     "best": name, ...extra}

std is the population standard deviation over folds (0 for one fold). Numbers are rounded to
6 decimals so reruns diff cleanly.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

DIGITS = 6


def _num(x: float) -> float:
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"metric value {x} is not finite")
    return round(x, DIGITS)


def summarize(per_fold: Sequence[float]) -> dict:
    """{"mean", "std", "per_fold"} of one metric over folds."""
    v = np.asarray(per_fold, dtype=np.float64)
    return {"mean": _num(v.mean()), "std": _num(v.std()), "per_fold": [_num(x) for x in v]}


def table(per_fold: Sequence[Mapping[str, float]]) -> dict:
    """[{metric: value} per fold] -> {metric: summary}; every fold must have the same metrics."""
    names = list(per_fold[0])
    for f in per_fold:
        if list(f) != names:
            raise ValueError(f"folds disagree on metric names: {names} vs {list(f)}")
    return {m: summarize([f[m] for f in per_fold]) for m in names}


def build(protocol: str, folds: Sequence[str], n_test: int,
          models: Mapping[str, Sequence[Mapping[str, float]]],
          baselines: Mapping[str, Sequence[Mapping[str, float]]], best: str, **extra) -> dict:
    """Assemble the report; `models`/`baselines` map name -> per-fold metric dicts."""
    if best not in models:
        raise ValueError(f"best model '{best}' is not among the models {list(models)}")
    for name, per_fold in {**models, **baselines}.items():
        if len(per_fold) != len(folds):
            raise ValueError(f"{name}: {len(per_fold)} fold results for {len(folds)} folds")
    return {"protocol": protocol, "n_test": int(n_test), "folds": list(folds),
            "models": {k: table(v) for k, v in models.items()},
            "baselines": {k: table(v) for k, v in baselines.items()},
            "best": best, **extra}
