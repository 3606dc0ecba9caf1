"""Frame-level features on a fixed time grid, for the tasks that predict sequences.

`SequenceBank` reads the ragged frames of features/<modality>.h5 once, and each per-frame array
a task asks for (landmarks: the aligned points, the listener's face when the face pass wrote it)
when first asked, and samples any utterance on
a grid of times (seconds from the utterance start): the processed frame nearest each grid time,
within half a grid step (face frames), or the mean of the frames inside each grid step (audio's
10 ms descriptors). Grid times with no frame are NaN; `fill_gaps` interpolates short gaps.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import store
from ..errors import EmpathicError

LISTENER = "listener_"          # prefix of the listener's per-frame arrays in landmarks.h5
MEASURES = ("mouth_open", "mouth_corner", "brow_height", "eye_open")   # reaction measures


class SequenceBank:
    """Frame-level features of features/<modality>.h5 looked up by utterance: a file's frames
    and times are read on first use, each extra array (e.g. landmarks' points_norm) on first
    request, so only the arrays a task asks for are held."""

    def __init__(self, features_dir: str | Path = "features"):
        self.dir = Path(features_dir)
        self._cache: dict[str, tuple[store.Features, dict[str, int], list[np.ndarray]]] = {}
        self._arrays: dict[str, set[str]] = {}          # modality -> per-frame arrays it holds
        self._means: dict[tuple, np.ndarray | None] = {}

    @classmethod
    def of(cls, feats: dict[str, store.Features]) -> "SequenceBank":
        """A bank over features already in memory (stages.predict's segments), not files."""
        bank = cls()
        for m, f in feats.items():
            if f.frames is not None:
                bank._cache[m] = (f, f.index(), store.frame_times(f))
                bank._arrays[m] = {"frames", *f.extra}
        return bank

    def _load(self, modality: str):
        if modality not in self._cache:
            path = self.dir / f"{modality}.h5"
            f = store.read(path, extra=("times",))
            if f.frames is None:
                raise EmpathicError(f"{path} has no frames (the task needs frame-level "
                                    f"{modality} features)")
            self._cache[modality] = (f, f.index(), store.frame_times(f))
            self._arrays[modality] = store.array_names(path)
        return self._cache[modality]

    def _extra(self, modality: str, array: str) -> list[np.ndarray]:
        f = self._load(modality)[0]
        if array not in f.extra:
            got = store.read_sequences(self.dir / f"{modality}.h5", array)
            if got is None:
                raise EmpathicError(f"{modality}.h5 has no per-frame array {array!r}")
            f.extra[array] = got
        return f.extra[array]

    def names(self, modality: str) -> list[str]:
        return list(self._load(modality)[0].frame_names)

    def face_mean(self, utt: str, cols: np.ndarray) -> np.ndarray | None:
        """An utterance's mean aligned shape (136) and mean of the frame columns `cols` over its
        face frames (computed once), or None when it has no face."""
        key = (utt, tuple(int(c) for c in cols))
        if key not in self._means:
            shp, mea = self.arrays("landmarks", utt, "points_norm"), self.arrays("landmarks", utt)
            v = None
            if shp is not None and len(shp[0]):
                with np.errstate(invalid="ignore"):
                    v = np.r_[np.nanmean(shp[1], axis=0), np.nanmean(mea[1][:, cols], axis=0)]
            self._means[key] = v if v is not None and np.isfinite(v).all() else None
        return self._means[key]

    def has(self, modality: str, array: str) -> bool:
        self._load(modality)
        return array in self._arrays[modality]

    def arrays(self, modality: str, utt: str, array: str = "frames"):
        """(times (T,), values (T, ...)) of one utterance, or None if absent or failed."""
        f, index, times = self._load(modality)
        i = index.get(utt, -1)
        if i < 0 or not f.ok[i]:
            return None
        values = f.frames[i] if array == "frames" else self._extra(modality, array)[i]
        return times[i], np.asarray(values, np.float64).reshape(len(times[i]), -1)

    def nearest(self, modality: str, utt: str, grid: np.ndarray, step: float,
                array: str = "frames") -> np.ndarray | None:
        """(len(grid), D): the frame nearest each grid time within step / 2, else NaN rows."""
        got = self.arrays(modality, utt, array)
        if got is None:
            return None
        t, v = got
        out = np.full((len(grid), v.shape[1]), np.nan)
        if not len(t):
            return out
        j = np.clip(np.searchsorted(t, grid), 0, len(t) - 1)
        before = np.clip(j - 1, 0, len(t) - 1)
        j = np.where(np.abs(t[before] - grid) <= np.abs(t[j] - grid), before, j)
        near = np.abs(t[j] - grid) <= step / 2 + 1e-6
        out[near] = v[j[near]]
        return out

    def binned(self, modality: str, utt: str, grid: np.ndarray, step: float) -> np.ndarray | None:
        """(len(grid), D): the mean of the frames in [g - step/2, g + step/2) per grid time."""
        got = self.arrays(modality, utt)
        if got is None:
            return None
        t, v = got
        out = np.full((len(grid), v.shape[1]), np.nan)
        lo = np.searchsorted(t, grid - step / 2)
        hi = np.searchsorted(t, grid + step / 2)
        for k, (a, b) in enumerate(zip(lo, hi)):
            if b > a:
                with np.errstate(invalid="ignore"):
                    out[k] = np.nanmean(v[a:b], axis=0)
        return out


def fill_gaps(x: np.ndarray, max_missing: float) -> np.ndarray | None:
    """Linear interpolation over time of NaN frames (ends: the nearest frame); None when more
    than `max_missing` of the frames are missing (or all are)."""
    bad = ~np.isfinite(x).all(axis=1)
    if bad.all() or bad.mean() > max_missing:
        return None
    if not bad.any():
        return x
    good = np.flatnonzero(~bad)
    t = np.arange(len(x))
    return np.stack([np.interp(t, good, x[good, c]) for c in range(x.shape[1])], axis=1)


def displacement(seq: SequenceBank, utt: str, times: np.ndarray, step: float, cols: np.ndarray,
                 max_missing: float, clamp: bool = False) -> dict | None:
    """A speaker's face at `times` as displacement from the utterance's own mean: `shape`
    (T, 136) aligned points, `measures` (T, len(cols)) frame columns, `frames` both. `clamp`
    holds the first / last frame outside the utterance (and bridges any gap)."""
    full, mean = seq.arrays("landmarks", utt, "points_norm"), seq.face_mean(utt, cols)
    if full is None or mean is None:
        return None
    t = np.clip(times, full[0][0], full[0][-1]) if clamp else times
    if clamp:
        step = max(step, 2 * float(np.max(np.diff(full[0]), initial=0)))
    both = np.concatenate([seq.nearest("landmarks", utt, t, step, "points_norm"),
                           seq.nearest("landmarks", utt, t, step)[:, cols]], axis=1)
    both = fill_gaps(both, max_missing)
    if both is None:
        return None
    d = both - mean
    return {"shape": d[:, :full[1].shape[1]], "measures": d[:, full[1].shape[1]:], "frames": d}


def face_track(seq: SequenceBank, utt: str, times: np.ndarray, step: float, cols: np.ndarray,
               max_missing: float, prefix: str = "") -> np.ndarray | None:
    """(T, 136 + len(cols)): a face's aligned points and frame columns at `times`, gaps filled
    (`prefix` LISTENER: the listener's face over the utterance), or None."""
    shp = seq.nearest("landmarks", utt, times, step, prefix + "points_norm")
    mea = seq.nearest("landmarks", utt, times, step, prefix + "frames")
    if shp is None or mea is None:
        return None
    return fill_gaps(np.concatenate([shp, mea[:, cols]], axis=1), max_missing)


def reference(seq: SequenceBank, utts: list[str], cols: np.ndarray):
    """The mean over `utts` of each one's mean aligned shape and frame columns
    (`SequenceBank.face_mean`), or None when none of them has a face."""
    refs = [v for v in (seq.face_mean(u, cols) for u in utts) if v is not None]
    return np.mean(refs, axis=0) if refs else None
