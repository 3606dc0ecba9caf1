"""The task abstraction: what a learning problem must say; the runner does the rest.

A `Task` subclass (one module in empathic/training/tasks/<name>.py exposing `TASK`) overrides:

- `assemble(tables, bank) -> Rows`: inputs, targets and sessions of every usable row, the
  dropped rows counted by reason;
- `loss(outputs, targets)`: the objective on float32 output / target tensor dicts;
- `score(truth, pred, model)`: metric name -> value for one fold's test rows;
- optionally `scaled_targets` (which targets are standardised for training; classification: none),
  `head_dims`, `build_model`, `baselines` and `figures`;
- `run_train` / `run_evaluate` only when the task needs its own fold loops (e.g. several models
  per fold); the defaults are runner.train / runner.evaluate.

Hyper-params (hidden, fusion, lr, ...) come from `tasks.<name>` through `HParams`.
"""
from __future__ import annotations

import importlib
import pkgutil
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import params as P
from ..atomic import atomic_path, write_json
from ..errors import ParamError
from ..nets.fusion import FusionNet
from .checkpoint import Predictor
from .data import MODALITIES, FeatureBank, Rows, Tables
from .trainer import HParams


@dataclass
class FoldResult:
    """One fold's evaluation: its test rows, the model's predictions and the baselines'."""

    fold: dict
    test: Rows
    pred: dict[str, np.ndarray]
    baselines: dict[str, dict[str, np.ndarray]]


class Task:
    name: str = ""
    model_name: str = "fusion"   # the model's key in metrics/<task>.json

    def __init__(self, prm: dict):
        self.prm = prm
        self.key = f"tasks.{self.name}"
        self.cfg = P.get(prm, self.key)
        if not isinstance(self.cfg, dict):
            raise ParamError(f"param '{self.key}' must be a mapping")
        self.inputs = P.subset(prm, f"{self.key}.inputs", MODALITIES)
        self.hp = HParams.from_params(prm, self.key)

    # -- data ----------------------------------------------------------------------------------
    def skip_reason(self, bank: FeatureBank) -> str | None:
        """Leave out the inputs the corpus lacks entirely (every row failed with the extractor's
        'unavailable' reason, e.g. video on KEMDy), printing a note; returns why the task cannot
        run on this corpus at all, else None. Idempotent; `runner.prepare` calls it."""
        absent = {m: r for m in self.inputs if (r := bank.unavailable(m))}
        for m, r in absent.items():
            print(f"{self.name}: input {m} left out ({r})")
        if absent:
            self.inputs = [m for m in self.inputs if m not in absent]
            self.inputs_left_out(list(absent))
        return None if self.inputs else "none of its input modalities is available"

    def inputs_left_out(self, modalities: list[str]) -> None:
        """Hook: `self.inputs` lost `modalities` (update what was derived from them)."""

    def assemble(self, tables: Tables, bank: FeatureBank) -> Rows:
        raise NotImplementedError

    def scaled_targets(self, rows: Rows) -> set[str]:
        """Targets standardised on the training rows (the network predicts z-scores)."""
        return set(rows.Y)

    # -- model ---------------------------------------------------------------------------------
    def head_dims(self, rows: Rows) -> dict[str, int]:
        return {t: y.shape[1] for t, y in rows.Y.items()}

    def build_model(self, rows: Rows) -> torch.nn.Module:
        hp = self.hp
        return FusionNet({m: rows.X[m].shape[1] for m in self.inputs}, self.head_dims(rows),
                         hidden=hp.hidden, dropout=hp.dropout, fusion=hp.fusion, layers=hp.layers)

    def loss(self, out: dict[str, torch.Tensor], y: dict[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    # -- evaluation ----------------------------------------------------------------------------
    def score(self, truth: Rows, pred: dict[str, np.ndarray], model: Predictor) -> dict[str, float]:
        raise NotImplementedError

    def baselines(self, train: Rows, test: Rows, model: Predictor) -> dict[str, dict[str, np.ndarray]]:
        """Baseline name -> predictions on `test` (same units as model.predict)."""
        return {}

    def figures(self, out_dir: Path, results: list[FoldResult]) -> None:
        """Write task-specific figures (PNG) into out_dir."""

    # -- stage entry points --------------------------------------------------------------------
    def run_train(self, tables: Tables, bank: FeatureBank, models_dir: Path,
                  live_dir: Path | None, progress: bool = True) -> list[dict]:
        """stages.train: one model per fold (override for several models per fold)."""
        from . import runner
        return runner.train(self, tables, bank, models_dir, live_dir, progress)

    def run_evaluate(self, tables: Tables, bank: FeatureBank, models_dir: Path,
                     metrics_path: Path, figures_dir: Path | None) -> dict:
        """stages.evaluate: score each fold's test rows, write the report; returns it."""
        from . import runner
        return runner.evaluate(self, tables, bank, models_dir, metrics_path, figures_dir)


    def write_skipped(self, reason: str, protocol: str, models_dir: Path | None = None,
                      live_dir: Path | None = None, metrics_path: Path | None = None,
                      figures_dir: Path | None = None) -> None:
        """The outputs of a task skipped on this corpus: models_dir/summary.json and
        metrics_path ({"protocol", "skipped"}) name the reason; plot folders exist, empty."""
        doc = {"protocol": protocol, "skipped": reason}
        if models_dir is not None:
            with atomic_path(models_dir) as tmp:
                tmp.mkdir()
                write_json(tmp / "summary.json", {"task": self.name, **doc})
        for d in (live_dir and live_dir / "plots" / "metrics", figures_dir):
            if d is not None:
                shutil.rmtree(d, ignore_errors=True)
                d.mkdir(parents=True)
        if metrics_path is not None:
            write_json(metrics_path, doc)
        print(f"{self.name}: skipped ({reason})")


def available() -> list[str]:
    from . import tasks
    return sorted(m.name for m in pkgutil.iter_modules(tasks.__path__))


def load_task(name: str, prm: dict) -> Task:
    """The Task of empathic/training/tasks/<name>.py, built from params."""
    if name not in available():
        raise ParamError(f"unknown task '{name}'; tasks are {available()}")
    cls = importlib.import_module(f"{__package__}.tasks.{name}").TASK
    return cls(prm)
