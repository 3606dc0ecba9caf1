"""Feature extractors and their registry.

An extractor turns the rows of utterances.csv into one or more modality feature sets
(:class:`empathic.store.Features`). The driver (`stages/extract.py`) loads params and the
utterance table, calls :func:`get`, runs it, writes each modality file and its failure
manifest, and enforces ``features.max_failed_fraction``.

Contract of an extractor module: it defines a subclass of :class:`Extractor` and registers it
with :func:`register`. ``extract`` returns one :class:`Result` per modality it writes, with
rows in the order of the given table. Failed rows: ``ok`` False, NaN vectors, a reason.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..execution import Executor, ProcessExecutor
from ..store import Features

# extractor name -> (module, modalities it writes)
REGISTRY: dict[str, tuple[str, tuple[str, ...]]] = {
    "text": ("empathic.extractors.text", ("text",)),
    "audio": ("empathic.extractors.audio", ("audio",)),
    "face": ("empathic.extractors.face", ("video", "landmarks")),
    "physio": ("empathic.extractors.physio", ("physio",)),
    "ssl": ("empathic.extractors.ssl", ("ssl",)),
}

_CLASSES: dict[str, type] = {}


@dataclass
class Result:
    features: Features
    reasons: dict[str, str] = field(default_factory=dict)   # utt_id -> reason, for ok=False rows


class Extractor:
    name: str = ""
    version: str = "1"
    reads_root: bool = True     # reads files under data.root (every Dask worker must see it)

    def __init__(self, params: dict, root: Path, workers: int, progress: bool = True,
                 executor: Executor | None = None):
        """params: this extractor's section (features.<name>); root: data.root; executor: what
        runs the units of work (default: a local pool of `workers` processes)."""
        self.params = params
        self.root = Path(root)
        self.workers = workers
        self.progress = progress
        self.executor = executor if executor is not None else ProcessExecutor(workers)

    def extract(self, utts: pd.DataFrame) -> dict[str, Result]:  # modality -> Result
        raise NotImplementedError

    def unavailable(self, utts: pd.DataFrame) -> str | None:
        """Why this corpus has no such signal at all (e.g. KEMDy has no video), else None.

        The driver then writes every row as failed with this reason and does not apply
        features.max_failed_fraction: the modality is absent by design, not broken.
        """
        return None


def unavailable_result(modality: str, ids, reason: str) -> Result:
    """Every row failed with `reason`: the file a corpus without this modality gets."""
    n = len(ids)
    feats = Features(modality, list(ids), np.zeros(n, bool), np.full((n, 0), np.nan, np.float32), [])
    return Result(feats, {u: reason for u in ids})


def register(cls: type) -> type:
    _CLASSES[cls.name] = cls
    return cls


def get(name: str) -> type:
    if name not in REGISTRY:
        from ..errors import ParamError
        raise ParamError(f"unknown extractor '{name}'; expected one of {sorted(REGISTRY)}")
    importlib.import_module(REGISTRY[name][0])
    return _CLASSES[name]
