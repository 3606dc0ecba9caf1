"""Reading params.yaml: one place that loads, looks up and validates params."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from ..errors import ParamError

PARAMS_FILE = os.environ.get("EMPATHIC_PARAMS", "params.yaml")

_MISSING = object()


def load(path: str | os.PathLike | None = None, complete: bool = False) -> dict:
    """Load and check the params file (default: ./params.yaml, or $EMPATHIC_PARAMS).

    Every key in it must be one the schema knows, with a value of the right type and range
    (empathic.config.schema); `complete` also requires every key the schema requires.
    """
    p = Path(path or PARAMS_FILE)
    if not p.is_file():
        raise ParamError(f"params file not found: {p} (run from the repository root)")
    try:
        with open(p, encoding="utf-8") as f:
            data = yaml.safe_load(f) or {}
    except yaml.YAMLError as e:
        raise ParamError(f"{p}: not valid YAML: {e}".replace("\n", " ")) from None
    if not isinstance(data, dict):
        raise ParamError(f"{p}: top level must be a mapping")
    from .check import check      # pydantic loads in ~0.1 s: only when params are read
    check(data, source=str(p), complete=complete)
    return data


def section(params: dict, dotted: str, model=None):
    """The schema's validated, frozen model of one section (``params.section(prm,
    "tasks.response").hidden``): every key required, every range and rule between keys checked
    once, there (a ParamError naming the dotted key otherwise). `model` validates a section the
    schema has no field for (a task module's own params model)."""
    from .check import section as typed
    return typed(params, dotted, PARAMS_FILE, model)


def get(params: dict, dotted: str, default: Any = _MISSING) -> Any:
    """Look up 'a.b.c'; a missing key without default is a ParamError naming it."""
    cur: Any = params
    for part in dotted.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            if default is _MISSING:
                raise ParamError(f"missing param '{dotted}' in {PARAMS_FILE}")
            return default
    return cur


def workers(params: dict, dotted: str = "features.workers") -> int:
    """Worker count (the schema's non-negative int): 0 or missing means all cores."""
    return cores(get(params, dotted, 0))


def cores(n: int) -> int:
    """A worker count where 0 means all cores."""
    return n or (os.cpu_count() or 1)
