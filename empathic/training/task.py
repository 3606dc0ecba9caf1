"""What a learning task declares; `empathic.training.runner` does everything else.

A task (one module in empathic/training/tasks/<name>.py exposing `TASK`, a `Task` subclass) says:

- `assemble(tables, bank) -> Rows`: inputs, targets and session of every usable row, the dropped
  rows counted by reason;
- `models(rows) -> [ModelSpec]`: the networks trained per fold and seed, simplest first (that
  order breaks selection ties); `build` makes one (default: the fusion network on its inputs);
- `batching`: "rows" (independent examples) or "dialogues" (whole dialogues as a graph);
- `objective(train) -> loss(outputs, targets)`: the loss for one fold's training rows;
- `predictions(outputs)`: network outputs in prediction units (class probabilities, values);
- `score(truth, pred, ref) -> {metric: value}` and `baselines(train, test, ref)`;
- `comparisons`: {metric: higher_is_better} for the paired intervals (`comparisons_of(rows)`
  when they follow the rows, e.g. the dimensions a corpus has), `row_stat(metric)`;
- `selection`: the validation metric that picks `best` (ties: validation loss, then order);
- optionally decision fusion: `ensemble_members()`, `fit_ensembles(EnsembleFold)` (the members'
  validation outputs, labels and out-of-fold refits, never the runner) and `apply_ensembles`;
  `figures` and `report_extra`.

Assembling rows never changes the task: what depends on the corpus is read from the rows. The
runner owns folds, seeds, scalers, the one Trainer, checkpoints, curves, evaluation, selection
on validation, comparisons and the metrics JSON (`protocol.py`: what training and evaluation
share). Adding a task is adding a module and its params section.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..config import params as P
from ..errors import ParamError
from ..config.schema import FusionTraining
from ..nets.fusion import FusionNet
from .data import FeatureBank, Rows, Tables
from .trainer import HParams


@dataclass(frozen=True)
class ModelSpec:
    """One network a task trains per fold and seed.

    name: its checkpoint and its metrics entry; inputs: the modalities it reads; single: True for
    a single-modality model (the comparison baseline of fused models); lr: a learning rate of its
    own (fine-tuning); grow_from: start from that model's trained weights with a new branch per
    extra input; window / edge_types: the dialogue graph (batching "dialogues"); uses_future:
    it sees later turns of the dialogue (noted in the metrics JSON).
    """

    name: str
    inputs: tuple[str, ...]
    single: bool = False
    lr: float | None = None
    grow_from: str | None = None
    window: int = 0
    edge_types: tuple[str, ...] = ()
    uses_future: bool = False


@dataclass
class FoldResult:
    """One fold and seed of an evaluation: its test rows and every entry's predictions."""

    fold: dict
    seed: int
    test: Rows
    pred: dict[str, dict[str, np.ndarray]]   # model or baseline name -> predictions


@dataclass(frozen=True)
class EnsembleFold:
    """What decision fusion sees of one fold and seed (never the runner itself): the members'
    outputs on the validation rows (`val_outputs[member][target]`), those rows (labels in
    `val.Y`), the fold's non-test rows (`pool`, grouped by session) and `refit(member, train,
    rows)`: that member retrained on `train` for its selected epoch count, its outputs on `rows`
    (out-of-fold predictions for stacking)."""
    seed: int
    test_sessions: tuple
    val: Rows
    val_outputs: dict
    pool: Rows
    refit: Callable


class Task:
    name: str = ""
    # The params model of `tasks.<name>` when empathic.config.schema.Tasks has no field for it: a task
    # module can declare its own (a subclass of schema.Training) and needs no schema edit.
    params_model: type = FusionTraining
    batching: str = "rows"
    selection: tuple[str, bool] = ("loss", False)   # validation metric, higher is better
    comparisons: dict[str, bool] = {}               # metric -> higher is better

    def __init__(self, prm: dict, fusion: str | None = None):
        self.prm = prm
        self.key = f"tasks.{self.name}"
        self.p = P.section(prm, self.key, self.params_model)   # validated, frozen: read it
        self.cfg = P.get(prm, self.key)           # the same values as written (for checkpoints)
        self.inputs = list(self.p.inputs)
        self.hp = HParams.from_section(self.p, P.section(prm, "base").seed, fusion)

    # -- data ----------------------------------------------------------------------------------
    def skip_reason(self, bank: FeatureBank) -> str | None:
        """Leave out the inputs the corpus lacks entirely (every row failed with the extractor's
        'unavailable' reason, e.g. video on KEMDy), printing a note; returns why the task cannot
        run on this corpus at all, else None. Idempotent."""
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

    def scored_mask(self, rows: Rows) -> np.ndarray:
        """The rows a fold is scored on (the graph task keeps unlabelled nodes as context)."""
        return rows.extra.get("labelled", np.ones(len(rows), dtype=bool))

    def scored(self, rows: Rows) -> Rows:
        return rows.take(self.scored_mask(rows))

    # -- models --------------------------------------------------------------------------------
    def models(self, rows: Rows) -> list[ModelSpec]:
        return [ModelSpec("fusion", tuple(self.inputs))]

    def head_dims(self, rows: Rows) -> dict[str, int]:
        return {t: y.shape[1] for t, y in rows.Y.items()}

    def build(self, spec: ModelSpec, rows: Rows, parent: torch.nn.Module | None = None,
              seed: int = 0) -> torch.nn.Module:
        hp = self.hp
        return FusionNet({m: rows.X[m].shape[1] for m in spec.inputs}, self.head_dims(rows),
                         hidden=hp.hidden, dropout=hp.dropout, fusion=hp.fusion, layers=hp.layers)

    def objective(self, train: Rows) -> Callable:
        raise NotImplementedError

    def predictions(self, outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return outputs

    def model_rows(self, spec: ModelSpec, rows: Rows) -> Rows:
        """The rows as `spec` trains on them (e.g. targets relative to a reference)."""
        return rows

    def model_predictions(self, spec: ModelSpec, rows: Rows,
                          pred: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """`spec`'s predictions on `rows` back in the task's target units."""
        return pred

    # -- evaluation ----------------------------------------------------------------------------
    def score(self, truth: Rows, pred: dict[str, np.ndarray], ref) -> dict[str, float]:
        raise NotImplementedError

    def baselines(self, train: Rows, test: Rows, ref, seed: int) -> dict[str, dict[str, np.ndarray]]:
        """Baseline name -> predictions on `test` (`ref`: the fold's first checkpoint)."""
        return {}

    def row_stat(self, metric: str, truth: Rows, pred: dict[str, np.ndarray]):
        """(per-row arrays, statistic(per-row arrays subset) -> float) of a comparison metric."""
        raise NotImplementedError

    def selection_value(self, truth: Rows, pred: dict[str, np.ndarray]) -> float:
        return float(self.score(truth, pred, None)[self.selection[0]])

    def comparisons_of(self, rows: Rows) -> dict[str, bool]:
        """{metric: higher is better} of the paired comparisons on these rows (`comparisons`)."""
        return dict(self.comparisons)

    def extra_comparisons(self, best: str, names: list[str]) -> list[tuple[str, str]]:
        """More (model, other) pairs to compare beyond best vs baselines / best single."""
        return []

    def selectable(self, name: str) -> bool:
        """False for entries whose validation predictions are in-sample (fitted there)."""
        return True

    def ensemble_members(self) -> list[str]:
        """The models decision fusion combines ([]: the task has no ensembles)."""
        return []

    def fit_ensembles(self, fold: "EnsembleFold") -> dict | None:
        """State of the decision-fusion ensembles of one fold and seed (JSON-able), or None."""
        return None

    def apply_ensembles(self, state: dict, members: dict[str, dict], test: Rows,
                        fold: dict) -> dict[str, dict]:
        """Ensemble name -> {"val": pred or None, "test": pred} from the members' predictions."""
        return {}

    def figure_rows(self, n: int) -> np.ndarray | None:
        """Positions among all folds' n test rows (fold order) that figures() draws: evaluate
        keeps only their predictions (of the first seed) for it; None: every row."""
        return None

    def figures(self, out_dir: Path, results: list[FoldResult], best: str) -> None:
        """Write task-specific figures (PNG) into out_dir (results: per fold, the first seed's
        test rows and predictions, only the figure_rows ones)."""

    def report_extra(self, rows: Rows) -> dict:
        return {}


def spread_rows(n: int, k: int) -> np.ndarray:
    """k (at most n) positions evenly spread over n rows, first and last included."""
    return np.unique(np.linspace(0, n - 1, min(k, n)).astype(int))


def available() -> list[str]:
    from . import tasks
    return sorted(m.name for m in pkgutil.iter_modules(tasks.__path__))


def load_task(name: str, prm: dict) -> Task:
    """The Task of empathic/training/tasks/<name>.py, built from params."""
    if name not in available():
        raise ParamError(f"unknown task '{name}'; tasks are {available()}")
    cls = importlib.import_module(f"{__package__}.tasks.{name}").TASK
    return cls(prm)
