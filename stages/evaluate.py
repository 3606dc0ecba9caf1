"""Stage evaluate@<task>: score each fold's model on its test sessions, beside baselines.

    python -m stages.evaluate response   # metrics/response.json and metrics/response/

Writes the full report metrics/<task>/report.json ({"protocol", "n_test", "seeds", "models",
"baselines", "best", "selection", "comparisons", ...}: mean and std over folds x seeds, per-fold
and per-seed values, pooled figures, paired comparisons with 95 % intervals and p-values, the
rows used and dropped, minimum-data warnings; docs/architecture.md) and the headline DVC reads:
metrics/<task>.json ({"best"}) and metrics/<task>/table/<model>.json (headline metrics, and the
selected model's comparison with it). A task skipped on this corpus writes {"protocol",
"skipped": reason}.

Reads the same params as stages.train (so the rows and folds are the same).
"""
from __future__ import annotations

from pathlib import Path

from empathic import cli
from empathic.config import params as P
from empathic.scoring import report
from empathic.training import evaluate
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
        evaluate.write_skipped(task, reason, tables.folds.get("protocol", "unknown"),
                               metrics / f"{a.task}.json", metrics / a.task / "figures")
        return 0
    head = metrics / f"{a.task}.json"
    doc = evaluate.evaluate(task, tables, bank, Path(a.models) / a.task, head,
                            metrics / a.task / "figures")
    m = doc["models"][doc["best"]]
    shown = list(doc["pooled"].get(doc["best"], {})) or list(m)[:4]   # the compared metrics
    print(f"{a.task}: {doc['n_test']} test rows, {len(doc['folds'])} folds x "
          f"{len(doc['seeds'])} seeds -> {report.paths(head)[1]}; best {doc['best']}: "
          + ", ".join(f"{k} {m[k]['mean']:.4f}" for k in shown if k in m))
    for name, c in doc["comparisons"].items():
        print(f"  {name}: delta {c['delta']:+.4f} [{c['ci95'][0]:+.4f}, {c['ci95'][1]:+.4f}], "
              f"p {c['p']:.3f}")
    return 0


if __name__ == "__main__":
    cli.run(main)
