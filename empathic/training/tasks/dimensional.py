"""Task `dimensional`: valence, arousal and dominance of an utterance, regression on the 1-5 scale.

Rows are the utterances of utterances.csv with every dimension of `tasks.dimensional.dims`
present (dimensions the corpus lacks entirely, e.g. dominance on KEMDy, are left out and named in
the report) and every input modality ok; dropped rows are counted by reason. The model is the
response task's fusion encoder with a regression head, trained on targets standardised on the
fold's training rows (loss `mse`, or `ccc` = 1 - mean concordance over the dimensions) and
early-stopped on the validation sessions.

Metrics per fold on the test sessions: ccc_<dim> and mae_<dim> on the 1-5 scale, and the same
with an impro_ prefix on improvised dialogues only (where the corpus marks them); baseline
`train_mean` (the training rows' mean per dimension: CCC 0 by construction). Figure: predicted
against true values per dimension over every fold's test rows.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ...errors import EmpathicError
from ...scoring import dimensional as dim
from ..data import FeatureBank, Rows, Tables, keep_ok
from ..task import FoldResult, ModelSpec, Task
from ..utterances import dialog_key, improvised_mask, keep_improvised_flag, utterance_inputs

DIMS = ("valence", "arousal", "dominance")
TARGET = "vad"
LOSSES = ("mse", "ccc")


def ccc_loss(pred: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    """1 - mean over columns of the batch concordance correlation coefficient."""
    mp, mt = pred.mean(dim=0), true.mean(dim=0)
    cov = ((pred - mp) * (true - mt)).mean(dim=0)
    denom = pred.var(dim=0, unbiased=False) + true.var(dim=0, unbiased=False) + (mp - mt) ** 2
    return 1 - (2 * cov / denom.clamp_min(1e-8)).mean()


class DimensionalTask(Task):
    name = "dimensional"
    selection = ("ccc_mean", True)

    def __init__(self, prm: dict):
        super().__init__(prm)
        self.dims = list(self.p.dims)        # as asked; rows name those the corpus has
        self.loss_kind = self.p.loss

    def models(self, rows: Rows) -> list[ModelSpec]:
        return [ModelSpec("early_fusion", tuple(self.inputs))]   # the name emotion.json uses

    def assemble(self, tables: Tables, bank: FeatureBank) -> Rows:
        utts = tables.utterances
        have = [d for d in self.dims if utts[d].notna().any()]
        if not have:
            raise EmpathicError(f"the corpus has none of the dimensions {self.dims}")
        lacking = [d for d in self.dims if d not in have]
        if lacking:
            print(f"{self.name}: the corpus has no {', '.join(lacking)}; left out")
        y = utts[have].to_numpy(dtype=np.float32)
        X, names, checks = utterance_inputs(utts, bank, self.inputs)
        checks = [(f"{d} missing", np.isfinite(y[:, j])) for j, d in enumerate(have)] + checks
        keep, dropped = keep_ok(checks, len(utts))
        impro = improvised_mask(utts)
        rows = Rows(utts["utt_id"].astype(str).to_numpy(), utts["session"].astype(str).to_numpy(),
                    X, {TARGET: y}, names, {TARGET: list(have)},
                    {"dialog_key": dialog_key(utts), **({} if impro is None else {"impro": impro})},
                    dropped, len(utts))
        return keep_improvised_flag(rows.take(keep))

    def comparisons_of(self, rows: Rows) -> dict[str, bool]:
        return {f"ccc_{d}": True for d in rows.y_names[TARGET]}

    def objective(self, train: Rows):
        return _ccc_objective if self.loss_kind == "ccc" else _mse_objective

    def score(self, truth: Rows, pred: dict[str, np.ndarray], ref=None) -> dict[str, float]:
        t, p, dims = truth.Y[TARGET], pred[TARGET], truth.y_names[TARGET]
        s = dim.score(t, p, dims)
        m = truth.extra.get("impro")
        if m is not None and m.any():
            s.update({f"impro_{k}": v for k, v in dim.score(t[m], p[m], dims).items()})
        return s

    def selection_value(self, truth: Rows, pred: dict[str, np.ndarray]) -> float:
        dims = truth.y_names[TARGET]
        s = dim.score(truth.Y[TARGET], pred[TARGET], dims)
        return float(np.mean([s[f"ccc_{d}"] for d in dims]))

    def row_stat(self, metric: str, truth: Rows, pred: dict[str, np.ndarray]):
        j = truth.y_names[TARGET].index(metric.removeprefix("ccc_"))
        return (truth.Y[TARGET][:, j].astype(np.float64),
                np.asarray(pred[TARGET])[:, j].astype(np.float64)), dim.ccc

    def baselines(self, train: Rows, test: Rows, ref=None, seed: int = 0) -> dict:
        mean = train.Y[TARGET].mean(axis=0, keepdims=True)
        return {"train_mean": {TARGET: np.repeat(mean, len(test), axis=0)}}

    def figures(self, out_dir: Path, results: list[FoldResult], best: str) -> None:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        t = np.concatenate([r.test.Y[TARGET] for r in results])
        p = np.concatenate([r.pred[best][TARGET] for r in results])
        dims = results[0].test.y_names[TARGET]
        fig, axes = plt.subplots(1, len(dims), figsize=(3.2 * len(dims), 3.2), squeeze=False)
        for j, (ax, d) in enumerate(zip(axes[0], dims)):
            ax.scatter(t[:, j], p[:, j], s=6, alpha=0.5)
            ax.plot([1, 5], [1, 5], color="grey", lw=0.8)
            ax.set_xlim(0.8, 5.2)
            ax.set_ylim(0.8, 5.2)
            ax.set_xlabel(f"true {d}")
            ax.set_ylabel(f"predicted {d}")
            ax.set_title(f"CCC {dim.ccc(t[:, j], p[:, j]):.3f}", fontsize=9)
        fig.suptitle(f"{self.name}: test rows of all folds", fontsize=9)
        fig.tight_layout()
        fig.savefig(out_dir / "scatter.png", dpi=90, metadata={"Software": None})
        plt.close(fig)


def _mse_objective(out: dict[str, torch.Tensor], y: dict[str, torch.Tensor]) -> torch.Tensor:
    return torch.nn.functional.mse_loss(out[TARGET], y[TARGET])


def _ccc_objective(out: dict[str, torch.Tensor], y: dict[str, torch.Tensor]) -> torch.Tensor:
    return ccc_loss(out[TARGET], y[TARGET])


TASK = DimensionalTask
