"""Feature files written as the rows arrive (empathic/store.py has the layout and the reader).

A `FeatureWriter` takes one modality's rows in any order, each row exactly once: row i's pooled
vector, its per-frame arrays (`Head.tails` names them and the shape of one frame) and, where it
failed, the reason. Each array is appended to a spill file (raw float32) as the row comes: an
anonymous file beside the output (O_TMPFILE, or one unlinked at once), so nothing is left
behind even by SIGKILL; `finish` then writes the HDF5 file from the spills in row order, one
band of rows at a time. The client holds one band
(`BAND_BYTES`, at least one row of HDF5 chunks) and the results in flight, never the corpus;
the spills need the features' raw size on disk until the file is written.

The bytes are those of the whole-at-once write of the same rows: the same datasets in the same
order, shapes, chunking (h5py's guess from the final shape: why the rows are spilled first),
gzip and shuffle filters; each chunk is written whole by one call and each dataset is closed
before the next is made, so HDF5 allocates the chunks in the same order. The file is written
through HDF5's plain POSIX driver; after a failed write (a full disk) its descriptor is pointed
at /dev/null, so HDF5 closes it cleanly (no crash at exit) and the error surfaces as the OSError
(ENOSPC, EFBIG) that `empathic.atomic.room_for` reports in one line.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

STR = h5py.string_dtype("utf-8")
BAND_BYTES = 8 << 20        # rows copied from the spills to the file per write (at least a
                            # row of chunks)
SMALL = 4096                # arrays up to this many values are contiguous, bigger ones chunked


@dataclass
class Head:
    """What a modality file holds besides its rows."""

    modality: str
    pooled_names: list[str]
    tails: dict[str, tuple] = field(default_factory=dict)   # per-frame array -> one frame's shape
    frame_names: list[str] | None = None        # the columns of tails["frames"]
    optional: frozenset = frozenset()   # per-frame arrays a row may lack (NaN rows then); the
                                        # file has one only if some row had it
    attrs: dict = field(default_factory=dict)


@dataclass
class Row:
    """One utterance of one modality."""

    pooled: np.ndarray                                   # (D,); NaN where the row failed
    seqs: dict[str, np.ndarray] = field(default_factory=dict)   # name -> (T, *tail)
    reason: str = ""                                     # non-empty: the row failed


def complete(head: Head, row: Row, where: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A row checked against its head: (pooled float32 (D,), every per-frame array as float32
    (T, *tail), an optional one missing filled with NaN). Raises ValueError naming `where`."""
    pooled = np.asarray(row.pooled, np.float32).reshape(-1)
    if len(pooled) != len(head.pooled_names):
        raise ValueError(f"{where}: {len(pooled)} pooled values for "
                         f"{len(head.pooled_names)} names")
    if row.reason and not np.all(np.isnan(pooled)):
        raise ValueError(f"{where}: failed rows must be NaN, never zeros")
    unknown = sorted(set(row.seqs) - set(head.tails))
    if unknown:
        raise ValueError(f"{where}: per-frame arrays {unknown} are not in the head")
    seqs = {k: np.asarray(v, np.float32).reshape((-1,) + tuple(head.tails[k]))
            for k, v in row.seqs.items()}
    lengths = {len(v) for v in seqs.values()}
    if len(lengths) > 1:
        raise ValueError(f"{where}: per-frame arrays of different lengths {sorted(lengths)}")
    t = lengths.pop() if lengths else 0
    for name, tail in head.tails.items():
        if name not in seqs:
            if name not in head.optional:
                raise ValueError(f"{where}: no '{name}' frames")
            seqs[name] = np.full((t,) + tuple(tail), np.nan, np.float32)
    return pooled, seqs


class _Spill:
    """One array's rows, appended to a raw file in arrival order; read back in row order."""

    def __init__(self, folder: Path, tail: tuple, n: int):
        self.tail = tuple(tail)
        self.row_bytes = 4 * int(np.prod(self.tail, dtype=np.int64))
        self.start = np.zeros(n, np.int64)        # row i's first spilled row
        self.rows = 0
        self.fh = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115 - open until close

    def add(self, i: int, arr: np.ndarray) -> None:
        self.start[i] = self.rows
        self.rows += len(arr)
        self.fh.write(np.ascontiguousarray(arr).data)

    def band(self, offsets: np.ndarray, a: int, b: int) -> np.ndarray:
        """Output rows [a, b) (row i holds offsets[i]:offsets[i+1]) as one (b - a, *tail)."""
        out = np.empty((b - a,) + self.tail, np.float32)
        flat = out.reshape(-1).view(np.uint8)
        i = int(np.searchsorted(offsets, a, side="right")) - 1
        while i < len(offsets) - 1 and offsets[i] < b:
            lo, hi = max(a, offsets[i]), min(b, offsets[i + 1])
            if hi > lo:
                view = flat[(lo - a) * self.row_bytes:(hi - a) * self.row_bytes]
                got = os.preadv(self.fh.fileno(), [view],
                                int(self.start[i] + lo - offsets[i]) * self.row_bytes)
                if got != len(view):
                    raise OSError("short read of a spill file")
            i += 1
        return out


class FeatureWriter:
    """Writes one modality file at `path` (a temporary: the caller renames it) from rows."""

    def __init__(self, path: str | os.PathLike, head: Head, ids):
        self.path, self.head = Path(path), head
        self.ids = [str(u) for u in ids]
        n = len(self.ids)
        self.ok = np.ones(n, bool)
        self.done = np.zeros(n, bool)
        self.lengths = np.zeros(n, np.int64)
        self.reasons: dict[str, str] = {}
        self.present: set[str] = set()
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True)
        self.spills: dict[str, _Spill] = {}
        try:
            self.spills["pooled"] = _Spill(folder, (len(head.pooled_names),), n)
            for name, tail in head.tails.items():
                self.spills[name] = _Spill(folder, tail, n)
        except BaseException:
            self.close()
            raise

    def add(self, i: int, row: Row) -> None:
        where = f"{self.head.modality} row {i} ({self.ids[i]})"
        if self.done[i]:
            raise ValueError(f"{where}: written twice")
        pooled, seqs = complete(self.head, row, where)
        self.present.update(row.seqs)
        if row.reason:
            self.ok[i] = False
            self.reasons[self.ids[i]] = row.reason
        self.spills["pooled"].add(i, pooled[None])
        for name, arr in seqs.items():
            self.spills[name].add(i, arr)
        self.lengths[i] = len(next(iter(seqs.values()))) if seqs else 0
        self.done[i] = True

    @property
    def failed(self) -> int:
        return int((~self.ok).sum())

    def finish(self) -> None:
        """Write the HDF5 file (every row must have come), then drop the spills."""
        if not self.done.all():
            missing = [self.ids[i] for i in np.flatnonzero(~self.done)[:3]]
            raise ValueError(f"{self.head.modality}: rows never written, e.g. {missing}")
        for s in self.spills.values():
            s.fh.flush()
        head, n = self.head, len(self.ids)
        offsets = np.concatenate([[0], np.cumsum(self.lengths)]).astype(np.int64)
        with h5_file(self.path) as f:
            _ds(f, "ids", self.ids, dtype=STR)
            _ds(f, "ok", self.ok)
            self._copy(f, "pooled", np.arange(n + 1, dtype=np.int64))
            _ds(f, "pooled_names", list(head.pooled_names), dtype=STR)
            if "frames" in head.tails:
                self._copy(f, "frames", offsets)
                if head.frame_names is not None:
                    _ds(f, "frame_names", list(head.frame_names), dtype=STR)
            for name in sorted(set(head.tails) - {"frames"}):
                if name not in head.optional or name in self.present:
                    self._copy(f, name, offsets)
            if head.tails:
                _ds(f, "offsets", offsets)
            attrs = {"modality": head.modality, **head.attrs}
            for k in sorted(attrs):
                v = attrs[k]
                f.attrs[k] = json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v
        self.close()

    def _copy(self, f: h5py.File, name: str, offsets: np.ndarray) -> None:
        spill = self.spills[name]
        shape = (int(offsets[-1]),) + spill.tail
        if int(np.prod(shape, dtype=np.int64)) <= SMALL:
            _ds(f, name, spill.band(offsets, 0, shape[0]))
            return
        ds = f.create_dataset(name, shape=shape, dtype=np.float32, **_CHUNKED)
        step = ds.chunks[0] * max(1, BAND_BYTES // max(ds.chunks[0] * spill.row_bytes, 1))
        for a in range(0, shape[0], step):
            b = min(a + step, shape[0])
            ds[a:b] = spill.band(offsets, a, b)
        ds.id.flush()   # its last chunks written (an error raised here, not ignored at close)
        del ds          # closed now: before the next dataset is made, as a whole write does

    def close(self) -> None:
        """Drop the spills (also after an error)."""
        for s in self.spills.values():
            with contextlib.suppress(OSError):     # unwritten buffered bytes on a full disk
                s.fh.close()


_CHUNKED = {"chunks": True, "compression": "gzip", "compression_opts": 4, "shuffle": True,
            "track_times": False}


def _ds(f: h5py.File, name: str, data, dtype=None) -> None:
    """A dataset written whole: strings and small arrays contiguous, bigger arrays chunked."""
    arr = np.asarray(data) if dtype is None else data
    big = dtype is None and isinstance(arr, np.ndarray) and arr.ndim >= 1 and arr.size > SMALL
    f.create_dataset(name, data=data, dtype=dtype,
                     **(_CHUNKED if big else {"track_times": False}))


@contextlib.contextmanager
def h5_file(path: Path):
    """A new HDF5 file at `path` (POSIX driver, no timestamps, the oldest format that holds
    it). On an error (a full disk) HDF5's descriptor is pointed at /dev/null before the file
    is closed: the library then closes it without failing again, and the error goes on."""
    f = h5py.File(path, "w", libver=("earliest", "v110"), track_order=False)
    fd = f.id.get_vfd_handle()
    try:
        yield f
        f.flush()
    except BaseException:
        _abandon(f, fd)
        raise
    try:
        f.close()
    except OSError:
        _abandon(f, fd)
        raise


def _abandon(f: h5py.File, fd: int) -> None:
    null = os.open(os.devnull, os.O_RDWR)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)
    with contextlib.suppress(Exception):
        f.close()
