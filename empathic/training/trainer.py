"""The training loop every task shares: device choice, hyper-params, early stopping, dvclive.

Feature tensors are small (IEMOCAP: ~10k rows x a few thousand floats), so they live on the
device whole and mini-batches are index slices of them: no DataLoader, no worker processes. On
CUDA the forward pass runs under bf16 autocast. Model selection is early stopping on the
validation loss; the state of the best epoch is restored before the model is returned.
"""
from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from tqdm import tqdm

from .. import params as P
from ..errors import EmpathicError, ParamError
from ..nets.fusion import ATTENTION_HEADS, FUSIONS

DEVICES = ("auto", "cpu", "cuda")


@dataclass
class HParams:
    """Hyper-params of one task, from `tasks.<name>` (seed: that section's, else base.seed)."""

    hidden: int = 256
    layers: int = 1
    dropout: float = 0.1
    fusion: str = "concat"
    lr: float = 1e-3
    batch_size: int = 256
    epochs: int = 100
    weight_decay: float = 1e-4
    patience: int = 10
    seed: int = 0
    device: str = "auto"

    @classmethod
    def from_params(cls, prm: dict, key: str) -> "HParams":
        d = cls()
        seed = P.get(prm, f"{key}.seed", None)
        if seed is None:
            seed = P.number(prm, "base.seed", 0, integer=True)
        elif isinstance(seed, bool) or not isinstance(seed, int):
            raise ParamError(f"param '{key}.seed' is {seed!r}; expected a whole number or null")
        return cls(
            hidden=P.number(prm, f"{key}.hidden", d.hidden, lo=4, integer=True),
            layers=P.number(prm, f"{key}.layers", d.layers, lo=1, integer=True),
            dropout=float(P.number(prm, f"{key}.dropout", d.dropout, lo=0, hi=0.95)),
            fusion=P.choice(prm, f"{key}.fusion", FUSIONS, d.fusion),
            lr=float(P.number(prm, f"{key}.lr", d.lr, lo=1e-8, hi=10)),
            batch_size=P.number(prm, f"{key}.batch_size", d.batch_size, lo=1, integer=True),
            epochs=P.number(prm, f"{key}.epochs", d.epochs, lo=1, integer=True),
            weight_decay=float(P.number(prm, f"{key}.weight_decay", d.weight_decay, lo=0)),
            patience=P.number(prm, f"{key}.patience", d.patience, lo=1, integer=True),
            seed=int(seed),
            device=P.choice(prm, f"{key}.device", DEVICES, d.device),
        ).checked(key)

    def checked(self, key: str) -> "HParams":
        if self.fusion == "attention" and self.hidden % ATTENTION_HEADS:
            raise ParamError(f"param '{key}.hidden' is {self.hidden}; attention fusion needs a "
                             f"multiple of {ATTENTION_HEADS} (its heads)")
        return self

    def as_dict(self) -> dict:
        return asdict(self)


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
    """Outputs for every row, in eval mode, as float32 tensors."""
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
    history: list[dict] = field(default_factory=list)


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
    """Fits a model with a task's objective; logs curves to a dvclive `Live` under `tag/`."""

    def __init__(self, hp: HParams, device: torch.device | None = None, live=None,
                 progress: bool = True):
        self.hp = hp
        self.device = device or pick_device(hp.device)
        self.live = live
        self.progress = progress

    def fit(self, model: torch.nn.Module, loss_fn, train: tuple[dict, dict], val: tuple[dict, dict],
            tag: str = "") -> FitResult:
        """Train on `train` (X, Y numpy dicts), early-stop on `val`; restores the best epoch.

        `loss_fn(outputs, targets)` -> scalar tensor (outputs are float32 dicts).
        """
        hp, dev = self.hp, self.device
        gen = seed_everything(hp.seed, dev)
        model.to(dev)
        Xtr, Ytr = to_device(train[0], dev), to_device(train[1], dev)
        Xva, Yva = to_device(val[0], dev), to_device(val[1], dev)
        n = len(next(iter(Xtr.values())))
        opt = torch.optim.AdamW(model.parameters(), lr=hp.lr, weight_decay=hp.weight_decay,
                                fused=dev.type == "cuda")   # one kernel per step on the GPU
        stop = EarlyStopping(hp.patience)
        history, t0 = [], time.perf_counter()
        bar = tqdm(range(1, hp.epochs + 1), desc=f"train {tag}".strip(), disable=not self.progress,
                   leave=False)
        for epoch in bar:
            model.train()
            perm = torch.randperm(n, generator=gen).to(dev)
            total = torch.zeros((), device=dev)
            for i in range(0, n, hp.batch_size):
                idx = perm[i:i + hp.batch_size]
                with autocast(dev):
                    out = model({k: v[idx] for k, v in Xtr.items()})
                loss = loss_fn({k: v.float() for k, v in out.items()},
                               {k: v[idx] for k, v in Ytr.items()})
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.detach() * len(idx)
            val_loss = float(loss_fn(forward_all(model, Xva, dev), Yva))
            train_loss = float(total) / n
            history.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss})
            self._log(tag, epoch, train_loss, val_loss)
            bar.set_postfix(train=f"{train_loss:.4f}", val=f"{val_loss:.4f}")
            if stop.update(val_loss, epoch, model):
                break
        stop.restore(model, tag, history[-1]["val_loss"])
        model.eval()
        return FitResult(stop.epoch, stop.loss, len(history), time.perf_counter() - t0, history)

    def _log(self, tag: str, epoch: int, train_loss: float, val_loss: float) -> None:
        if self.live is None:
            return
        prefix = f"{tag}/" if tag else ""
        self.live.step = epoch
        self.live.log_metric(f"{prefix}train_loss", train_loss)
        self.live.log_metric(f"{prefix}val_loss", val_loss)
