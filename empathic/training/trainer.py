"""The one training loop: device choice, hyper-params, seeding, early stopping.

Feature tensors are small (IEMOCAP: ~10k rows x a few thousand floats), so a split lives on the
device whole and mini-batches are index sets of it (no DataLoader, no worker processes): rows for
the utterance and pair tasks, whole dialogues for the graph task (empathic.training.batching). On
CUDA the forward pass runs under bf16 autocast. Model selection is early stopping on the
validation loss; the best epoch's weights are restored. The loop returns its learning curve
instead of logging it, so whoever runs it (this process or a Dask worker) gives the same result
and the runner logs every curve in a fixed order.
"""
from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch
from tqdm import tqdm

from ..errors import EmpathicError, ParamError


@dataclass(frozen=True)
class HParams:
    """Hyper-params of one task, read from `tasks.<name>`; params.yaml holds every value.

    `seeds` are the training seeds: `tasks.<name>.seeds` consecutive values from the task's
    `seed` (null: base.seed). Every model is trained once per fold and seed."""

    hidden: int
    layers: int
    dropout: float
    fusion: str
    lr: float
    batch_size: int
    epochs: int
    weight_decay: float
    patience: int
    seed: int
    device: str
    seeds: tuple[int, ...] = field(default=())

    @classmethod
    def from_section(cls, s, base_seed: int, fusion: str | None = None) -> "HParams":
        """From a task's validated section (empathic.config.schema.Training); `base_seed`: base.seed,
        for `seed: null`; `fusion`: the encoder when the section's `fusion` is not one
        (decision fusion, or a network without one)."""
        seed = base_seed if s.seed is None else s.seed
        return cls(hidden=s.hidden, layers=s.layers, dropout=float(s.dropout),
                   fusion=fusion or s.fusion, lr=float(s.lr), batch_size=s.batch_size,
                   epochs=s.epochs, weight_decay=float(s.weight_decay), patience=s.patience,
                   seed=seed, device=s.device, seeds=tuple(seed + i for i in range(s.seeds)))

    def with_(self, **changes) -> "HParams":
        return replace(self, **changes)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["seeds"] = list(self.seeds)
        return d


def pick_device(name: str = "auto") -> torch.device:
    """'auto' -> CUDA when present, else CPU; 'cuda' without a GPU is a ParamError."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ParamError("device is 'cuda' but no CUDA GPU is available; use 'auto' or 'cpu'")
    return torch.device(name)


def small_cpu_threads(device: str) -> None:
    """One intra-op thread on CPU. The networks are tiny, so two threads ran ~10x slower than one
    on a shared 2-core machine (thread hand-off dominates small matrix products), and a fixed
    thread count keeps float reductions, hence checkpoints and curves, byte-identical."""
    if pick_device(device).type == "cpu":
        torch.set_num_threads(1)


def seed_everything(seed: int, device: torch.device) -> torch.Generator:
    """Seed torch (weights, dropout) and return the generator of the batch order.

    CPU kernels are deterministic for a fixed thread count, so a seed fixes the whole run there;
    on CUDA, bf16 and atomics make runs close but not bit-identical.
    """
    torch.manual_seed(seed)
    if device.type == "cuda":
        torch.cuda.manual_seed_all(seed)
    return torch.Generator().manual_seed(seed)


def to_device(arrays: dict[str, np.ndarray], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.ascontiguousarray(v)).to(device) for k, v in arrays.items()}


def autocast(device: torch.device):
    """bf16 autocast on CUDA; a no-op context on CPU (full precision, deterministic)."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16,
                          enabled=device.type == "cuda")


@torch.no_grad()
def forward_all(model: torch.nn.Module, X: dict[str, torch.Tensor], device: torch.device,
                chunk: int = 8192) -> dict[str, torch.Tensor]:
    """Outputs of a row-wise network for every row, in eval mode, as float32 tensors."""
    model.eval()
    n = len(next(iter(X.values())))
    outs: dict[str, list] = {}
    for i in range(0, n, chunk):
        with autocast(device):
            out = model({k: v[i:i + chunk] for k, v in X.items()})
        for k, v in out.items():
            outs.setdefault(k, []).append(v.float())
    return {k: torch.cat(v) for k, v in outs.items()}


@dataclass
class FitResult:
    best_epoch: int
    best_val_loss: float
    epochs_run: int
    seconds: float
    curve: list[tuple[int, float, float]]   # (epoch, train loss, validation loss)


class EarlyStopping:
    """Keeps the best validation loss, its epoch and a copy of the weights; `update` says when
    `patience` epochs have passed without improvement. A run that never reaches a finite
    validation loss is one clear error, not a silently untrained model."""

    def __init__(self, patience: int):
        self.patience = patience
        self.loss, self.epoch, self.state, self.bad = float("inf"), 0, None, 0

    def update(self, val_loss: float, epoch: int, model: torch.nn.Module) -> bool:
        """Record this epoch; True when training should stop."""
        if val_loss < self.loss - 1e-7:
            self.loss, self.epoch, self.bad = val_loss, epoch, 0
            self.state = copy.deepcopy(model.state_dict())
            return False
        self.bad += 1
        return self.bad >= self.patience

    def restore(self, model: torch.nn.Module, tag: str, last: float) -> None:
        """Load the best epoch's weights into `model`."""
        if self.state is None:
            raise EmpathicError(f"training {tag or 'the model'} never reached a finite validation "
                                f"loss (last {last}); lower the learning rate")
        model.load_state_dict(self.state)


class Trainer:
    """Fits a network with a task's objective on two splits (empathic.training.batching)."""

    def __init__(self, hp: HParams, device: torch.device | None = None, progress: bool = True):
        self.hp = hp
        self.device = device or pick_device(hp.device)
        self.progress = progress

    def fit(self, model: torch.nn.Module, loss_fn, train, val, seed: int, tag: str = "",
            epochs: int | None = None, patience: int | None = None,
            keep_last: bool = False) -> FitResult:
        """Train on the `train` split, early-stop on `val`; restores the best epoch.

        `loss_fn(outputs, targets)` -> scalar tensor (outputs are float32 dicts); a loss with a
        schedule has `set_epoch(epoch)`, called at the start of every epoch. `epochs` and
        `patience` override the hyper-params; `keep_last` keeps the last epoch's weights (a refit
        on train + validation for the epoch count early stopping chose: nothing held out steers
        it).
        """
        hp, dev = self.hp, self.device
        epochs = epochs or hp.epochs
        gen = seed_everything(seed, dev)
        model.to(dev)
        opt = torch.optim.AdamW(model.parameters(), lr=hp.lr, weight_decay=hp.weight_decay,
                                fused=dev.type == "cuda")   # one kernel per step on the GPU
        stop = EarlyStopping(epochs + 1 if keep_last else (patience or hp.patience))
        curve, t0 = [], time.perf_counter()
        bar = tqdm(range(1, epochs + 1), desc=f"train {tag}".strip(), disable=not self.progress,
                   leave=False)
        schedule = getattr(loss_fn, "set_epoch", None)   # a loss with an annealed term
        for epoch in bar:
            if schedule is not None:
                schedule(epoch)
            model.train()
            total, n = torch.zeros((), device=dev), 0
            for batch in train.batches(hp.batch_size, gen):
                out, y, k = train.forward(model, batch)
                if k == 0:
                    continue
                loss = loss_fn(out, y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.detach() * k
                n += k
            with torch.no_grad():
                val_loss = float(loss_fn(*val.evaluate(model)))
            train_loss = float(total) / max(n, 1)
            curve.append((epoch, train_loss, val_loss))
            bar.set_postfix(train=f"{train_loss:.4f}", val=f"{val_loss:.4f}")
            if stop.update(-epoch if keep_last else val_loss, epoch, model):
                break
        stop.restore(model, tag, curve[-1][2])
        model.eval()
        return FitResult(stop.epoch, curve[stop.epoch - 1][2], len(curve),
                         time.perf_counter() - t0, curve)
