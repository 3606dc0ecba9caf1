"""Multimodal fusion encoder and linear heads.

Each input modality is a pooled vector; a projection maps it to `hidden` units. The fusion kind
combines the projections into one vector:

- ``concat``: concatenate the projections, then a linear layer back to `hidden`;
- ``attention``: the projections are modality tokens (plus a learned modality embedding); a small
  transformer encoder attends over them and a learned summary token is read out.

`FusionNet` = encoder + one linear head per target (regression values or class logits), so every
task (response, emotion, dimensional) builds the same network with different head sizes.
"""
from __future__ import annotations

from typing import Mapping

import torch
from torch import nn

from ..config.schema import ATTENTION_HEADS     # one number for the schema's rule and the network

FUSIONS = ("concat", "attention")


def projection(d_in: int, hidden: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, hidden), nn.LayerNorm(hidden), nn.GELU(),
                         nn.Dropout(dropout))


class FusionEncoder(nn.Module):
    """dict of (B, D_m) tensors -> (B, hidden)."""

    def __init__(self, input_dims: Mapping[str, int], hidden: int = 256, dropout: float = 0.1,
                 fusion: str = "concat", layers: int = 1, heads: int = ATTENTION_HEADS):
        super().__init__()
        if fusion not in FUSIONS:
            raise ValueError(f"fusion '{fusion}' not in {FUSIONS}")
        if not input_dims:
            raise ValueError("at least one input modality is needed")
        self.modalities = list(input_dims)
        self.fusion = fusion
        self.proj = nn.ModuleDict({m: projection(d, hidden, dropout) for m, d in input_dims.items()})
        if fusion == "concat":
            self.mix = nn.Sequential(nn.Linear(hidden * len(self.modalities), hidden), nn.GELU(),
                                     nn.Dropout(dropout))
        else:
            if hidden % heads:
                raise ValueError(f"hidden ({hidden}) must be a multiple of the {heads} heads")
            self.token_type = nn.Parameter(torch.zeros(len(self.modalities), hidden))
            self.summary = nn.Parameter(torch.zeros(1, 1, hidden))
            nn.init.normal_(self.token_type, std=0.02)
            nn.init.normal_(self.summary, std=0.02)
            layer = nn.TransformerEncoderLayer(hidden, heads, dim_feedforward=2 * hidden,
                                               dropout=dropout, activation="gelu",
                                               batch_first=True, norm_first=True)
            self.mix = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(hidden)

    def forward(self, x: Mapping[str, torch.Tensor]) -> torch.Tensor:
        parts = [self.proj[m](x[m]) for m in self.modalities]
        if self.fusion == "concat":
            return self.mix(torch.cat(parts, dim=1))
        tokens = torch.stack(parts, dim=1) + self.token_type
        tokens = torch.cat([self.summary.expand(len(tokens), -1, -1), tokens], dim=1)
        return self.norm(self.mix(tokens)[:, 0])


class FusionNet(nn.Module):
    """Fusion encoder + one linear head per target: dict -> dict of (B, out_dim)."""

    def __init__(self, input_dims: Mapping[str, int], head_dims: Mapping[str, int],
                 hidden: int = 256, dropout: float = 0.1, fusion: str = "concat",
                 layers: int = 1, heads: int = ATTENTION_HEADS):
        super().__init__()
        self.config = dict(input_dims=dict(input_dims), head_dims=dict(head_dims), hidden=hidden,
                           dropout=dropout, fusion=fusion, layers=layers, heads=heads)
        self.encoder = FusionEncoder(input_dims, hidden, dropout, fusion, layers, heads)
        self.heads = nn.ModuleDict({t: nn.Linear(hidden, d) for t, d in head_dims.items()})

    def forward(self, x: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        z = self.encoder(x)
        return {t: head(z) for t, head in self.heads.items()}
