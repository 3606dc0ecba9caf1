"""Task `context`: the emotion of each utterance from its dialogue's graph of utterances.

Every dialogue is a graph (empathic.nets.graph): its utterances are nodes carrying the fused
pooled features of `tasks.context.inputs` (physio included on KEMDy), linked to the utterances
within `window` positions by typed edges. A relational graph network (`graph_layers` R-GCN
layers over the fusion encoder) classifies every node. Labels, loss, scores and baselines are
the classification ones (empathic.training.classify).

Utterances whose label is outside the classes (xxx, fru, ...) stay in the graph as context but
are neither trained on nor scored; utterances lacking an input modality are not nodes (counted),
and their neighbours keep their time positions, so the window still counts utterances.

Models per fold and seed, on the same nodes, batched as whole dialogues (no edge is cut):
- `utterance_only`: the same network with no edges (each utterance alone);
- `graph_causal`: forward edges only (an utterance hears its past): usable online;
- `graph`: the edges of `edge_types` (default forward and backward: an utterance also hears
  the turns that follow it; offline analysis only, marked in metrics/context.json).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ... import labels as lbl
from ...nets.graph import GraphNet
from ..classify import TARGET, ClassificationTask
from ..data import FeatureBank, Rows, Tables, keep_ok
from ..task import ModelSpec
from ..utterances import dialog_key, improvised_mask, keep_improvised_flag, utterance_inputs


class ContextTask(ClassificationTask):
    name = "context"
    batching = "dialogues"

    def __init__(self, prm: dict):
        super().__init__(prm)
        self.window = self.p.window
        self.edge_types = list(self.p.edge_types)
        self.graph_layers = self.p.graph_layers

    def assemble(self, tables: Tables, bank: FeatureBank) -> Rows:
        """Every utterance with all inputs ok is a node; extra: dialog code, time position,
        labelled flag (and impro where the corpus marks improvised dialogues)."""
        utts = tables.utterances
        y, _ = self.labels.encode(utts["emotion"])
        X, names, checks = utterance_inputs(utts, bank, self.inputs)
        keep, dropped = keep_ok(checks, len(utts))
        key = dialog_key(utts)
        extra = {"dialog": pd.factorize(key)[0].astype(np.int64),
                 "pos": pd.Series(key).groupby(key, sort=False).cumcount().to_numpy(np.int64),
                 "labelled": y != lbl.EXCLUDED, "dialog_key": key}
        impro = improvised_mask(utts)
        if impro is not None:
            extra["impro"] = impro
        rows = Rows(utts["utt_id"].astype(str).to_numpy(), utts["session"].astype(str).to_numpy(),
                    X, {TARGET: y}, names, {TARGET: self.classes}, extra,
                    {f"node: {k}": v for k, v in dropped.items()}, len(utts))
        return keep_improvised_flag(rows.take(keep))

    def models(self, rows: Rows) -> list[ModelSpec]:
        inputs = tuple(self.inputs)
        specs = [ModelSpec("utterance_only", inputs, edge_types=tuple(self.edge_types))]
        if "forward" in self.edge_types and len(self.edge_types) > 1:
            specs.append(ModelSpec("graph_causal", inputs, window=self.window,
                                   edge_types=("forward",)))
        future = any(t != "forward" for t in self.edge_types)
        specs.append(ModelSpec("graph", inputs, window=self.window,
                               edge_types=tuple(self.edge_types), uses_future=future))
        return specs

    def build(self, spec: ModelSpec, rows: Rows, parent=None, seed: int = 0) -> GraphNet:
        hp = self.hp
        return GraphNet({m: rows.X[m].shape[1] for m in spec.inputs}, self.head_dims(rows),
                        list(spec.edge_types), hidden=hp.hidden, dropout=hp.dropout,
                        fusion=hp.fusion, layers=hp.layers, graph_layers=self.graph_layers)

    def extra_comparisons(self, best: str, names: list[str]) -> list[tuple[str, str]]:
        return [(best, n) for n in ("utterance_only", "graph_causal", "graph")
                if n in names and n != best]

    def report_extra(self, rows: Rows) -> dict:
        lab = rows.extra["labelled"]
        return {**super().report_extra(rows),
                "rows": {"candidates": int(rows.n_candidates), "nodes": len(rows),
                         "scored": int(lab.sum()), "context_only": int((~lab).sum()),
                         "dropped": {k: int(v) for k, v in rows.dropped.items()}},
                "inputs": list(self.inputs),
                "graph": {"window": self.window, "edge_types": self.edge_types,
                          "graph_layers": self.graph_layers}}


TASK = ContextTask
