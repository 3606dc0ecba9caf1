"""Benchmark: training speed of task `context` (dialogue graphs) at IEMOCAP scale, plain torch.

IEMOCAP-sized synthetic graph: 151 dialogues of ~66 utterances (10,039 nodes) over 5 sessions,
the four modalities at realistic widths (text 384, audio 168, video 1024, landmarks 280), the
params.yaml model (window 4, forward + backward edges, 2 relational layers, hidden 64, batches of
8 dialogues). One fold (3 training sessions) is trained for a fixed number of epochs; seconds
per epoch are printed for `graph` and for `utterance_only` (the same network, no edges), so the
cost of message passing (index_add over ~50k edges) is the difference.

    python bench/bench_context.py [--epochs 3] [--threads 1]
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from empathic.config import params as P  # noqa: E402
from empathic.folds import make_folds  # noqa: E402
from empathic.training.data import Rows  # noqa: E402
from empathic.training.task import load_task  # noqa: E402
from empathic.training.runner import Unit  # noqa: E402

DIMS = {"text": 384, "audio": 168, "video": 1024, "landmarks": 280}


def iemocap_like(n_dialogs: int = 151, n_nodes: int = 10_039, sessions: int = 5) -> Rows:
    rng = np.random.default_rng(0)
    sizes = np.full(n_dialogs, n_nodes // n_dialogs)
    sizes[: n_nodes - sizes.sum()] += 1
    dialog = np.repeat(np.arange(n_dialogs), sizes)
    pos = np.concatenate([np.arange(s) for s in sizes])
    groups = np.array([f"Ses{d * sessions // n_dialogs + 1:02d}" for d in dialog])
    X = {m: rng.normal(size=(n_nodes, d)).astype(np.float32) for m, d in DIMS.items()}
    y = rng.integers(-1, 4, size=n_nodes)          # ~20% unlabelled context nodes
    return Rows(np.arange(n_nodes).astype(str), groups, X, {"emotion": y},
                {m: [f"{m}{i}" for i in range(d)] for m, d in DIMS.items()}, {},
                {"dialog": dialog, "pos": pos, "labelled": y >= 0}, {}, n_nodes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    prm = P.load(Path(__file__).resolve().parents[1] / "params.yaml")
    prm["tasks"]["context"]["inputs"] = list(DIMS)
    task = load_task("context", prm)
    task.hp = replace(task.hp, epochs=a.epochs, patience=a.epochs + 1, device="cpu")
    rows = iemocap_like()
    fold = make_folds(sorted(set(rows.groups)), "loso-session", 1)["folds"][0]
    unit = Unit(task, rows, fold, 0, progress=False)
    print(f"{len(rows)} nodes, {len(np.unique(rows.extra['dialog']))} dialogues; training on "
          f"{len(unit.train)} nodes; window {task.window}, edges {task.edge_types}, "
          f"{task.graph_layers} layers, hidden {task.hp.hidden}, {a.threads} thread(s)")
    for spec in task.models(rows):
        t0 = time.perf_counter()
        _, res = unit.fit(spec, unit.train, unit.val, spec.name, epochs=a.epochs,
                          patience=a.epochs + 1)
        total = time.perf_counter() - t0
        print(f"{spec.name:15s} window {spec.window} {'+'.join(spec.edge_types):16s}: "
              f"{res.seconds / res.epochs_run:.2f} s/epoch ({total:.1f} s for {res.epochs_run} "
              f"epochs incl. validation)")


if __name__ == "__main__":
    main()
