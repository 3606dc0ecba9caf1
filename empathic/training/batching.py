"""How a split reaches the network: row slices, or whole dialogues as one graph.

A split holds one fold part's scaled inputs and targets on the device. The trainer asks it for
mini-batches (`batches`), runs one (`forward` -> outputs, targets, weight) and scores the whole
split (`evaluate` -> outputs, targets) for the validation loss. Both kinds draw their order from
the trainer's seeded generator, so a seed fixes the batches.
"""
from __future__ import annotations

import numpy as np
import torch

from .trainer import autocast, forward_all, to_device

BATCHING = ("rows", "dialogues")


class RowSplit:
    """Rows are independent examples; a mini-batch is a random slice of them."""

    def __init__(self, X: dict[str, np.ndarray], Y: dict[str, np.ndarray], device: torch.device):
        self.device = device
        self.X, self.Y = to_device(X, device), to_device(Y, device)
        self.n = len(next(iter(self.X.values())))

    def batches(self, size: int, gen: torch.Generator):
        perm = torch.randperm(self.n, generator=gen).to(self.device)
        for i in range(0, self.n, size):
            yield perm[i:i + size]

    def forward(self, net, idx):
        with autocast(self.device):
            out = net({k: v[idx] for k, v in self.X.items()})
        return ({k: v.float() for k, v in out.items()}, {k: v[idx] for k, v in self.Y.items()},
                len(idx))

    def evaluate(self, net):
        return forward_all(net, self.X, self.device), self.Y

    def outputs(self, net) -> dict[str, np.ndarray]:
        with torch.no_grad():
            return {k: v.cpu().numpy() for k, v in forward_all(net, self.X, self.device).items()}


class GraphSplit:
    """The nodes of whole dialogues with their edges; a mini-batch is a set of dialogues (no
    edge is ever cut). Targets below 0 (unlabelled context nodes) are neither trained on nor
    scored."""

    def __init__(self, X: dict[str, np.ndarray], Y: dict[str, np.ndarray], dialog: np.ndarray,
                 edges: tuple[np.ndarray, ...], device: torch.device):
        self.device = device
        self.X, self.Y = to_device(X, device), to_device(Y, device)
        self.target = next(iter(self.Y))
        self.src, self.dst, self.typ = (torch.from_numpy(e).to(device) for e in edges)
        self.dialogs = [torch.from_numpy(np.flatnonzero(dialog == d)).to(device)
                        for d in np.unique(dialog)]
        self.n = len(dialog)

    def batches(self, size: int, gen: torch.Generator):
        order = torch.randperm(len(self.dialogs), generator=gen).tolist()
        for i in range(0, len(order), size):
            yield torch.cat([self.dialogs[d] for d in order[i:i + size]])

    def _run(self, net, idx=None):
        if idx is None:
            X, y, src, dst, typ = self.X, self.Y[self.target], self.src, self.dst, self.typ
        else:
            remap = torch.full((self.n,), -1, dtype=torch.int64, device=self.device)
            remap[idx] = torch.arange(len(idx), device=self.device)
            keep = remap[self.dst] >= 0          # whole dialogues: src is in the batch too
            X, y = {m: v[idx] for m, v in self.X.items()}, self.Y[self.target][idx]
            src, dst, typ = remap[self.src[keep]], remap[self.dst[keep]], self.typ[keep]
        with autocast(self.device):
            out = net(X, src, dst, typ)
        return {k: v.float() for k, v in out.items()}, y

    def forward(self, net, idx):
        out, y = self._run(net, idx)
        lab = y >= 0
        return {k: v[lab] for k, v in out.items()}, {self.target: y[lab]}, int(lab.sum())

    def evaluate(self, net):
        net.eval()
        out, y, _ = self.forward(net, None)
        return out, y

    def outputs(self, net) -> dict[str, np.ndarray]:
        net.eval()
        with torch.no_grad():
            out, _ = self._run(net, None)
        return {k: v.cpu().numpy() for k, v in out.items()}
