"""The fold loops behind `stages.train` and `stages.evaluate`, the same for every task.

train: assemble rows once; per selected fold fit scalers on its training rows, train with early
stopping on its validation rows, save models/<task>/<fold>.pt. The test rows are not touched.
evaluate: per fold load the checkpoint, predict the test rows once, score them beside the
task's baselines on the same rows, then write metrics/<task>.json and the task's figures.
"""
from __future__ import annotations

import json
from pathlib import Path

from .. import params as P
from ..atomic import atomic_path, write_json
from ..errors import EmpathicError
from ..folds import select_folds
from ..scoring import report
from . import checkpoint
from .data import FeatureBank, Rows, Tables, apply_scalers, fit_scalers, fold_masks
from .task import FoldResult, Task
from .trainer import Trainer, pick_device, seed_everything, small_cpu_threads


def prepare(task: Task, tables: Tables, bank: FeatureBank) -> tuple[Rows, list[dict]]:
    """The task's rows and the folds `split.folds` selects; prints what was dropped (and the
    inputs left out because the corpus lacks them)."""
    reason = task.skip_reason(bank)
    if reason:
        raise EmpathicError(f"{task.name}: cannot run on this corpus: {reason}")
    rows = task.assemble(tables, bank)
    if not len(rows):
        raise EmpathicError(f"{task.name}: no usable rows (dropped: {rows.dropped})")
    drops = ", ".join(f"{k}: {v}" for k, v in rows.dropped.items()) or "none"
    print(f"{task.name}: {len(rows)} of {rows.n_candidates} rows usable; dropped {drops}")
    return rows, select_folds(tables.folds, P.get(task.prm, "split.folds", "all"))


def rows_info(rows: Rows) -> dict:
    return {"candidates": int(rows.n_candidates), "used": len(rows),
            "dropped": {k: int(v) for k, v in rows.dropped.items()}}


def open_live(live_dir: Path):
    """A dvclive logger in `live_dir` (dvc.yaml declares its plots; no dvclive-made exps)."""
    from dvclive import Live
    from scmrepo.exceptions import SCMError

    try:
        return Live(str(live_dir), dvcyaml=None, save_dvc_exp=False, report=None)
    except SCMError as e:   # dvclive cannot start in a git repository without commits
        raise EmpathicError(f"dvclive: {e}; make a first `git commit`, then rerun") from None


def train(task: Task, tables: Tables, bank: FeatureBank, models_dir: Path, live_dir: Path | None,
          progress: bool = True) -> list[dict]:
    """Train one model per selected fold; returns a summary per fold."""
    rows, folds = prepare(task, tables, bank)
    device = pick_device(task.hp.device)
    small_cpu_threads(task.hp.device)
    live = open_live(live_dir) if live_dir is not None else None
    trainer = Trainer(task.hp, device, live=live, progress=progress)
    summaries = []
    with atomic_path(models_dir) as tmp:
        tmp.mkdir()
        for fold in folds:
            tr, va, _ = fold_masks(rows.groups, fold)
            train_rows, val_rows = rows.take(tr), rows.take(va)
            xs = fit_scalers(train_rows.X)
            ys = fit_scalers(train_rows.Y, task.scaled_targets(rows))
            seed_everything(task.hp.seed, device)    # the initial weights follow the seed too
            model = task.build_model(rows)
            res = trainer.fit(model, task.loss,
                              (apply_scalers(train_rows.X, xs), apply_scalers(train_rows.Y, ys)),
                              (apply_scalers(val_rows.X, xs), apply_scalers(val_rows.Y, ys)),
                              tag=fold["name"])
            info = {"best_epoch": res.best_epoch, "best_val_loss": res.best_val_loss,
                    "epochs_run": res.epochs_run,   # no timings: same inputs, same bytes
                    "n_train": int(tr.sum()), "n_val": int(va.sum()), "device": device.type}
            checkpoint.save(tmp / f"{fold['name']}.pt", task=task.name, fold=fold, model=model,
                            input_names={m: rows.x_names[m] for m in task.inputs},
                            target_names={t: rows.y_names[t] for t in rows.Y},
                            input_scalers=xs, target_scalers=ys, params=task.cfg,
                            hparams=task.hp.as_dict(), info=info)
            print(f"{task.name} fold {fold['name']}: best epoch {res.best_epoch}/{res.epochs_run}, "
                  f"val loss {res.best_val_loss:.4f} ({res.seconds:.1f} s on {device.type})")
            summaries.append({"fold": fold["name"], **info})
        (tmp / "summary.json").write_text(json.dumps(
            {"task": task.name, "rows": rows_info(rows), "folds": summaries}, indent=2) + "\n")
    # No live.end(): it would only add a summary metrics.json that no stage declares (the curves
    # are complete on disk after each log_metric; dvclive's own experiment saving is off).
    return summaries


def evaluate(task: Task, tables: Tables, bank: FeatureBank, models_dir: Path,
             metrics_path: Path, figures_dir: Path | None) -> dict:
    """Score every fold's test rows, for the model and the baselines; write the report."""
    rows, folds = prepare(task, tables, bank)
    results: list[FoldResult] = []
    model_scores, base_scores = [], {}
    for fold in folds:
        tr, _, te = fold_masks(rows.groups, fold)
        model = checkpoint.load_model(models_dir / f"{fold['name']}.pt", task.hp.device)
        if model.fold != fold:
            raise EmpathicError(f"{models_dir}/{fold['name']}.pt was trained on another split; "
                                f"run `dvc repro train@{task.name}`")
        test = rows.take(te)
        pred = model.predict(test.X)
        model_scores.append(task.score(test, pred, model))
        base = task.baselines(rows.take(tr), test, model)
        for name, bpred in base.items():
            base_scores.setdefault(name, []).append(task.score(test, bpred, model))
        results.append(FoldResult(fold, test, pred, base))
    doc = report.build(tables.folds.get("protocol", "unknown"), [f["name"] for f in folds],
                       sum(len(r.test) for r in results), {task.model_name: model_scores},
                       base_scores, best=task.model_name, rows=rows_info(rows))
    write_json(metrics_path, doc)
    if figures_dir is not None:
        with atomic_path(figures_dir) as tmp:
            tmp.mkdir()
            task.figures(tmp, results)
    return doc
