"""The metrics JSON every task writes, built from figures per fold and seed.

    {"protocol": "loso-session: 3 train / 1 val / 1 test sessions per fold", "n_test": 1234,
     "folds": [...], "seeds": [0, 1, 2],
     "models":    {name: {metric: {"mean", "std", "per_fold", "per_seed"}}},
     "baselines": {name: {metric: {"mean", "std", "per_fold", "per_seed"}}},
     "best": name, "comparisons": {...}, ...extra}

Figures come in fold-major order (fold 1 seed 1, fold 1 seed 2, ...). mean / std are over every
fold and seed (std: population); per_fold is each fold's mean over seeds, per_seed each seed's
mean over folds. Numbers are rounded to 6 decimals so reruns diff cleanly.

That full report is metrics/<task>/report.json, which DVC does not parse; DVC reads the
headline (`headline`, `write`): metrics/<task>.json (`best` and its figures) and one file per
model and baseline in metrics/<task>/table/, so `dvc metrics show` is a narrow long table.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
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


# -- what DVC reads: the headline --------------------------------------------------------------
# Per task, the metrics a reader looks at first (the README's table shows them all, DVC's the
# first two). DVC shows one row per metrics file and one column per key of all files together,
# so one file per task cannot hold every model (the four tasks' selection metrics alone are
# ~470 columns wide): the headline is a long table instead, one small file per model.
HEADLINE = {"response": ["nme", "nme_nonrigid", "expr_cosine", "pck_05", "landmarks_cosine"],
            "emotion": ["ua", "wa", "macro_f1", "impro_ua"],
            "dimensional": ["ccc_valence", "ccc_arousal", "ccc_dominance", "impro_ccc_valence"],
            "context": ["ua", "wa", "macro_f1", "impro_ua"],
            "reaction": ["fr_dist", "fr_corr", "fr_div", "nme"]}
DVC_METRICS = 2


def paths(metrics_path: str | os.PathLike) -> tuple[Path, Path, Path]:
    """(headline, full report, per-model table folder) of one task: metrics/<task>.json,
    metrics/<task>/report.json, metrics/<task>/table/."""
    head = Path(metrics_path)
    folder = head.with_suffix("")
    return head, folder / "report.json", folder / "table"


def columns(task: str, doc: dict) -> list[str]:
    """The headline metrics of a task present in its report (an unknown task: its first
    comparison metric, else its first metric)."""
    have = next(iter(doc["models"].values()), {})
    named = [m for m in HEADLINE.get(task, []) if m in have]
    if named:
        return named
    comps = [c["metric"] for c in doc.get("comparisons", {}).values()]
    return comps[:1] or list(have)[:1]


def headline(task: str, doc: dict) -> tuple[dict, dict[str, dict]]:
    """(the task's row, {model or baseline: its row}) from a full report.

    A row holds the first DVC_METRICS headline metrics (the first one's mean and std over folds
    x seeds, the others' mean) and, for
    every entry the selected model was compared with, `vs_best` on the first of them: delta
    (best minus this one), ci95, p, better (the selected model beats this one). The task's row
    is `best` and the selected model's figures (the same columns, so the table stays narrow,
    and what `dvc exp show --drop '.*/table/.*'` shows of an experiment).
    """
    if "skipped" in doc:
        return {"skipped": True}, {}
    cols = columns(task, doc)[:DVC_METRICS]
    comps = {}
    for c in doc.get("comparisons", {}).values():
        if c.get("metric") == cols[0]:
            comps.setdefault(c["vs"], c)
    rows = {}
    for kind in ("models", "baselines"):
        for name, entry in doc[kind].items():
            # mean and std of the first metric, the mean of the others (DVC's table is one
            # column per key of every file: each std is a column for all five tasks)
            row = {m: ({"mean": entry[m]["mean"], "std": entry[m]["std"]} if i == 0
                       else {"mean": entry[m]["mean"]}) for i, m in enumerate(cols)}
            if name in comps:
                c = comps[name]
                row["vs_best"] = {k: c[k] for k in ("delta", "ci95", "p", "better")}
            rows[name] = row
    return {"best": doc["best"], **rows[doc["best"]]}, rows


def write(task: str, metrics_path: str | os.PathLike, doc: dict) -> None:
    """The headline, the full report and the per-model table of a task, replaced together."""
    from ..atomic import replace_together, write_json
    head, full, table = paths(metrics_path)
    task_row, rows = headline(task, doc)
    with replace_together([head, full, table]) as (t_head, t_full, t_table):
        write_json(t_head, task_row)
        write_json(t_full, doc)
        t_table.mkdir()
        for name, row in rows.items():
            write_json(t_table / f"{name}.json", row)
