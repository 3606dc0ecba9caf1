"""The part of a task that classifies emotions: labels, class-balanced loss, scores, baselines.

`ClassificationTask` is the base of the emotion and context tasks: the classes of
`tasks.<name>.classes` after `merge`, a loss `ce`, `weighted_ce` or `class_balanced` (`beta`)
with weights from the fold's training rows, WA / UA / F1 / per-class figures (impro_* on
improvised dialogues where the corpus marks them), the `majority` and `prior` baselines,
selection by validation UA and comparisons on UA; confusion matrices of the selected model.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .. import labels as lbl
from ..nets.losses import make_loss
from ..scoring import classification as cls
from ..scoring.plots_cls import confusion_png
from .data import Rows
from .task import FoldResult, Task
from .utterances import one_hot, softmax

TARGET = "emotion"


def ua(y: np.ndarray, p: np.ndarray, k: int) -> float:
    """Unweighted accuracy (empathic.scoring.classification's definition)."""
    return cls.from_confusion(cls.confusion(y, p, k))["ua"]


class ClassificationTask(Task):
    selection = ("ua", True)
    comparisons = {"ua": True}

    def __init__(self, prm: dict, fusion: str | None = None):
        super().__init__(prm, fusion)
        self.labels = lbl.from_params(prm, self.key)
        self.classes = list(self.labels.classes)
        self.loss_kind = self.p.loss
        self.beta = float(self.p.beta)

    def scaled_targets(self, rows: Rows) -> set[str]:
        return set()

    def head_dims(self, rows: Rows) -> dict[str, int]:
        return {TARGET: len(self.classes)}

    def objective(self, train: Rows):
        counts = np.bincount(train.Y[TARGET], minlength=len(self.classes))
        crit = make_loss(self.loss_kind, counts, self.beta)

        def loss(out: dict[str, torch.Tensor], y: dict[str, torch.Tensor]) -> torch.Tensor:
            return crit.to(out[TARGET].device)(out[TARGET], y[TARGET])
        return loss

    def predictions(self, outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {TARGET: softmax(outputs[TARGET])}

    def score(self, truth: Rows, pred: dict[str, np.ndarray], ref=None) -> dict[str, float]:
        y, p = truth.Y[TARGET], np.asarray(pred[TARGET]).argmax(axis=1)
        s = cls.score(y, p, self.classes)
        if "impro" in truth.extra and truth.extra["impro"].any():
            m = truth.extra["impro"]
            s.update({f"impro_{k}": v for k, v in cls.score(y[m], p[m], self.classes).items()
                      if k in cls.SCALAR_METRICS})
        return s

    def selection_value(self, truth: Rows, pred: dict[str, np.ndarray]) -> float:
        return ua(truth.Y[TARGET], pred[TARGET].argmax(axis=1), len(self.classes))

    def row_stat(self, metric: str, truth: Rows, pred: dict[str, np.ndarray]):
        k = len(self.classes)
        return (truth.Y[TARGET], np.asarray(pred[TARGET]).argmax(axis=1)), \
            lambda y, p: ua(y, p, k)

    def baselines(self, train: Rows, test: Rows, ref=None, seed: int = 0) -> dict:
        """majority: the most frequent training class; prior: classes drawn (seeded) from the
        training class frequencies."""
        k = len(self.classes)
        counts = np.bincount(train.Y[TARGET], minlength=k)
        drawn = np.random.default_rng(seed).choice(k, size=len(test), p=counts / counts.sum())
        return {"majority": {TARGET: one_hot(np.full(len(test), counts.argmax()), k)},
                "prior": {TARGET: one_hot(drawn, k)}}

    def figures(self, out_dir: Path, results: list[FoldResult], best: str) -> None:
        """confusion.png over every fold's test rows (first seed); confusion_improvised.png."""
        y = np.concatenate([r.test.Y[TARGET] for r in results])
        pred = np.concatenate([r.pred[best][TARGET].argmax(axis=1) for r in results])
        k = len(self.classes)
        confusion_png(cls.confusion(y, pred, k), self.classes, out_dir / "confusion.png",
                      f"{self.name}: {best}, test rows of all folds")
        if all("impro" in r.test.extra for r in results):
            m = np.concatenate([r.test.extra["impro"] for r in results])
            confusion_png(cls.confusion(y[m], pred[m], k), self.classes,
                          out_dir / "confusion_improvised.png",
                          f"{self.name}: {best}, improvised test rows")

    def report_extra(self, rows: Rows) -> dict:
        impro = ("impro_* metrics: test rows of improvised dialogues only"
                 if "impro" in rows.extra else "the corpus does not mark improvised dialogues")
        return {"classes": self.classes, "loss": self.loss_kind, "improvised": impro}

