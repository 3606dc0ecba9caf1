"""Task `context`: the emotion of each utterance from its dialogue's graph of utterances.

Every dialogue is a graph (empathic.nets.graph): its utterances are nodes, carrying the fused
pooled features of `tasks.context.inputs` (physio included on KEMDy), linked to the utterances
within `window` positions by typed edges (`edge_types`: forward, backward, undirected). A
relational graph network (`graph_layers` R-GCN layers over the fusion encoder) classifies every
node. Labels, loss, scoring and baselines are the emotion task's (this class extends it): the
classes of `tasks.context.classes` after `merge`, WA / UA / F1 per utterance on each fold's test
sessions, `majority` and `prior` baselines.

Utterances whose label is outside the classes (xxx, fru, ...) stay in the graph as context but
are not scored nor trained on; utterances lacking an input modality are not nodes (counted), and
their neighbours keep their time positions, so the window still counts utterances.

Per fold two networks are trained on the same nodes and early-stopped on the validation
sessions: `graph` (with the edges) and `utterance_only` (the same network with no edges: each
utterance alone), so metrics/context.json compares context against no context; `best` is the
one with the higher mean validation UA. Models: models/context/<fold>/{graph,utterance_only}.pt
(the shared checkpoint format; the network config says GraphNet). Mini-batches are sets of
whole dialogues (`batch_size` dialogues), so no edge is ever cut.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from ... import labels as lbl
from ... import params as P
from ...atomic import atomic_path
from ...errors import EmpathicError
from ...nets.graph import EDGE_TYPES, GraphNet, dialogue_edges
from .. import checkpoint
from ..data import FeatureBank, Rows, Scaler, Tables, apply_scalers, fit_scalers, fold_masks, keep_ok
from ..runner import open_live, prepare
from ..trainer import EarlyStopping, autocast, pick_device, seed_everything, to_device
from .emotion import (TARGET, EmotionTask, _softmax, improvised_mask, keep_improvised_flag,
                      small_cpu_threads, utterance_inputs)

VARIANTS = ("graph", "utterance_only")


class ContextTask(EmotionTask):
    name = "context"
    model_name = "graph"

    def __init__(self, prm: dict):
        super().__init__(prm)
        self.window = P.number(prm, f"{self.key}.window", 4, lo=0, integer=True)
        self.edge_types = P.subset(prm, f"{self.key}.edge_types", EDGE_TYPES,
                                   ["forward", "backward"])
        self.graph_layers = P.number(prm, f"{self.key}.graph_layers", 2, lo=1, integer=True)

    # -- data ----------------------------------------------------------------------------------
    def assemble(self, tables: Tables, bank: FeatureBank) -> Rows:
        """Every utterance with all inputs ok is a node; extra: dialog code, time position,
        labelled flag (and impro where the corpus marks improvised dialogues)."""
        utts = tables.utterances
        y, _ = self.labels.encode(utts["emotion"])
        X, names, checks = utterance_inputs(utts, bank, self.inputs)
        keep, dropped = keep_ok(checks, len(utts))
        key = utts["session"].astype(str) + "/" + utts["dialog"].astype(str)
        extra = {"dialog": pd.factorize(key)[0].astype(np.int64),
                 "pos": utts.groupby(key, sort=False).cumcount().to_numpy(np.int64),
                 "labelled": y != lbl.EXCLUDED}
        impro = improvised_mask(utts)
        if impro is not None:
            extra["impro"] = impro
        rows = Rows(utts["utt_id"].astype(str).to_numpy(), utts["session"].astype(str).to_numpy(),
                    X, {TARGET: y}, names, {TARGET: self.classes}, extra,
                    {f"node: {k}": v for k, v in dropped.items()}, len(utts))
        return keep_improvised_flag(rows.take(keep))

    def nodes_info(self, rows: Rows) -> dict:
        """Rows used as nodes, those scored (labelled), those only context, those dropped."""
        lab = rows.extra["labelled"]
        return {"candidates": int(rows.n_candidates), "nodes": len(rows),
                "scored": int(lab.sum()), "context_only": int((~lab).sum()),
                "dropped": {k: int(v) for k, v in rows.dropped.items()}}

    # -- graph helpers -------------------------------------------------------------------------
    def edges(self, rows: Rows, window: int) -> tuple[np.ndarray, ...]:
        return dialogue_edges(rows.extra["dialog"], rows.extra["pos"], window, self.edge_types)

    def new_graph_net(self, rows: Rows) -> GraphNet:
        hp = self.hp
        return GraphNet({m: rows.X[m].shape[1] for m in self.inputs}, self.head_dims(rows),
                        self.edge_types, hidden=hp.hidden, dropout=hp.dropout, fusion=hp.fusion,
                        layers=hp.layers, graph_layers=self.graph_layers)

    # -- training ------------------------------------------------------------------------------
    def fit_graph(self, net: GraphNet, train: Rows, val: Rows, window: int, device: torch.device,
                  live, tag: str, progress: bool) -> dict:
        """Mini-batches of whole dialogues, early stopping on the validation sessions' loss
        (labelled nodes only), best epoch restored. Returns the fit summary."""
        hp = self.hp
        xs = fit_scalers({m: train.X[m] for m in self.inputs})
        self.criterion_for(train.take(train.extra["labelled"]))
        tr, va = _GraphSplit(train, xs, self.edges(train, window), device), \
            _GraphSplit(val, xs, self.edges(val, window), device)
        gen = seed_everything(hp.seed, device)
        net.to(device)
        opt = torch.optim.AdamW(net.parameters(), lr=hp.lr, weight_decay=hp.weight_decay)
        stop, epochs, t0 = EarlyStopping(hp.patience), 0, time.perf_counter()
        bar = tqdm(range(1, hp.epochs + 1), desc=f"train {tag}", disable=not progress, leave=False)
        for epoch in bar:
            net.train()
            total, n = 0.0, 0
            for batch in tr.batches(hp.batch_size, gen):
                loss, k = self._batch_loss(net, *batch, device)
                if k == 0:
                    continue
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total, n = total + float(loss.detach()) * k, n + k
            net.eval()
            with torch.no_grad():
                val_loss = float(self._batch_loss(net, *va.whole(), device)[0])
            epochs = epoch
            if live is not None:
                live.step = epoch
                live.log_metric(f"{tag}/train_loss", total / max(n, 1))
                live.log_metric(f"{tag}/val_loss", val_loss)
            bar.set_postfix(train=f"{total / max(n, 1):.4f}", val=f"{val_loss:.4f}")
            if stop.update(val_loss, epoch, net):
                break
        stop.restore(net, tag, val_loss)
        net.eval()
        seconds = time.perf_counter() - t0
        return {"scalers": xs, "best_epoch": stop.epoch, "best_val_loss": round(stop.loss, 6),
                "epochs_run": epochs, "seconds_per_epoch": seconds / max(epochs, 1),
                "edges_train": int(len(tr.src))}

    def _batch_loss(self, net, X, y, src, dst, typ, device) -> tuple[torch.Tensor, int]:
        with autocast(device):
            out = net(X, src, dst, typ)
        lab = y >= 0
        k = int(lab.sum())
        if k == 0:
            return torch.zeros((), device=device), 0
        return self.loss({TARGET: out[TARGET].float()[lab]}, {TARGET: y[lab]}), k

    def run_train(self, tables: Tables, bank: FeatureBank, models_dir: Path,
                  live_dir: Path | None, progress: bool = True) -> list[dict]:
        """train@context: per fold, `graph` and `utterance_only` into models_dir/<fold>/."""
        rows, folds = prepare(self, tables, bank)
        device = pick_device(self.hp.device)
        small_cpu_threads(self.hp.device)
        live = open_live(live_dir) if live_dir is not None else None
        summaries = []
        with atomic_path(models_dir) as tmp:
            tmp.mkdir()
            for fold in folds:
                tr, va, _ = fold_masks(rows.groups, fold)
                train, val = rows.take(tr), rows.take(va)
                (tmp / fold["name"]).mkdir()
                s = {}
                for variant, window in zip(VARIANTS, (self.window, 0)):
                    seed_everything(self.hp.seed, device)   # initial weights follow the seed
                    net = self.new_graph_net(rows)
                    fit = self.fit_graph(net, train, val, window, device, live,
                                         f"{fold['name']}/{variant}", progress)
                    xs, secs = fit.pop("scalers"), fit.pop("seconds_per_epoch")
                    info = {**fit, "window": window, "n_train": int(tr.sum()),
                            "n_val": int(va.sum()), "device": device.type}
                    checkpoint.save(tmp / fold["name"] / f"{variant}.pt", task=self.name,
                                    fold=fold, model=net,
                                    input_names={m: rows.x_names[m] for m in self.inputs},
                                    target_names={TARGET: self.classes}, input_scalers=xs,
                                    target_scalers={}, params=self.cfg,
                                    hparams=self.hp.as_dict(), info=info)
                    s[variant] = info
                    print(f"{self.name} fold {fold['name']} {variant}: best epoch "
                          f"{fit['best_epoch']}/{fit['epochs_run']}, val loss "
                          f"{fit['best_val_loss']:.4f}, {fit['edges_train']} training edges, "
                          f"{secs * 1000:.0f} ms/epoch on {device.type}")
                summaries.append({"fold": fold["name"], "models": s})
            (tmp / "summary.json").write_text(json.dumps(
                {"task": self.name, "rows": self.nodes_info(rows), "folds": summaries},
                indent=2) + "\n")
        return summaries

    # -- evaluation ----------------------------------------------------------------------------
    def probs(self, model: "GraphPredictor", rows: Rows) -> np.ndarray:
        """Class probabilities of every node of `rows` (their dialogues as one graph)."""
        return model.predict(rows, self.edges(rows, model.window))

    def scored(self, rows: Rows) -> Rows:
        return rows.take(rows.extra["labelled"])

    def report_extra(self, rows: Rows) -> dict:
        return {"rows": self.nodes_info(rows), "inputs": list(self.inputs),
                "graph": {"window": self.window, "edge_types": self.edge_types,
                          "graph_layers": self.graph_layers}}

    def fold_outputs(self, rows: Rows, fold: dict, fold_dir: Path) -> dict:
        """Each variant's class probabilities on the labelled validation and test nodes (the
        graph is built over all nodes of those sessions' dialogues)."""
        val, test = (rows.take(m) for m in fold_masks(rows.groups, fold)[1:])
        outs = {}
        for variant in VARIANTS:
            model = GraphPredictor.load(fold_dir / f"{variant}.pt", self.hp.device)
            if model.fold != fold:
                raise EmpathicError(f"{fold_dir} was trained on another split; "
                                    f"run `dvc repro train@{self.name}`")
            outs[variant] = {"val": self.probs(model, val)[val.extra["labelled"]],
                             "test": self.probs(model, test)[test.extra["labelled"]]}
        return outs


class _GraphSplit:
    """One split's scaled node features, labels and edges on the device, cut into batches of
    whole dialogues."""

    def __init__(self, rows: Rows, xs: dict[str, Scaler], edges, device: torch.device):
        self.X = to_device(apply_scalers({m: rows.X[m] for m in xs}, xs), device)
        self.y = torch.from_numpy(np.where(rows.extra["labelled"], rows.Y[TARGET], -1)).to(device)
        self.src, self.dst, self.typ = (torch.from_numpy(e).to(device) for e in edges)
        dialog = rows.extra["dialog"]
        self.dialogs = [torch.from_numpy(np.flatnonzero(dialog == d)).to(device)
                        for d in np.unique(dialog)]
        self.n = len(dialog)

    def whole(self):
        return self.X, self.y, self.src, self.dst, self.typ

    def batches(self, size: int, gen: torch.Generator):
        """(X, y, src, dst, typ) of `size` dialogues at a time, in a seeded random order."""
        order = torch.randperm(len(self.dialogs), generator=gen).tolist()
        for i in range(0, len(order), size):
            idx = torch.cat([self.dialogs[d] for d in order[i:i + size]])
            remap = torch.full((self.n,), -1, dtype=torch.int64, device=idx.device)
            remap[idx] = torch.arange(len(idx), device=idx.device)
            keep = remap[self.dst] >= 0          # whole dialogues: src is in the batch too
            yield ({m: v[idx] for m, v in self.X.items()}, self.y[idx], remap[self.src[keep]],
                   remap[self.dst[keep]], self.typ[keep])


class GraphPredictor:
    """A loaded context checkpoint: scales raw node features, builds nothing but the network."""

    def __init__(self, state: dict, device: str = "auto"):
        self.state = state
        self.fold = state["fold"]
        self.window = int(state["info"]["window"])
        self.scalers = {k: Scaler.from_state(s) for k, s in state["input_scalers"].items()}
        self.device = pick_device(device)
        self.net = GraphNet(**state["model"])
        self.net.load_state_dict(state["state_dict"])
        self.net.to(self.device).eval()

    @classmethod
    def load(cls, path: Path, device: str = "auto") -> "GraphPredictor":
        if not path.is_file():
            raise EmpathicError(f"model not found: {path} (run `dvc repro train@context`)")
        return cls(torch.load(path, map_location="cpu", weights_only=True), device)

    @torch.no_grad()
    def predict(self, rows: Rows, edges) -> np.ndarray:
        X = to_device(apply_scalers({m: rows.X[m] for m in self.scalers}, self.scalers),
                      self.device)
        src, dst, typ = (torch.from_numpy(e).to(self.device) for e in edges)
        with autocast(self.device):
            logits = self.net(X, src, dst, typ)[TARGET].float()
        return _softmax(logits.cpu().numpy().astype(np.float64))


TASK = ContextTask
