"""A trained task's models for inference, without knowing the runner's file layout.

    models = load(Path("models"), "emotion")      # name -> checkpoints over folds x seeds
    states = decision_states(Path("models"), "emotion")     # per unit: members, vote weights

`stages.predict` (empathic.predict) averages each model's checkpoints (every fold and seed) and
takes `best` from metrics/<task>.json.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import EmpathicError
from .checkpoint import Predictor, load_model


def _units(models_dir: Path, task: str) -> list[Path]:
    d = Path(models_dir) / task
    units = sorted(p for p in d.glob("*/s*") if p.is_dir() and any(p.glob("*.pt")))
    if not units:
        raise EmpathicError(f"no trained {task} models in {d} (run `dvc repro` first)")
    return units


def load(models_dir: Path, task: str, device: str = "cpu") -> dict[str, list[Predictor]]:
    """Model name -> its checkpoints over every fold and seed (names every unit has)."""
    units = _units(models_dir, task)
    names = sorted(set.intersection(*({p.stem for p in u.glob("*.pt")} for u in units)))
    return {n: [load_model(u / f"{n}.pt", device) for u in units] for n in names}


def decision_states(models_dir: Path, task: str) -> list[dict]:
    """Each unit's decision-fusion state (ensembles.json: members, vote weights, stacking), in
    the unit order of `load`; empty when the task has no decision fusion."""
    files = [u / "ensembles.json" for u in _units(models_dir, task)]
    return [json.loads(f.read_text()) for f in files] if all(f.is_file() for f in files) else []
