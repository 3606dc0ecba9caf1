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
byte-identical files and DVC does not rerun what follows.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import h5py
import numpy as np

from .atomic import atomic_path, room_for
from .errors import EmpathicError

STR = h5py.string_dtype("utf-8")
CORE_BLOCK = 16 * 2 ** 20          # growth step of the in-memory file (bytes)


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
        rate = float(feats.attrs.get("frame_rate", 0) or 0)
        if rate <= 0:
            raise EmpathicError(f"{feats.modality}.h5 has frames but no frame_rate nor times")
        times = [np.arange(len(x)) / rate for x in feats.frames]
    return [np.asarray(t).reshape(-1) for t in times]


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


def _offsets(seqs: Sequence[np.ndarray]) -> np.ndarray:
    lens = np.array([len(s) for s in seqs], dtype=np.int64)
    return np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)


def _cat(seqs: Sequence[np.ndarray], tail: tuple) -> np.ndarray:
    seqs = [np.asarray(s, dtype=np.float32).reshape((-1,) + tail) for s in seqs]
    if not seqs:
        return np.zeros((0,) + tail, dtype=np.float32)
    return np.concatenate(seqs, axis=0)


def _tail(seqs: Sequence[np.ndarray]) -> tuple:
    for s in seqs:
        s = np.asarray(s)
        if s.ndim >= 2:
            return tuple(s.shape[1:])
    raise ValueError("cannot tell the per-frame shape: every sequence is empty/1-d")


def _ds(f: h5py.File, name: str, data, dtype=None) -> None:
    kw = dict(track_times=False)
    arr = np.asarray(data) if dtype is None else data
    if dtype is None and isinstance(arr, np.ndarray) and arr.ndim >= 1 and arr.size > 4096:
        kw.update(chunks=True, compression="gzip", compression_opts=4, shuffle=True)
    f.create_dataset(name, data=data, dtype=dtype, **kw)


def write(path: str | os.PathLike, feats: Features) -> None:
    """Write `feats` to `path` atomically and deterministically.

    The file is built in memory (HDF5's core driver) and then written with one plain write, so
    a full disk is one DiskFull line naming the file and the space it needs, and the HDF5
    library never holds a half-written file (on a full disk its cleanup at exit crashed).
    """
    path = Path(path)
    image = _image(feats)
    with atomic_path(path) as tmp, room_for(path, len(image)):
        tmp.write_bytes(image)


def _image(feats: Features) -> bytes:
    """The bytes of the HDF5 file of `feats` (what `write` puts on disk)."""
    with h5py.File(f"empathic-{id(feats)}.h5", "w", driver="core", backing_store=False,
                   block_size=CORE_BLOCK, libver=("earliest", "v110"), track_order=False) as f:
        _ds(f, "ids", [str(x) for x in feats.ids], dtype=STR)
        _ds(f, "ok", feats.ok)
        _ds(f, "pooled", feats.pooled.astype(np.float32))
        _ds(f, "pooled_names", list(feats.pooled_names), dtype=STR)
        offsets = None
        if feats.frames is not None:
            offsets = _offsets(feats.frames)
            _ds(f, "frames", _cat(feats.frames, (len(feats.frame_names),) if feats.frame_names
                                  else _tail(feats.frames)))
            if feats.frame_names is not None:
                _ds(f, "frame_names", list(feats.frame_names), dtype=STR)
        for name, seqs in sorted(feats.extra.items()):
            off = _offsets(seqs)
            if offsets is None:
                offsets = off
            elif not np.array_equal(off, offsets):
                raise ValueError(f"{feats.modality}: '{name}' lengths differ from frames")
            _ds(f, name, _cat(seqs, _tail(seqs)))
        if offsets is not None:
            _ds(f, "offsets", offsets)
        attrs = {"modality": feats.modality, **feats.attrs}
        for k in sorted(attrs):
            v = attrs[k]
            if isinstance(v, (dict, list)):
                v = json.dumps(v, sort_keys=True)
            f.attrs[k] = v
        f.flush()
        return f.id.get_file_image()


def read(path: str | os.PathLike, frames: bool = True) -> Features:
    """Read a modality file written by `write` (frames/extra only when `frames`)."""
    path = Path(path)
    if not path.is_file():
        raise EmpathicError(f"feature file not found: {path} (run `dvc repro` to extract it)")
    try:
        with h5py.File(path, "r") as f:
            ids = np.array(f["ids"].asstr()[()], dtype=object)
            attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
            for k in ("params",):
                if isinstance(attrs.get(k), str):
                    attrs[k] = json.loads(attrs[k])
            seqs, frame_names, extra = None, None, {}
            if frames and "offsets" in f:
                off = f["offsets"][()]
                split = lambda a: [a[off[i]:off[i + 1]] for i in range(len(ids))]  # noqa: E731
                if "frames" in f:
                    seqs = split(f["frames"][()])
                if "frame_names" in f:
                    frame_names = list(f["frame_names"].asstr()[()])
                for name in f:
                    if name not in ("ids", "ok", "pooled", "pooled_names", "frames", "frame_names",
                                    "offsets"):
                        extra[name] = split(f[name][()])
            return Features(
                modality=attrs.pop("modality"), ids=ids, ok=f["ok"][()],
                pooled=f["pooled"][()], pooled_names=list(f["pooled_names"].asstr()[()]),
                frames=seqs, frame_names=frame_names, extra=extra, attrs=attrs)
    except (OSError, KeyError) as e:
        raise EmpathicError(f"{path}: not a readable feature file ({e})") from None


def read_pooled(path: str | os.PathLike) -> Features:
    return read(path, frames=False)
