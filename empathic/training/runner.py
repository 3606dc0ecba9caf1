"""Training for every task: folds x seeds, scalers, the one Trainer, checkpoints, curves.

`train(task, ...)` assembles the task's rows once, then runs one unit per (fold, seed) through
the executor seam (`training.executor`: a local pool or Dask). A unit trains every model the task
declares for that fold and seed (scalers fitted on the fold's training rows, early stopping on
its validation sessions, `split.refit`: retrained on train + validation for the epoch count early
stopping chose) and the task's ensembles, and returns checkpoint bytes and learning curves; this
process writes them, so the outputs are the same whatever ran the units. Models and curves are
replaced together: both are written to temporary folders and renamed at the end. Test sessions
are never touched here (empathic.training.evaluate scores them).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..atomic import replace_together
from ..errors import EmpathicError
from . import checkpoint
from .batching import GraphSplit, RowSplit
from .data import FeatureBank, Rows, Tables, apply_scalers, fit_scalers, fold_masks
from .protocol import prepare, refit_enabled, rows_info, unit_dir
from .task import EnsembleFold, ModelSpec, Task
from .trainer import Trainer, pick_device, seed_everything, small_cpu_threads


@dataclass
class Fitted:
    spec: ModelSpec
    net: object
    xs: dict
    ys: dict
    best_epoch: int
    data: bytes = b""


@dataclass
class UnitResult:
    files: dict[str, bytes] = field(default_factory=dict)
    curves: dict[str, list] = field(default_factory=dict)
    summary: dict = field(default_factory=dict)


class Unit:
    """One fold and seed: fits the task's models (and ensembles) on that fold's rows."""

    def __init__(self, task: Task, rows: Rows, fold: dict, seed: int, progress: bool,
                 corpus: dict | None = None):
        self.task, self.rows, self.fold, self.seed = task, rows, fold, seed
        self.corpus = corpus     # folds.json `corpus` (name, built-in sample), into checkpoints
        self.device = pick_device(task.hp.device)
        self.progress = progress
        self.masks = fold_masks(rows.groups, fold)
        self.train, self.val = rows.take(self.masks[0]), rows.take(self.masks[1])
        self.fitted: dict[str, Fitted] = {}

    def split(self, spec: ModelSpec, rows: Rows, xs: dict, ys: dict):
        X = apply_scalers({m: rows.X[m] for m in spec.inputs}, xs)
        Y = apply_scalers(rows.Y, ys)
        if self.task.batching == "rows":
            return RowSplit(X, Y, self.device)
        from ..nets.graph import dialogue_edges
        edges = dialogue_edges(rows.extra["dialog"], rows.extra["pos"], spec.window,
                               list(spec.edge_types))
        Y = {k: np.where(rows.extra["labelled"], v, -1) for k, v in Y.items()}
        return GraphSplit(X, Y, rows.extra["dialog"], edges, self.device)

    def fit(self, spec: ModelSpec, train: Rows, val: Rows, tag: str, epochs: int | None = None,
            patience: int | None = None, keep_last: bool = False) -> tuple[Fitted, object]:
        """Scalers on `train`, a network seeded with the unit's seed, the one Trainer."""
        task = self.task
        train, val = task.model_rows(spec, train), task.model_rows(spec, val)
        xs = fit_scalers({m: train.X[m] for m in spec.inputs})
        ys = fit_scalers(train.Y, task.scaled_targets(train))
        seed_everything(self.seed, self.device)        # the initial weights follow the seed
        parent = self.fitted[spec.grow_from].net if spec.grow_from else None
        net = task.build(spec, train, parent, self.seed)
        hp = task.hp.with_(lr=spec.lr) if spec.lr else task.hp
        res = Trainer(hp, self.device, self.progress).fit(
            net, task.objective(task.scored(train)), self.split(spec, train, xs, ys),
            self.split(spec, val, xs, ys), self.seed, tag, epochs, patience, keep_last)
        return Fitted(spec, net, xs, ys, res.best_epoch), res

    def checkpoint(self, f: Fitted, info: dict) -> bytes:
        task, rows = self.task, self.rows
        return checkpoint.to_bytes(
            task=task.name, fold=self.fold, model=f.net,
            input_names={m: rows.x_names[m] for m in f.spec.inputs},
            target_names={t: rows.y_names[t] for t in rows.Y}, input_scalers=f.xs,
            target_scalers=f.ys, params=task.cfg, hparams=task.hp.as_dict(), info=info)

    def predictor(self, name: str) -> checkpoint.Predictor:
        return checkpoint.from_bytes(self.fitted[name].data, self.task.hp.device)

    def ensemble_fold(self) -> EnsembleFold:
        """What the task's decision fusion sees of this unit (the members are fitted)."""
        names = self.task.ensemble_members()
        specs = {s.name: s for s in self.task.models(self.rows)}
        val_outputs = {}
        for n in names:
            model = self.predictor(n)
            val_outputs[n] = model.predict({m: self.val.X[m] for m in model.inputs})

        def refit(name: str, train: Rows, rows: Rows) -> dict:
            """Member `name` retrained on `train` for its selected epoch count; its outputs
            on `rows`."""
            ep = self.fitted[name].best_epoch
            f, _ = self.fit(specs[name], train, train, f"oof/{name}", epochs=ep, patience=ep + 1)
            return self.split(specs[name], rows, f.xs, {}).outputs(f.net)

        return EnsembleFold(seed=self.seed, test_sessions=tuple(self.fold["test"]), val=self.val,
                            val_outputs=val_outputs, pool=self.rows.take(~self.masks[2]),
                            refit=refit)

    def run(self) -> UnitResult:
        out, tr, va = UnitResult(), self.masks[0], self.masks[1]
        refit = refit_enabled(self.task)
        for spec in self.task.models(self.rows):
            tag = f"{self.fold['name']}/{spec.name}"
            f, res = self.fit(spec, self.train, self.val, tag)
            info = {"best_epoch": res.best_epoch, "best_val_loss": round(res.best_val_loss, 6),
                    "epochs_run": res.epochs_run, "n_train": int(tr.sum()),
                    "n_val": int(va.sum()), "window": spec.window, "device": self.device.type}
            out.curves[tag] = res.curve
            if refit:       # the standard 4-session training: train + validation, fixed epochs
                both = self.rows.take(tr | va)
                f, _ = self.fit(spec, both, self.val, f"{tag}/refit", epochs=res.best_epoch,
                                keep_last=True)
                info["refit_on"] = int((tr | va).sum())
            f.data = self.checkpoint(f, {**info, "corpus": self.corpus} if self.corpus else info)
            self.fitted[spec.name] = f
            out.files[f"{spec.name}.pt"] = f.data
            out.summary[spec.name] = info
        state = self.task.fit_ensembles(self.ensemble_fold()) \
            if self.task.ensemble_members() else None
        if state is not None:
            out.files["ensembles.json"] = (json.dumps(state, indent=2) + "\n").encode()
        return out


def train_unit(task: Task, rows: Rows, fold: dict, seed: int, progress: bool = False,
               corpus: dict | None = None) -> UnitResult:
    """One (fold, seed) unit; module-level so any executor can run it."""
    small_cpu_threads(task.hp.device)
    return Unit(task, rows, fold, seed, progress, corpus).run()


def _run_unit(args) -> UnitResult:
    return train_unit(*args)


def open_live(live_dir: Path):
    """A dvclive logger in `live_dir` (dvc.yaml declares its plots; no dvclive-made exps)."""
    from dvclive import Live
    from scmrepo.exceptions import SCMError

    try:
        return Live(str(live_dir), dvcyaml=None, save_dvc_exp=False, report=None)
    except SCMError as e:   # dvclive cannot start in a git repository without commits
        raise EmpathicError(f"dvclive: {e}; make a first `git commit`, then rerun") from None


def write_curves(live_dir: Path, curves: dict[str, list]) -> None:
    """Learning curves of the first seed through dvclive (tsv per model) into `live_dir`."""
    live = open_live(live_dir)
    for tag, curve in curves.items():
        for epoch, tl, vl in curve:
            live.step = epoch
            live.log_metric(f"{tag}/train_loss", tl)
            live.log_metric(f"{tag}/val_loss", vl)


def map_units(task: Task, items: list, progress: bool) -> list[UnitResult]:
    """Run the units through the executor seam (`training.executor`), results in input order."""
    from ..execution import from_params
    with from_params(task.prm, "training") as ex:
        return ex.map(_run_unit, items, desc=f"train {task.name}", unit="fold x seed",
                      progress=progress, resources=ex.resources_for(task.hp.device))


def train(task: Task, tables: Tables, bank: FeatureBank, models_dir: Path, live_dir: Path | None,
          progress: bool = True) -> list[dict]:
    """Train every model of every selected fold and seed; returns a summary per unit."""
    rows, folds = prepare(task, tables, bank)
    units = [(fold, seed) for fold in folds for seed in task.hp.seeds]
    corpus = tables.folds.get("corpus")
    results = map_units(task, [(task, rows, f, s, False, corpus) for f, s in units], progress)
    summaries, first_seed = [], task.hp.seeds[0]
    targets = [models_dir] + ([live_dir] if live_dir is not None else [])
    with replace_together(targets) as tmps:     # models and curves: all old or all new
        tmp = tmps[0]
        tmp.mkdir()
        curves: dict[str, list] = {}
        for (fold, seed), res in zip(units, results):
            d = tmp / unit_dir(fold, seed)
            d.mkdir(parents=True)
            for name, data in res.files.items():
                (d / name).write_bytes(data)
            if seed == first_seed:
                curves.update(res.curves)
            print(f"{task.name} fold {fold['name']} seed {seed}: " + ", ".join(
                f"{k} epoch {v['best_epoch']}" for k, v in res.summary.items()))
            summaries.append({"fold": fold["name"], "seed": seed, "models": res.summary})
        (tmp / "summary.json").write_text(json.dumps(
            {"task": task.name, "seeds": list(task.hp.seeds), "refit": refit_enabled(task),
             "rows": rows_info(rows), "units": summaries}, indent=2) + "\n")
        if live_dir is not None:
            tmps[1].mkdir(parents=True)
            write_curves(tmps[1], curves)
            _figures_from_curves(tmps[1], curves, task.name)
    return summaries


def _figures_from_curves(live_dir: Path, curves: dict[str, list], task: str) -> None:
    """learning_curves.png: every model's train / validation loss per fold (first seed)."""
    if not curves:
        return
    from ..scoring.plots_curves import curves_png
    out = live_dir / "plots" / "metrics"
    out.mkdir(parents=True, exist_ok=True)
    curves_png(out / "learning_curves.png", curves, f"{task}: learning curves (first seed)")
