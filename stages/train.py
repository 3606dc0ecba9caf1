"""Stage train@<task>: train the task's models for every fold of data/pairs/folds.json and seed.

    python -m stages.train response     # models/response/<fold>/s<seed>/*.pt,
                                        # curves in metrics/response/live

Reads params `tasks.<task>` (inputs, targets, model and training hyper-params, `seeds`,
`executor`), `split` (which folds, `refit`), `base.seed` and `dask`. Rows whose features are
missing or not ok are dropped and counted; scalers are fitted on each fold's training rows; each
model is selected by early stopping on the fold's validation sessions. Test sessions are not
touched here. Inputs the
corpus lacks entirely are left out with a note; a task that cannot run on the corpus (e.g.
response without landmarks on KEMDy) is skipped: models/<task>/summary.json names why.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from empathic import cli
from empathic.config import params as P
from empathic.atomic import recover
from empathic.training import protocol, runner
from empathic.training.data import FeatureBank, Tables
from empathic.training.task import available, load_task


def parser(prog: str, doc: str) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=prog, description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("task", choices=available(), help="which task")
    ap.add_argument("--pairs", default="data/pairs", help="folder of the pairs tables")
    ap.add_argument("--features", default="features", help="folder of <modality>.h5")
    ap.add_argument("--models", default="models", help="models/<task>/ is written here")
    ap.add_argument("--metrics", default="metrics", help="metrics/<task>/ is written here")
    return ap


def main(argv=None) -> int:
    ap = parser("python -m stages.train", __doc__)
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)
    task = load_task(a.task, P.load())
    tables, bank = Tables.load(a.pairs), FeatureBank(a.features)
    models, live = Path(a.models) / a.task, Path(a.metrics) / a.task / "live"
    for line in recover([models, live]):       # an earlier run killed mid-replace
        print(line)
    reason = task.skip_reason(bank)
    if reason:
        protocol.write_skipped(task, reason, tables.folds.get("protocol", "unknown"), models, live)
        return 0
    runner.train(task, tables, bank, models, live, progress=not a.no_progress)
    return 0


if __name__ == "__main__":
    cli.run(main)
