"""A listener-reaction generator: K reactions per input, offline or online (causal).

Inputs: the speaker's frame-level signals on the task's fixed grid, each flattened per row
((B, T_in * F_m) tensors, as every network of the project receives (B, D) inputs), plus optional
static vectors (the text embedding). Output: `K` reaction sequences of `T_out` frames of
`out_dim` values, flattened to (B, K * T_out * out_dim).

The first `t_listen` output frames (0 or T_in) are the listening window, simultaneous with the
input frames; the others follow the input (the start of the reply). An encoder GRU reads the input frames
(bidirectional when offline: frame t sees the whole turn; forward only when `causal`: frame t
sees nothing after t), a decoder GRU runs over the output frames from the encoder state of the
same time step (the last input step for the reply frames) plus a learned step embedding, and
each of the K reactions adds one of K learned hypothesis codes to the decoder's input.

Why this generator (multiple hypotheses trained by a relaxed winner-takes-all loss, see
empathic.training.tasks.reaction) rather than a VAE or a tokenised decoder: the K reactions are
deterministic functions of the input (byte-identical outputs, no sampling noise to seed), they
cannot collapse onto one (each code is its own output and only the closest one is pulled to the
real reaction), it trains in seconds on the CPU, and the project's one Trainer trains it like any
network (forward(x) -> outputs; no target inside the forward pass).
"""
from __future__ import annotations

from typing import Mapping

import torch
from torch import nn


def _output_units(net: nn.Module, t_out: int, out_dim: int, out_mean, out_scale) -> None:
    """Buffers that put a network's standardised outputs in the targets' units: out_mean (the
    training rows' mean sequence, t_out x out_dim) and out_scale (each value's std, out_dim)."""
    net.register_buffer("out_mean", torch.tensor(out_mean or [0.0] * (t_out * out_dim))
                        .reshape(t_out, out_dim), persistent=False)
    net.register_buffer("out_scale", torch.tensor(out_scale or [1.0] * out_dim),
                        persistent=False)


class ReactionNet(nn.Module):
    def __init__(self, frame_dims: Mapping[str, int], static_dims: Mapping[str, int], t_in: int,
                 t_listen: int, t_out: int, out_dim: int, k: int = 6, hidden: int = 64,
                 dropout: float = 0.1, causal: bool = False, target: str = "reaction",
                 out_mean: list[float] | None = None, out_scale: list[float] | None = None):
        super().__init__()
        if not frame_dims:
            raise ValueError("a reaction network needs at least one frame-level input")
        if t_in < 1 or k < 1 or t_listen not in (0, t_in) or t_out < max(t_listen, 1):
            raise ValueError(f"need t_in >= 1, t_listen 0 or t_in, t_out >= t_listen, k >= 1 "
                             f"(t_in {t_in}, t_listen {t_listen}, t_out {t_out}, k {k})")
        self.config = dict(frame_dims=dict(frame_dims), static_dims=dict(static_dims), t_in=t_in,
                           t_listen=t_listen, t_out=t_out, out_dim=out_dim, k=k, hidden=hidden, dropout=dropout,
                           causal=causal, target=target, out_mean=out_mean, out_scale=out_scale)
        self.frame_dims, self.static_dims = dict(frame_dims), dict(static_dims)
        self.t_in, self.t_out, self.out_dim, self.k, self.target = t_in, t_out, out_dim, k, target
        # the encoder step each output frame reads: its own time while listening, then the last
        self.register_buffer("src", torch.tensor([min(j, t_in - 1) if j < t_listen else t_in - 1
                                                  for j in range(t_out)]), persistent=False)
        d_in = sum(self.frame_dims.values())
        self.inp = nn.Sequential(nn.Linear(d_in, hidden), nn.GELU(), nn.Dropout(dropout))
        self.static = nn.ModuleDict({m: nn.Linear(d, hidden) for m, d in self.static_dims.items()})
        self.encoder = nn.GRU(hidden, hidden, batch_first=True, bidirectional=not causal)
        enc_out = hidden * (1 if causal else 2)
        self.step = nn.Parameter(torch.zeros(t_out, hidden))
        self.codes = nn.Parameter(torch.randn(k, hidden) * 0.5)
        self.bridge = nn.Linear(enc_out, hidden)
        self.decoder = nn.GRU(hidden, hidden, batch_first=True)
        self.head = nn.Linear(hidden, out_dim)
        # outputs in the targets' units: the head predicts each value's deviation from the
        # training rows' mean sequence (t_out x out_dim), in units of its std (out_dim)
        _output_units(self, t_out, out_dim, out_mean, out_scale)

    def forward(self, x: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        b = next(iter(x.values())).shape[0]
        frames = torch.cat([x[m].reshape(b, self.t_in, d) for m, d in self.frame_dims.items()],
                           dim=2)
        h = self.inp(frames)
        for m in self.static_dims:
            h = h + self.static[m](x[m])[:, None, :]
        enc, _ = self.encoder(h)                                   # (B, T_in, enc_out)
        ctx = self.bridge(enc[:, self.src]) + self.step[None]           # (B, T_out, hidden)
        dec_in = ctx[:, None] + self.codes[None, :, None, :]       # (B, K, T_out, hidden)
        dec, _ = self.decoder(dec_in.reshape(b * self.k, self.t_out, -1))
        out = self.out_mean + self.out_scale * self.head(dec)
        out = out.reshape(b, self.k * self.t_out * self.out_dim)
        return {self.target: out}


class PrototypeNet(nn.Module):
    """Reactions as a soft choice among `classes` learned prototype reactions.

    A linear gate reads the speaker's window pooled over time (mean and std of every frame-level
    input, plus the static vectors) and mixes the prototypes (each `t_out` x `out_dim`); each of
    the K reactions adds its own learned offset to the mix. Where the reaction depends mostly on
    what kind of display the speaker showed (on the sample: mirroring by emotion), this needs far
    fewer examples than a sequence model: a gate of (2 F + S) x classes weights, trained with the
    same relaxed winner-takes-all loss. It sees the whole window (offline); `t_listen` (the
    listening frames among the `t_out`) is kept in its config for whoever reads the outputs.
    """

    def __init__(self, frame_dims: Mapping[str, int], static_dims: Mapping[str, int], t_in: int,
                 t_listen: int, t_out: int, out_dim: int, k: int = 6, classes: int = 6,
                 dropout: float = 0.1, target: str = "reaction",
                 out_mean: list[float] | None = None, out_scale: list[float] | None = None):
        super().__init__()
        if not frame_dims or t_in < 1 or t_out < 1 or k < 1 or classes < 1:
            raise ValueError(f"need a frame-level input, t_in, t_out, k, classes >= 1 "
                             f"(t_in {t_in}, t_out {t_out}, k {k}, classes {classes})")
        self.config = dict(frame_dims=dict(frame_dims), static_dims=dict(static_dims), t_in=t_in,
                           t_listen=t_listen, t_out=t_out, out_dim=out_dim, k=k, classes=classes,
                           dropout=dropout, target=target, out_mean=out_mean,
                           out_scale=out_scale)
        self.frame_dims, self.static_dims = dict(frame_dims), dict(static_dims)
        self.t_in, self.t_out, self.out_dim, self.k, self.target = t_in, t_out, out_dim, k, target
        d = 2 * sum(self.frame_dims.values()) + sum(self.static_dims.values())
        self.gate = nn.Sequential(nn.Dropout(dropout), nn.Linear(d, classes))
        self.protos = nn.Parameter(torch.randn(classes, t_out, out_dim) * 0.1)
        self.offsets = nn.Parameter(torch.randn(k, t_out, out_dim) * 0.05)
        _output_units(self, t_out, out_dim, out_mean, out_scale)

    def forward(self, x: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        b = next(iter(x.values())).shape[0]
        pooled = []
        for m, d in self.frame_dims.items():
            f = x[m].reshape(b, self.t_in, d)
            pooled += [f.mean(dim=1), f.std(dim=1, unbiased=False)]
        pooled += [x[m] for m in self.static_dims]
        p = torch.softmax(self.gate(torch.cat(pooled, dim=1)), dim=1)           # (B, C)
        mix = torch.einsum("bc,cto->bto", p, self.protos)                       # (B, T, O)
        out = self.out_mean + self.out_scale * (mix[:, None] + self.offsets[None])
        return {self.target: out.reshape(b, self.k * self.t_out * self.out_dim)}
