"""The HDF5 feature store: one file per modality (the contract: docs/architecture.md).

Layout of ``features/<modality>.h5``::

    ids          (N,)        utf-8 strings, same order in every modality file
    ok           (N,)        bool, False where extraction failed (vectors are NaN)
    pooled       (N, D)      float32, one vector per utterance
    pooled_names (D,)        utf-8 strings
    frames       (sum T, F)  float32, ragged per-utterance sequences (optional)
    frame_names  (F,)        utf-8 strings (optional)
    offsets      (N+1,)      int64, rows of utterance i are frames[offsets[i]:offsets[i+1]]
    <extra>      (sum T,...) float32 per-frame arrays sharing `offsets` (landmarks: points,
                             points_norm)
    attrs: modality, extractor, extractor_version, params (JSON), frame_rate

Files are written atomically and deterministically (no timestamps), so the same inputs give
byte-identical files and DVC does not rerun what follows. They are written from rows
(`store_writer.FeatureWriter`: the extract stage streams each utterance's row as it comes;
`write` passes the rows of features held in memory), with the same bytes either way.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import h5py
import numpy as np

from .atomic import atomic_path, room_for
from .errors import EmpathicError
from .store_writer import STR, FeatureWriter, Head, Row, complete

__all__ = ["STR", "Features", "Head", "Row", "array_names", "collect", "frame_stats", "head_of",
           "read", "read_sequences", "rows_of", "write"]


@dataclass
class Features:
    """One modality's features in memory (what a writer takes and a reader returns)."""

    modality: str
    ids: np.ndarray                      # (N,) str
    ok: np.ndarray                       # (N,) bool
    pooled: np.ndarray                   # (N, D) float32
    pooled_names: list[str]
    frames: list[np.ndarray] | None = None        # N arrays (T_i, F)
    frame_names: list[str] | None = None
    extra: dict[str, list[np.ndarray]] = field(default_factory=dict)  # name -> N arrays (T_i, ...)
    attrs: dict = field(default_factory=dict)

    def __post_init__(self):
        self.ids = np.asarray(self.ids, dtype=object)
        self.ok = np.asarray(self.ok, dtype=bool)
        self.pooled = np.asarray(self.pooled, dtype=np.float32)
        n = len(self.ids)
        if self.ok.shape != (n,):
            raise ValueError(f"{self.modality}: ok has shape {self.ok.shape}, expected ({n},)")
        if self.pooled.ndim != 2 or self.pooled.shape[0] != n:
            raise ValueError(f"{self.modality}: pooled has shape {self.pooled.shape}, expected ({n}, D)")
        if self.pooled.shape[1] != len(self.pooled_names):
            raise ValueError(f"{self.modality}: {self.pooled.shape[1]} pooled columns but "
                             f"{len(self.pooled_names)} names")
        if n and not np.all(np.isnan(self.pooled[~self.ok])):
            raise ValueError(f"{self.modality}: failed rows must be NaN, never zeros")
        for name, seqs in [("frames", self.frames), *self.extra.items()]:
            if seqs is not None and len(seqs) != n:
                raise ValueError(f"{self.modality}: {name} has {len(seqs)} sequences for {n} ids")

    def __len__(self) -> int:
        return len(self.ids)

    def index(self) -> dict[str, int]:
        return {u: i for i, u in enumerate(self.ids)}


def frame_times(feats: Features) -> list[np.ndarray]:
    """Each row's frame times (seconds from the utterance start): the `times` array where the
    file has one, else frame index / `frame_rate`."""
    times = feats.extra.get("times")
    if times is None:
        rate = _frame_rate(feats.attrs, f"{feats.modality}.h5")
        times = [_index_times(len(x), rate) for x in feats.frames]
    return [np.asarray(t).reshape(-1) for t in times]


def _frame_rate(attrs, what) -> float:
    """The frame rate of a file without a `times` array (frame i starts at i / rate)."""
    rate = float(attrs.get("frame_rate", 0) or 0)
    if rate <= 0:
        raise EmpathicError(f"{what} has frames but no frame_rate nor times")
    return rate


def _index_times(n: int, rate: float) -> np.ndarray:
    return np.arange(n) / rate


def frame_stat_names(frame_names: Sequence[str]) -> list[str]:
    """Column names of `frame_mean_std`: <frame name>_mean for each column, then <name>_std."""
    return [f"{n}_mean" for n in frame_names] + [f"{n}_std" for n in frame_names]


def frame_mean_std(frames, dim: int) -> np.ndarray:
    """(2 * dim,) float32: the mean then the std of each column over the finite frames of one
    utterance; NaN when it has none (the row is then not ok, never zero-filled)."""
    x = np.asarray(frames, np.float64).reshape(-1, dim)
    x = x[np.all(np.isfinite(x), axis=1)]
    if not len(x):
        return np.full(2 * dim, np.nan, np.float32)
    return np.concatenate([x.mean(axis=0), x.std(axis=0)]).astype(np.float32)


def _tail(seqs: Sequence[np.ndarray]) -> tuple:
    for s in seqs:
        s = np.asarray(s)
        if s.ndim >= 2:
            return tuple(s.shape[1:])
    raise ValueError("cannot tell the per-frame shape: every sequence is empty/1-d")


def head_of(feats: Features) -> Head:
    """The writer's head of features held in memory."""
    tails = {}
    if feats.frames is not None:
        tails["frames"] = ((len(feats.frame_names),) if feats.frame_names
                           else _tail(feats.frames))
    tails.update({name: _tail(seqs) for name, seqs in feats.extra.items()})
    return Head(feats.modality, list(feats.pooled_names), tails, feats.frame_names,
                attrs=dict(feats.attrs))


def rows_of(feats: Features, reasons: dict | None = None) -> Iterator[tuple[int, Row]]:
    """(i, row i) of features held in memory; a failed row's reason from `reasons`."""
    reasons = reasons or {}
    for i, u in enumerate(feats.ids):
        seqs = {name: seqs[i] for name, seqs in feats.extra.items()}
        if feats.frames is not None:
            seqs["frames"] = feats.frames[i]
        yield i, Row(feats.pooled[i], seqs,
                     "" if feats.ok[i] else reasons.get(u, "unknown"))


def collect(head: Head, ids, rows) -> tuple[Features, dict[str, str]]:
    """Features in memory (and the failed rows' reasons) from (i, row) pairs in any order:
    what the writer would write, for callers that want the arrays (predict, tests)."""
    ids = list(ids)
    n = len(ids)
    pooled = np.full((n, len(head.pooled_names)), np.nan, np.float32)
    ok = np.ones(n, bool)
    seqs: dict[str, list] = {name: [None] * n for name in head.tails}
    present, reasons = set(), {}
    for i, row in rows:
        pooled[i], full = complete(head, row, f"{head.modality} row {i} ({ids[i]})")
        present.update(row.seqs)
        for name, arr in full.items():
            seqs[name][i] = arr
        if row.reason:
            ok[i], reasons[ids[i]] = False, row.reason
    if any(s is None for lst in seqs.values() for s in lst):
        raise ValueError(f"{head.modality}: some rows never came")
    extra = {k: v for k, v in seqs.items()
             if k != "frames" and (k not in head.optional or k in present)}
    return Features(head.modality, ids, ok, pooled, list(head.pooled_names),
                    frames=seqs.get("frames"), frame_names=head.frame_names, extra=extra,
                    attrs=dict(head.attrs)), reasons


def write(path: str | os.PathLike, feats: Features) -> None:
    """Write `feats` to `path` atomically and deterministically (empathic/store_writer.py).

    A full disk is one DiskFull line naming the file and at least the space it needs (the
    features' raw size: the writer's spills); the previous file stays.
    """
    path = Path(path)
    need = feats.pooled.nbytes + sum(4 * np.asarray(x).size for seqs in
                                     [feats.frames or [], *feats.extra.values()] for x in seqs)
    with atomic_path(path) as tmp, room_for(path, need, at_least=True):
        w = FeatureWriter(tmp, head_of(feats), feats.ids)
        try:
            for i, row in rows_of(feats):
                w.add(i, row)
            w.finish()
        finally:
            w.close()


_MAIN = ("ids", "ok", "pooled", "pooled_names", "frames", "frame_names", "offsets")


def read(path: str | os.PathLike, frames: bool = True,
         extra: Sequence[str] | None = None) -> Features:
    """Read a modality file written by `write` (frames and extra arrays only when `frames`;
    `extra` names the extra arrays to read, None: all of them)."""
    path = Path(path)
    with _open(path) as f:
        ids = np.array(f["ids"].asstr()[()], dtype=object)
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        for k in ("params",):
            if isinstance(attrs.get(k), str):
                attrs[k] = json.loads(attrs[k])
        seqs, frame_names, arrays = None, None, {}
        if frames and "offsets" in f:
            off = f["offsets"][()]
            if "frames" in f:
                seqs = _split(f["frames"][()], off)
            if "frame_names" in f:
                frame_names = list(f["frame_names"].asstr()[()])
            for name in f:
                if name not in _MAIN and (extra is None or name in extra):
                    arrays[name] = _split(f[name][()], off)
        return Features(
            modality=attrs.pop("modality"), ids=ids, ok=f["ok"][()],
            pooled=f["pooled"][()], pooled_names=list(f["pooled_names"].asstr()[()]),
            frames=seqs, frame_names=frame_names, extra=arrays, attrs=attrs)


def read_sequences(path: str | os.PathLike, name: str) -> list[np.ndarray] | None:
    """One per-frame array of a modality file (`frames` or an extra), split per row; None
    when the file has no such array."""
    with _open(Path(path)) as f:
        if name not in f or "offsets" not in f or (name in _MAIN and name != "frames"):
            return None
        return _split(f[name][()], f["offsets"][()])


def array_names(path: str | os.PathLike) -> set[str]:
    """The per-frame arrays a modality file holds (`frames` and the extras)."""
    with _open(Path(path)) as f:
        return {n for n in f if n not in _MAIN or n == "frames"} if "offsets" in f else set()


def frame_stats(path: str | os.PathLike, utt_ids, cut_s, block_frames: int = 1 << 18):
    """(values (N, 2F) float32, present (N,), ok (N,), names): `frame_mean_std` of each
    requested row's frames that start before its `cut_s` (seconds from the utterance start;
    inf: every frame), read a block of about `block_frames` frames at a time, so memory is a
    block's, not the file's. Rows absent from the file are not present; failed rows, and rows
    without such a frame, are NaN and not ok."""
    with _open(Path(path)) as f:
        if "frames" not in f or "frame_names" not in f:
            raise EmpathicError(f"{path} has no frames (the task needs frame-level features)")
        names = list(f["frame_names"].asstr()[()])
        index = {u: i for i, u in enumerate(f["ids"].asstr()[()])}
        ok, off = f["ok"][()], f["offsets"][()]
        rate = None if "times" in f else _frame_rate(f.attrs, path)
        out = np.full((len(utt_ids), 2 * len(names)), np.nan, dtype=np.float32)
        present = np.zeros(len(utt_ids), bool)
        want: dict[int, list[int]] = {}
        for r, u in enumerate(utt_ids):
            i = index.get(u, -1)
            present[r] = i >= 0
            if i >= 0 and ok[i]:
                want.setdefault(i, []).append(r)
        rows, k = sorted(want), 0
        while k < len(rows):
            j = k                               # rows[k..j]: the next block
            while j + 1 < len(rows) and off[rows[j + 1] + 1] - off[rows[k]] <= block_frames:
                j += 1
            lo, hi = off[rows[k]], off[rows[j] + 1]
            fr = f["frames"][lo:hi]
            tm = f["times"][lo:hi].reshape(-1) if "times" in f else None
            for i in rows[k:j + 1]:
                a, b = off[i] - lo, off[i + 1] - lo
                t = tm[a:b] if tm is not None else _index_times(b - a, rate)
                for r in want[i]:
                    out[r] = frame_mean_std(fr[a:b][t < cut_s[r]], len(names))
            k = j + 1
    return out, present, np.isfinite(out).all(axis=1) & present, frame_stat_names(names)


def _split(a: np.ndarray, off: np.ndarray) -> list[np.ndarray]:
    return [a[off[i]:off[i + 1]] for i in range(len(off) - 1)]


class _open:
    """h5py.File(path, "r"), or one EmpathicError line for a missing or unreadable file."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        if not self.path.is_file():
            raise EmpathicError(f"feature file not found: {self.path} (run `dvc repro` to "
                                f"extract it)")
        try:
            self.f = h5py.File(self.path, "r")
        except OSError as e:
            raise EmpathicError(f"{self.path}: not a readable feature file ({e})") from None
        return self.f

    def __exit__(self, typ, exc, tb):
        self.f.close()
        if isinstance(exc, (OSError, KeyError)):
            raise EmpathicError(f"{self.path}: not a readable feature file ({exc})") from None
        return False


def read_pooled(path: str | os.PathLike) -> Features:
    return read(path, frames=False)
