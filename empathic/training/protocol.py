"""The protocol both training and evaluation follow: a task's usable rows, the folds
`split.folds` selects, the minimum-data warnings, whether models are refitted on train +
validation, where a unit's checkpoints live, and the outputs of a task the corpus cannot run."""
from __future__ import annotations

import sys
from pathlib import Path

from ..atomic import atomic_path
from ..config import params as P
from ..errors import EmpathicError
from ..folds import select_folds, size_warnings
from .data import FeatureBank, Rows, Tables
from .task import Task


def prepare(task: Task, tables: Tables, bank: FeatureBank) -> tuple[Rows, list[dict]]:
    """The task's rows and the folds `split.folds` selects; prints what was dropped."""
    reason = task.skip_reason(bank)
    if reason:
        raise EmpathicError(f"{task.name}: cannot run on this corpus: {reason}")
    rows = task.assemble(tables, bank)
    if not len(rows):
        raise EmpathicError(f"{task.name}: no usable rows (dropped: {rows.dropped})")
    drops = ", ".join(f"{k}: {v}" for k, v in rows.dropped.items()) or "none"
    print(f"{task.name}: {len(rows)} of {rows.n_candidates} rows usable; dropped {drops}")
    folds = select_folds(tables.folds, P.get(task.prm, "split.folds"))
    for w in too_small(rows, folds):
        print(f"warning: {task.name}: too little data for the protocol: {w}; figures are "
              "unreliable and no comparison is claimed", file=sys.stderr)
    return rows, folds


def too_small(rows: Rows, folds: list[dict]) -> list[str]:
    """The minimum-data warnings (empathic.folds.size_warnings) of these rows and folds."""
    return size_warnings(rows.groups, rows.extra.get("dialog_key", rows.groups), folds)


def rows_info(rows: Rows) -> dict:
    return {"candidates": int(rows.n_candidates), "used": len(rows),
            "dropped": {k: int(v) for k, v in rows.dropped.items()}}


def refit_enabled(task: Task) -> bool:
    return bool(P.get(task.prm, "split.refit"))


def unit_dir(fold: dict, seed: int) -> str:
    return f"{fold['name']}/s{seed}"


def write_skipped(task: Task, reason: str, protocol: str, models_dir: Path | None = None,
                  live_dir: Path | None = None) -> None:
    """The training outputs of a task skipped on this corpus: models_dir/summary.json names the
    reason; the plots folder exists, empty (evaluate writes the metrics side)."""
    import shutil

    from ..atomic import write_json
    if models_dir is not None:
        with atomic_path(models_dir) as tmp:
            tmp.mkdir()
            write_json(tmp / "summary.json", {"task": task.name, "protocol": protocol,
                                              "skipped": reason})
    if live_dir is not None:
        d = live_dir / "plots" / "metrics"
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    print(f"{task.name}: skipped ({reason})")
