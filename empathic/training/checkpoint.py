"""One fold's trained model on disk, with everything needed to predict again.

A checkpoint (models/<task>/<fold>.pt, a plain torch.save of tensors, lists and dicts, loadable
with weights_only=True) holds the network config and weights, the input feature names and
scalers, the target names and scalers, the task's params and hyper-params, and the fold.

    model = load_model("models/response/Ses01.pt")
    out = model.predict({"text": (N, 384) array, "audio": ..., ...})   # raw pooled features
    out["landmarks"]  # (N, 136) in the aligned landmark frame
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import torch

from ..atomic import atomic_path
from ..errors import EmpathicError
from ..nets.fusion import FusionNet
from .data import Scaler
from .trainer import forward_all, pick_device, to_device

FORMAT = 1


def save(path: str | os.PathLike, *, task: str, fold: dict, model: FusionNet,
         input_names: dict[str, list[str]], target_names: dict[str, list[str]],
         input_scalers: dict[str, Scaler], target_scalers: dict[str, Scaler],
         params: dict, hparams: dict, info: dict) -> None:
    """Write a checkpoint atomically (`info`: fit summary, row counts, ...)."""
    state = {
        "format": FORMAT, "task": task, "fold": fold, "model": model.config,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "input_names": input_names, "target_names": target_names,
        "input_scalers": {k: s.state() for k, s in input_scalers.items()},
        "target_scalers": {k: s.state() for k, s in target_scalers.items()},
        "params": params, "hparams": hparams, "info": info,
    }
    buf = io.BytesIO()   # not torch.save(path): that names the zip's records after the file
    torch.save(state, buf)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getvalue())


class Predictor:
    """A loaded checkpoint: scales raw features, runs the network, unscales the outputs."""

    def __init__(self, state: dict, device: str = "auto"):
        if state.get("format") != FORMAT:
            raise EmpathicError(f"unsupported checkpoint format {state.get('format')}")
        self.state = state
        self.task, self.fold = state["task"], state["fold"]
        self.input_names: dict[str, list[str]] = state["input_names"]
        self.target_names: dict[str, list[str]] = state["target_names"]
        self.input_scalers = {k: Scaler.from_state(s) for k, s in state["input_scalers"].items()}
        self.target_scalers = {k: Scaler.from_state(s) for k, s in state["target_scalers"].items()}
        self.device = pick_device(device)
        self.net = FusionNet(**state["model"])
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

    def predict_scaled(self, features: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Network outputs in training space (z-scores for scaled targets, logits otherwise)."""
        X = to_device(self.scale_inputs(features), self.device)
        out = forward_all(self.net, X, self.device)
        return {k: v.cpu().numpy() for k, v in out.items()}

    def predict(self, features: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Predictions in the targets' own units (scaled targets are unscaled)."""
        return {k: self.target_scalers[k].inverse(v) if k in self.target_scalers else v
                for k, v in self.predict_scaled(features).items()}


def load_model(path: str | os.PathLike, device: str = "auto") -> Predictor:
    path = Path(path)
    if not path.is_file():
        raise EmpathicError(f"model not found: {path} (run `dvc repro` to train it)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling problem is one user-facing line
        raise EmpathicError(f"{path}: not a readable checkpoint ({e})") from None
    return Predictor(state, device)
