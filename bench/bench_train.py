"""Benchmark: training speed of task `response` at IEMOCAP scale (synthetic features).

10,000 pairs over 5 sessions, all four input modalities at realistic widths (text 384, audio
168, video 1024, landmarks 280), landmarks as the target, the default model of params.yaml
(attention fusion, hidden 256). Feature files are written and read back through the real
assembly path; then one fold is trained for a fixed number of epochs (no early stopping) and
seconds per epoch are printed for the CPU and, when torch sees one, the GPU (target: 100 epochs
in under 20 s on one H100).

    python bench/bench_train.py [--pairs 10000] [--epochs 3] [--gpu-epochs 100] [--threads N]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import synthetic  # noqa: E402
from empathic.config import params as P  # noqa: E402
from empathic.training.data import FeatureBank, Tables  # noqa: E402
from empathic.training.runner import Unit  # noqa: E402
from empathic.training.task import load_task  # noqa: E402


def time_epochs(task, rows, fold, device: str, epochs: int) -> tuple[float, int]:
    """Seconds per epoch of a fixed-length run through the runner's own fit (patience = epochs
    + 1, so no early stop), after a one-epoch warm-up (kernels, allocator)."""
    task.hp = replace(task.hp, device=device)
    unit = Unit(task, rows, fold, 0, progress=False)
    spec = task.models(rows)[0]
    unit.fit(spec, unit.train, unit.val, "warm-up", epochs=1, patience=2)
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    _, res = unit.fit(spec, unit.train, unit.val, "timed", epochs=epochs, patience=epochs + 1)
    if device == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / res.epochs_run, len(unit.train)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=10_000)
    ap.add_argument("--epochs", type=int, default=3, help="CPU epochs timed")
    ap.add_argument("--gpu-epochs", type=int, default=100, help="GPU epochs timed")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch default)")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    prm = P.load(Path(__file__).resolve().parents[1] / "params.yaml")
    task = load_task("response", prm)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        synthetic.write(synthetic.generate(n_pairs=a.pairs, sessions=5), tmp)
        tables, bank = Tables.load(Path(tmp) / "data/pairs"), FeatureBank(Path(tmp) / "features")
        rows = task.assemble(tables, bank)
        print(f"data: {len(rows)} pairs, inputs "
              + ", ".join(f"{m} {x.shape[1]}" for m, x in rows.X.items())
              + f"; generated and assembled in {time.perf_counter() - t0:.1f} s")
    fold = tables.folds["folds"][0]
    hp = task.hp
    print(f"model: fusion={hp.fusion} hidden={hp.hidden} layers={hp.layers} "
          f"batch_size={hp.batch_size}; fold {fold['name']}")
    per_epoch, n_train = time_epochs(task, rows, fold, "cpu", a.epochs)
    print(f"cpu ({torch.get_num_threads()} threads): {per_epoch:.3f} s/epoch on {n_train} training "
          f"pairs -> 100 epochs ~{100 * per_epoch:.0f} s")
    if torch.cuda.is_available():
        per_epoch, _ = time_epochs(task, rows, fold, "cuda", a.gpu_epochs)
        name = torch.cuda.get_device_name(0)
        print(f"gpu ({name}, bf16 autocast): {per_epoch:.4f} s/epoch -> 100 epochs "
              f"{100 * per_epoch:.1f} s (target < 20 s on one H100)")
    else:
        print("gpu: not measured (torch.cuda.is_available() is False on this machine)")


if __name__ == "__main__":
    main()
