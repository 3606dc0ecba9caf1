"""From the pairs tables and feature files to arrays a model trains on.

`Rows` holds one task's examples (inputs X per modality, targets Y, the session of each row for
fold assignment) after dropping every row whose features are missing or not ok; the drops are
counted by reason, never zero-filled. `fold_masks` splits rows by a fold's sessions, and `Scaler`
standardises with statistics fitted on training rows only.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import store
from ..errors import EmpathicError
from ..config.schema import MODALITIES  # noqa: F401  (re-exported: the feature files)
from ..tables import PAIRS_DIR, load_folds, load_pairs, load_utterances

N_POINTS = 68
_LM_MEAN = re.compile(r"^lm_mean_([xy])(\d\d)$")


@dataclass
class Tables:
    """data/pairs/*: utterances, pairs and the folds protocol."""

    utterances: pd.DataFrame
    pairs: pd.DataFrame
    folds: dict

    @classmethod
    def load(cls, pairs_dir: str | Path = PAIRS_DIR) -> "Tables":
        d = Path(pairs_dir)
        return cls(load_utterances(d / "utterances.csv"), load_pairs(d / "pairs.csv"),
                   load_folds(d / "folds.json"))


class FeatureBank:
    """Pooled features of features/<modality>.h5, read once, looked up by utterance id."""

    def __init__(self, features_dir: str | Path = "features"):
        self.dir = Path(features_dir)
        self._cache: dict[str, tuple[store.Features, dict[str, int]]] = {}

    def features(self, modality: str) -> store.Features:
        return self._load(modality)[0]

    def _load(self, modality: str):
        if modality not in self._cache:
            f = store.read_pooled(self.dir / f"{modality}.h5")
            self._cache[modality] = (f, f.index())
        return self._cache[modality]

    def unavailable(self, modality: str) -> str | None:
        """Why the corpus lacks `modality` entirely, else None.

        A corpus without a signal (KEMDy: no video; IEMOCAP: no physio) gets a file whose every
        row failed, with the extractor's reason in <modality>.failures.csv (stages/extract.py).
        """
        f = self.features(modality)
        if not len(f.ok) or f.ok.any():
            return None
        manifest = self.dir / f"{modality}.failures.csv"
        reasons = (pd.read_csv(manifest, dtype=str, keep_default_na=False)["reason"]
                   if manifest.is_file() else pd.Series([], dtype=str))
        return reasons.iloc[0] if len(reasons) and (reasons == reasons.iloc[0]).all() \
            else f"every row of {modality}.h5 failed"

    def has_frames(self, modality: str) -> bool:
        import h5py
        with h5py.File(self.dir / f"{modality}.h5", "r") as f:
            return "frames" in f and "frame_names" in f and len(f["frame_names"]) > 0

    def frame_stats(self, modality: str, utt_ids, cut_s: np.ndarray):
        """(values (N, 2F), present, ok, names): the mean and std of each frame column over the
        frames that start before `cut_s` (seconds from the utterance start; inf: every frame).
        A row without such a frame is not ok. The file's frames are read a block at a time
        (store.frame_stats), never held whole."""
        return store.frame_stats(self.dir / f"{modality}.h5", utt_ids, cut_s)

    def names(self, modality: str) -> list[str]:
        return list(self.features(modality).pooled_names)

    def lookup(self, modality: str, utt_ids, columns: np.ndarray | None = None):
        """(values (N, D) float32, present (N,) bool, ok (N,) bool) for `utt_ids`.

        Ids absent from the file get present=False; rows not ok get ok=False. Values of such
        rows are NaN. `columns` picks (and orders) pooled columns.
        """
        f, index = self._load(modality)
        pos = np.array([index.get(u, -1) for u in utt_ids], dtype=np.int64)
        present = pos >= 0
        cols = f.pooled if columns is None else f.pooled[:, columns]
        values = np.full((len(pos), cols.shape[1]), np.nan, dtype=np.float32)
        values[present] = cols[pos[present]]
        ok = present.copy()
        ok[present] = f.ok[pos[present]]
        ok &= np.all(np.isfinite(values), axis=1)
        return values, present, ok


def landmark_columns(names: list[str]) -> tuple[np.ndarray, list[str]]:
    """Pooled columns of the mean aligned 68 points, ordered x00, y00, x01, y01, ..."""
    where = {}
    for i, n in enumerate(names):
        m = _LM_MEAN.match(n)
        if m:
            where[(int(m.group(2)), m.group(1))] = i
    order = [(p, a) for p in range(N_POINTS) for a in "xy"]
    missing = [f"lm_mean_{a}{p:02d}" for p, a in order if (p, a) not in where]
    if missing:
        raise EmpathicError(f"landmarks.h5 lacks the mean aligned points ({len(missing)} columns "
                            f"missing, e.g. {missing[0]}); re-run extract@face")
    return np.array([where[k] for k in order]), [f"lm_mean_{a}{p:02d}" for p, a in order]


@dataclass
class Rows:
    """One task's examples after ok-filtering.

    ids: row ids (pair_id or utt_id); groups: the session of each row (folds split on it);
    X: input modality -> (N, D) float32; Y: target -> (N, k) float32 (or (N,) int64 labels);
    x_names / y_names: column names of every X / Y entry (class names for labels); extra:
    task-specific per-row arrays (e.g. the prompt's own target vectors for the mirror
    baseline); dropped: reason -> rows dropped; n_candidates: rows before dropping.
    """

    ids: np.ndarray
    groups: np.ndarray
    X: dict[str, np.ndarray]
    Y: dict[str, np.ndarray]
    x_names: dict[str, list[str]] = field(default_factory=dict)
    y_names: dict[str, list[str]] = field(default_factory=dict)
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    n_candidates: int = 0

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, mask_or_idx) -> "Rows":
        sel = lambda d: {k: v[mask_or_idx] for k, v in d.items()}  # noqa: E731
        return Rows(self.ids[mask_or_idx], self.groups[mask_or_idx], sel(self.X), sel(self.Y),
                    self.x_names, self.y_names, sel(self.extra), self.dropped, self.n_candidates)


def concat_rows(parts: list[Rows]) -> Rows:
    """Rows of several folds one after another (same inputs, targets and extras)."""
    cat = lambda get: {k: np.concatenate([get(p)[k] for p in parts]) for k in get(parts[0])}  # noqa: E731
    first = parts[0]
    return Rows(np.concatenate([p.ids for p in parts]), np.concatenate([p.groups for p in parts]),
                cat(lambda p: p.X), cat(lambda p: p.Y), first.x_names, first.y_names,
                cat(lambda p: p.extra), first.dropped, first.n_candidates)


def keep_ok(checks: list[tuple[str, np.ndarray]], n: int) -> tuple[np.ndarray, dict[str, int]]:
    """AND of (reason, ok-mask) checks; each dropped row is counted under its first failing reason."""
    keep = np.ones(n, dtype=bool)
    dropped: dict[str, int] = {}
    for reason, ok in checks:
        bad = keep & ~ok
        if bad.any():
            dropped[reason] = int(bad.sum())
        keep &= ok
    return keep, dropped


def fold_masks(groups: np.ndarray, fold: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boolean masks of the train, val and test rows of `fold` (sessions in groups)."""
    parts = {k: set(map(str, fold.get(k, []))) for k in ("train", "val", "test")}
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        common = parts[a] & parts[b]
        if common:
            raise EmpathicError(f"fold {fold.get('name')}: sessions {sorted(common)} are in both "
                                f"{a} and {b}")
    groups = np.asarray(groups).astype(str)
    masks = tuple(np.isin(groups, sorted(parts[k])) for k in ("train", "val", "test"))
    for k, m in zip(("train", "val", "test"), masks):
        if not m.any():
            raise EmpathicError(f"fold {fold.get('name')}: no usable rows in its {k} sessions "
                                f"{sorted(parts[k])}")
    return masks


@dataclass
class Scaler:
    """Per-column standardisation; columns with no spread keep scale 1."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> "Scaler":
        x = np.asarray(x, dtype=np.float64)
        if not np.all(np.isfinite(x)):
            raise ValueError("cannot fit a scaler on non-finite values")
        std = x.std(axis=0)
        return cls(x.mean(axis=0).astype(np.float32),
                   np.where(std > 1e-8, std, 1.0).astype(np.float32))

    def transform(self, x: np.ndarray) -> np.ndarray:
        return ((np.asarray(x, dtype=np.float32) - self.mean) / self.scale).astype(np.float32)

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return (np.asarray(z, dtype=np.float32) * self.scale + self.mean).astype(np.float32)

    def state(self) -> dict:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_state(cls, s: dict) -> "Scaler":
        return cls(np.asarray(s["mean"], dtype=np.float32), np.asarray(s["scale"], dtype=np.float32))


def fit_scalers(arrays: dict[str, np.ndarray], only: set[str] | None = None) -> dict[str, Scaler]:
    """A scaler per entry (fitted on the arrays given: pass training rows only)."""
    return {k: Scaler.fit(v) for k, v in arrays.items() if only is None or k in only}


def apply_scalers(arrays: dict[str, np.ndarray], scalers: dict[str, Scaler]) -> dict[str, np.ndarray]:
    return {k: scalers[k].transform(v) if k in scalers else v for k, v in arrays.items()}


def nearest_rows(train: Rows, query: Rows, model, inputs, chunk: int = 2048) -> np.ndarray:
    """Index of the nearest training row for every query row (Euclidean) in `model`'s scaled
    input space, each input modality weighted equally (divided by the root of its width)."""
    import torch

    def space(rows: Rows) -> np.ndarray:
        z = model.scale_inputs(rows.X)
        return np.concatenate([z[m] / np.sqrt(z[m].shape[1]) for m in inputs], axis=1)
    tr = torch.from_numpy(np.ascontiguousarray(space(train), dtype=np.float32))
    q_all, out = space(query), []
    for i in range(0, len(q_all), chunk):
        q = torch.from_numpy(np.ascontiguousarray(q_all[i:i + chunk], dtype=np.float32))
        out.append(torch.cdist(q, tr).argmin(dim=1))
    return torch.cat(out).numpy()
