"""One trained model on disk, with everything needed to predict again, and the one loader.

A checkpoint (models/<task>/<fold>/s<seed>/<model>.pt, a plain torch.save of tensors, lists and
dicts, loadable with weights_only=True) holds the network kind and config, its weights, the input
feature names and scalers, the target names and scalers, the task's params and hyper-params, the
fold, and for graph networks the window and edge types.

    model = load_model("models/response/Ses01/s0/fusion.pt")
    out = model.predict({"text": (N, 384) array, ...})       # raw pooled features
    out = model.predict(features, dialog=codes, pos=positions)  # graph networks: node order
"""
from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import torch

from ..atomic import atomic_path
from ..errors import EmpathicError
from ..nets.fusion import FusionNet
from ..nets.graph import GraphNet, dialogue_edges
from ..nets.reaction import PrototypeNet, ReactionNet
from .data import Scaler
from .trainer import autocast, forward_all, pick_device, to_device

FORMAT = 1
NETS = {"fusion": FusionNet, "graph": GraphNet, "reaction": ReactionNet,
        "reaction_prototype": PrototypeNet}


def net_kind(net: torch.nn.Module) -> str:
    return next(k for k, cls in NETS.items() if isinstance(net, cls))


def to_bytes(*, task: str, fold: dict, model: torch.nn.Module,
             input_names: dict[str, list[str]], target_names: dict[str, list[str]],
             input_scalers: dict[str, Scaler], target_scalers: dict[str, Scaler],
             params: dict, hparams: dict, info: dict) -> bytes:
    """The checkpoint's bytes (`info`: fit summary, row counts, graph window, ...)."""
    # Plain values go through JSON: fresh objects with no sharing, so pickle writes the same
    # bytes whichever process built them (shared objects would become memo references).
    plain = json.loads(json.dumps({
        "format": FORMAT, "task": task, "fold": fold, "net": net_kind(model),
        "model": model.config, "input_names": input_names, "target_names": target_names,
        "input_scalers": {k: s.state() for k, s in input_scalers.items()},
        "target_scalers": {k: s.state() for k, s in target_scalers.items()},
        "params": params, "hparams": hparams, "info": info}))
    state = {**plain, "state_dict": {k: v.detach().cpu().clone()
                                     for k, v in model.state_dict().items()}}
    buf = io.BytesIO()   # not torch.save(path): that names the zip's records after the file
    torch.save(state, buf)
    return buf.getvalue()


def save(path: str | os.PathLike, **state) -> None:
    """Write a checkpoint atomically (the keywords of `to_bytes`)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(to_bytes(**state))


def from_bytes(data: bytes, device: str = "auto") -> "Predictor":
    return Predictor(torch.load(io.BytesIO(data), map_location="cpu", weights_only=True), device)


class Predictor:
    """A loaded checkpoint: scales raw features, runs the network, unscales the outputs."""

    def __init__(self, state: dict, device: str = "auto"):
        if state.get("format") != FORMAT:
            raise EmpathicError(f"unsupported checkpoint format {state.get('format')}")
        self.state = state
        self.task, self.fold = state["task"], state["fold"]
        self.info = state.get("info", {})
        self.input_names: dict[str, list[str]] = state["input_names"]
        self.target_names: dict[str, list[str]] = state["target_names"]
        self.input_scalers = {k: Scaler.from_state(s) for k, s in state["input_scalers"].items()}
        self.target_scalers = {k: Scaler.from_state(s) for k, s in state["target_scalers"].items()}
        self.device = pick_device(device)
        self.kind = state.get("net") or ("graph" if "edge_types" in state["model"] else "fusion")
        self.net = NETS[self.kind](**state["model"])
        self.net.load_state_dict(state["state_dict"])
        self.net.to(self.device).eval()

    @property
    def inputs(self) -> list[str]:
        return list(self.input_names)

    @property
    def targets(self) -> list[str]:
        return list(self.target_names)

    def scale_inputs(self, features: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Raw pooled inputs -> the scaled space the network sees (checks dims and NaN)."""
        out = {}
        for m, names in self.input_names.items():
            if m not in features:
                raise EmpathicError(f"{self.task} model needs '{m}' features")
            x = np.asarray(features[m], dtype=np.float32)
            if x.ndim != 2 or x.shape[1] != len(names):
                raise EmpathicError(f"{m} features have shape {x.shape}; the model expects "
                                    f"(N, {len(names)})")
            if not np.all(np.isfinite(x)):
                raise EmpathicError(f"{m} features contain NaN (failed rows must be dropped)")
            out[m] = self.input_scalers[m].transform(x)
        return out

    @torch.no_grad()
    def predict_scaled(self, features: dict[str, np.ndarray], dialog=None,
                       pos=None) -> dict[str, np.ndarray]:
        """Network outputs in training space (z-scores for scaled targets, logits otherwise).
        Graph networks need each node's dialogue code and position (their edges follow the
        checkpoint's window and edge types)."""
        X = to_device(self.scale_inputs(features), self.device)
        if self.kind != "graph":
            out = forward_all(self.net, X, self.device)
        else:
            if dialog is None or pos is None:
                raise EmpathicError(f"{self.task}: a graph model needs each node's dialogue and "
                                    f"position")
            edges = dialogue_edges(np.asarray(dialog), np.asarray(pos),
                                   int(self.info["window"]), self.net.config["edge_types"])
            src, dst, typ = (torch.from_numpy(e).to(self.device) for e in edges)
            with autocast(self.device):
                out = {k: v.float() for k, v in self.net(X, src, dst, typ).items()}
        return {k: v.cpu().numpy() for k, v in out.items()}

    def predict(self, features: dict[str, np.ndarray], dialog=None, pos=None) -> dict[str, np.ndarray]:
        """Predictions in the targets' own units (scaled targets are unscaled)."""
        return {k: self.target_scalers[k].inverse(v) if k in self.target_scalers else v
                for k, v in self.predict_scaled(features, dialog, pos).items()}


def load_model(path: str | os.PathLike, device: str = "auto") -> Predictor:
    path = Path(path)
    if not path.is_file():
        raise EmpathicError(f"model not found: {path} (run `dvc repro` to train it)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - any unpickling problem is one user-facing line
        # torch's own text (a paragraph advising weights_only=False) does not apply: a file
        # this project wrote always loads with weights_only=True
        state = None
    if not isinstance(state, dict):
        raise EmpathicError(f"{path}: not a readable checkpoint (truncated, corrupt or not "
                            f"written by this project); restore it with `dvc checkout` or "
                            f"retrain with `dvc repro`")
    return Predictor(state, device)
