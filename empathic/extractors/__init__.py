"""Feature extractors and their registry.

An extractor turns the rows of utterances.csv into one or more modality feature sets
(:class:`empathic.store.Features`). The driver (`stages/extract.py`) loads params and the
utterance table, calls :func:`get`, runs it, writes each modality file and its failure
manifest, and enforces ``features.max_failed_fraction``.

Contract of an extractor module: it defines a subclass of :class:`Extractor` and registers it
with :func:`register`, and implements one of:

- ``stream(utts)`` -> :class:`Stream`: one :class:`empathic.store.Head` per modality and an
  iterator of ``(row index in utts, {modality: Row})`` yielded as the units of work complete
  (any order, each row once); the driver writes each row as it comes (store_writer), so it
  holds the rows in flight, not the corpus (audio, face);
- ``extract(utts)`` -> one :class:`Result` per modality, every row at once, in the order of the
  table (text, physio, ssl: small per-utterance vectors, or not configured by default).

Each is derived from the other (``extract`` collects a stream; ``stream`` replays the results).
Failed rows: ``ok`` False, NaN vectors, a reason.
"""
from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..execution import Executor, ProcessExecutor
from ..store import Features, Head, Row, collect, head_of, rows_of

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


@dataclass
class Stream:
    """An extractor's output as it comes: its modalities' heads and (row, {modality: Row})."""

    heads: dict[str, Head]
    rows: Iterator[tuple[int, dict[str, Row]]]


def stream_of(results: dict[str, Result]) -> Stream:
    """The stream of results held whole (an extractor that implements `extract` only)."""
    heads = {m: head_of(r.features) for m, r in results.items()}
    per = {m: rows_of(r.features, r.reasons) for m, r in results.items()}

    def rows():
        for m, it in per.items():
            for i, row in it:
                yield i, {m: row}
    return Stream(heads, rows())


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
        """Every row at once (default: the stream collected)."""
        st = self.stream(utts)
        rows = {m: [] for m in st.heads}
        for i, per in st.rows:
            for m, row in per.items():
                rows[m].append((i, row))
        out = {}
        for m, head in st.heads.items():
            feats, reasons = collect(head, utts["utt_id"], rows.pop(m))
            out[m] = Result(feats, reasons)
        return out

    def stream(self, utts: pd.DataFrame) -> Stream:
        """The rows as the units of work complete (default: `extract`'s results replayed)."""
        if type(self).extract is Extractor.extract:
            raise NotImplementedError(f"{type(self).__name__} implements neither stream nor "
                                      "extract")
        return stream_of(self.extract(utts))

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
