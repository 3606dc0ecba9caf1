"""Dialogue graphs of utterances and a relational graph network over them (plain torch).

A dialogue is a graph whose nodes are its utterances in time order. `dialogue_edges` links each
utterance to the others within `window` positions of it, one edge type per relation:

- ``forward``: from an utterance to a later one (the later node hears its past);
- ``backward``: from an utterance to an earlier one (the earlier node hears what followed);
- ``undirected``: both directions under one shared relation.

`GraphNet` = the fusion encoder of empathic.nets.fusion (per-modality projections -> one vector
per node) + `layers` relational message-passing layers (R-GCN, Schlichtkrull et al. 2018: one
weight matrix per edge type, neighbours averaged per type, a self weight, residual + LayerNorm)
+ a linear head per target. Many dialogues are batched as one disjoint graph and messages are
summed with `index_add_`, so no graph library is needed; with `window` 0 (no edges) the same
network classifies each utterance alone.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from .fusion import ATTENTION_HEADS, FusionEncoder

EDGE_TYPES = ("forward", "backward", "undirected")


def dialogue_edges(dialog: np.ndarray, pos: np.ndarray, window: int,
                   edge_types: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(src, dst, type) int64 arrays of the edges among nodes (indices into `dialog`).

    dialog: (N,) dialogue code of each node; pos: (N,) position of each node in its dialogue
    (gaps allowed: nodes dropped for missing features keep their neighbours' positions). Nodes
    i, j are linked when in the same dialogue with 0 < |pos_i - pos_j| <= window; `type` indexes
    `edge_types`. Edges are sorted (type, dst, src): the same nodes give the same arrays.
    """
    bad = [t for t in edge_types if t not in EDGE_TYPES]
    if bad:
        raise ValueError(f"edge types {bad} not in {EDGE_TYPES}")
    dialog, pos = np.asarray(dialog), np.asarray(pos, dtype=np.int64)
    order = np.lexsort((pos, dialog))
    early, late = [], []
    for k in range(1, window + 1):     # the k-th next node in time order (within the window)
        a, b = order[:-k], order[k:]
        near = (dialog[a] == dialog[b]) & (pos[b] - pos[a] <= window)
        early.append(a[near])
        late.append(b[near])
    early = np.concatenate(early) if early else np.zeros(0, np.int64)
    late = np.concatenate(late) if late else np.zeros(0, np.int64)
    src, dst, typ = [], [], []
    for t, name in enumerate(edge_types):
        s = {"forward": [early], "backward": [late], "undirected": [early, late]}[name]
        d = {"forward": [late], "backward": [early], "undirected": [late, early]}[name]
        src += s
        dst += d
        typ += [np.full(sum(len(x) for x in s), t, np.int64)]
    src = np.concatenate(src) if src else np.zeros(0, np.int64)
    dst = np.concatenate(dst) if dst else np.zeros(0, np.int64)
    typ = np.concatenate(typ) if typ else np.zeros(0, np.int64)
    o = np.lexsort((src, dst, typ))
    return src[o].astype(np.int64), dst[o].astype(np.int64), typ[o].astype(np.int64)


class RelationalLayer(nn.Module):
    """h_i' = LN(h_i + drop(GELU(W_0 h_i + sum_r mean_{j in N_r(i)} W_r h_j)))."""

    def __init__(self, hidden: int, n_types: int, dropout: float):
        super().__init__()
        self.self_loop = nn.Linear(hidden, hidden)
        self.rel = nn.Parameter(torch.empty(max(n_types, 1), hidden, hidden))
        nn.init.xavier_uniform_(self.rel.view(-1, hidden))
        self.n_types = n_types
        self.drop = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(hidden)

    def forward(self, h: torch.Tensor, src: torch.Tensor, dst: torch.Tensor,
                typ: torch.Tensor) -> torch.Tensor:
        out = self.self_loop(h)
        if len(src):
            msg = torch.einsum("nh,rhk->rnk", h, self.rel)[typ, src]   # (E, hidden)
            # mean over each node's neighbours of each type: 1 / |N_r(i)|
            key = dst * self.n_types + typ
            count = torch.zeros(len(h) * self.n_types, device=h.device)
            count.index_add_(0, key, torch.ones(len(key), device=h.device))
            msg = msg / count[key].unsqueeze(1).to(msg.dtype)
            out = out.index_add(0, dst, msg.to(out.dtype))
        return self.norm(h + self.drop(nn.functional.gelu(out)))


class GraphNet(nn.Module):
    """Fusion encoder per node -> relational layers -> one linear head per target.

    forward(x: {modality: (N, D)}, src, dst, typ) -> {target: (N, out_dim)}.
    """

    def __init__(self, input_dims: Mapping[str, int], head_dims: Mapping[str, int],
                 edge_types: Sequence[str], hidden: int = 64, dropout: float = 0.1,
                 fusion: str = "concat", layers: int = 1, graph_layers: int = 2,
                 heads: int = ATTENTION_HEADS):
        super().__init__()
        self.config = dict(input_dims=dict(input_dims), head_dims=dict(head_dims),
                           edge_types=list(edge_types), hidden=hidden, dropout=dropout,
                           fusion=fusion, layers=layers, graph_layers=graph_layers, heads=heads)
        self.encoder = FusionEncoder(input_dims, hidden, dropout, fusion, layers, heads)
        self.graph = nn.ModuleList(RelationalLayer(hidden, len(edge_types), dropout)
                                   for _ in range(graph_layers))
        self.heads = nn.ModuleDict({t: nn.Linear(hidden, d) for t, d in head_dims.items()})

    def forward(self, x: Mapping[str, torch.Tensor], src: torch.Tensor, dst: torch.Tensor,
                typ: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.encoder(x)
        for layer in self.graph:
            h = layer(h, src, dst, typ)
        return {t: head(h) for t, head in self.heads.items()}
