"""The metrics JSON every task writes, built from figures per fold and seed.

    {"protocol": "loso-session: 3 train / 1 val / 1 test sessions per fold", "n_test": 1234,
     "folds": [...], "seeds": [0, 1, 2],
     "models":    {name: {metric: {"mean", "std", "per_fold", "per_seed"}}},
     "baselines": {name: {metric: {"mean", "std", "per_fold", "per_seed"}}},
     "best": name, "comparisons": {...}, ...extra}

Figures come in fold-major order (fold 1 seed 1, fold 1 seed 2, ...). mean / std are over every
fold and seed (std: population); per_fold is each fold's mean over seeds, per_seed each seed's
mean over folds. Numbers are rounded to 6 decimals so reruns diff cleanly.
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


def summarize(values: Sequence[float], n_folds: int, n_seeds: int) -> dict:
    """{"mean", "std", "per_fold", "per_seed"} of one metric over folds x seeds."""
    v = np.asarray(values, dtype=np.float64).reshape(n_folds, n_seeds)
    out = {"mean": _num(v.mean()), "std": _num(v.std()),
           "per_fold": [_num(x) for x in v.mean(axis=1)]}
    if n_seeds > 1:
        out["per_seed"] = [_num(x) for x in v.mean(axis=0)]
    return out


def table(per_unit: Sequence[Mapping[str, float]], n_folds: int, n_seeds: int) -> dict:
    """[{metric: value} per fold and seed] -> {metric: summary}; same metrics everywhere."""
    names = list(per_unit[0])
    for f in per_unit:
        if list(f) != names:
            raise ValueError(f"folds disagree on metric names: {names} vs {list(f)}")
    return {m: summarize([f[m] for f in per_unit], n_folds, n_seeds) for m in names}


def build(protocol: str, folds: Sequence[str], seeds: Sequence[int], n_test: int,
          models: Mapping[str, Sequence[Mapping[str, float]]],
          baselines: Mapping[str, Sequence[Mapping[str, float]]], best: str, **extra) -> dict:
    """Assemble the report; `models`/`baselines` map name -> metric dicts per fold and seed."""
    if best not in models:
        raise ValueError(f"best model '{best}' is not among the models {list(models)}")
    n_f, n_s = len(folds), len(seeds)
    for name, per_unit in {**models, **baselines}.items():
        if len(per_unit) != n_f * n_s:
            raise ValueError(f"{name}: {len(per_unit)} results for {n_f} folds x {n_s} seeds")
    return {"protocol": protocol, "n_test": int(n_test), "folds": list(folds),
            "seeds": [int(s) for s in seeds],
            "models": {k: table(v, n_f, n_s) for k, v in models.items()},
            "baselines": {k: table(v, n_f, n_s) for k, v in baselines.items()},
            "best": best, **extra}
