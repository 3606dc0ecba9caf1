"""Stage evaluate@<task>: score each fold's model on its test sessions, beside baselines.

    python -m stages.evaluate response   # metrics/response.json, metrics/response/figures/*.png

Writes the DESIGN.md metrics shape ({"protocol", "n_test", "models", "baselines", "best"}) with
mean, std and per-fold values, and the rows used and dropped; a task skipped on this corpus
writes {"protocol", "skipped": reason}. Reads the same params as
stages.train (so the rows and folds are the same).
"""
from __future__ import annotations

from pathlib import Path

from empathic import cli, params as P
from empathic.training.data import FeatureBank, Tables
from empathic.training.task import load_task
from stages.train import parser


def main(argv=None) -> int:
    a = parser("python -m stages.evaluate", __doc__).parse_args(argv)
    task = load_task(a.task, P.load())
    metrics = Path(a.metrics)
    tables, bank = Tables.load(a.pairs), FeatureBank(a.features)
    reason = task.skip_reason(bank)
    if reason:
        task.write_skipped(reason, tables.folds.get("protocol", "unknown"),
                           metrics_path=metrics / f"{a.task}.json",
                           figures_dir=metrics / a.task / "figures")
        return 0
    doc = task.run_evaluate(tables, bank, Path(a.models) / a.task, metrics / f"{a.task}.json",
                            metrics / a.task / "figures")
    m = doc["models"][doc["best"]]
    print(f"{a.task}: {doc['n_test']} test rows over {len(doc['folds'])} folds -> "
          f"{metrics / a.task}.json; best {doc['best']}: "
          + ", ".join(f"{k} {v['mean']:.4f}" for k, v in m.items()))
    return 0


if __name__ == "__main__":
    cli.run(main)
