"""Face-landmark metrics on 68-point shapes (dlib / iBUG-300W order).

Shapes are (N, 68, 2) arrays or (N, 136) rows laid out x00, y00, x01, y01, ... The compared
shapes are each utterance's mean aligned shape (the landmark extractor's `lm_mean_*` columns:
every processed frame similarity-aligned to a canonical face on the nose and eye corners, then
averaged over the utterance).

- `nme`: the standard inter-ocular NME (300-W): the mean point-to-point error over the 68 points
  divided by the distance between the outer eye corners (points 36 and 45, 0-based) of the true
  shape; per shape, then the mean over shapes. `pck_05` / `pck_10`: the share of points within
  0.05 / 0.10 of that distance.
- `nme_nonrigid`: the same over the 55 points the alignment does not pin (all but the nose
  27-35 and the eye corners 36, 39, 42, 45), where expression lives.
- `nme_eye_centres`: the earlier normaliser (distance between the eye centres, means of 36-41
  and 42-47), kept for comparison with figures reported with it (about 1.4x the standard one).
"""
from __future__ import annotations

import numpy as np

from ..extractors.facegeom import EYE_L, EYE_R, N_POINTS, RIGID

OUTER_CORNERS = (36, 45)
NONRIGID = [i for i in range(N_POINTS) if i not in set(RIGID)]

# Facial parts as index ranges (for drawing): jaw, brows, nose, eyes, lips.
PARTS = [(0, 17, False), (17, 22, False), (22, 27, False), (27, 31, False), (31, 36, False),
         (36, 42, True), (42, 48, True), (48, 60, True), (60, 68, True)]


def as_points(x) -> np.ndarray:
    """(N, 136) or (N, 68, 2) -> (N, 68, 2) float64."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2 and x.shape[1] == 2 * N_POINTS:
        x = x.reshape(len(x), N_POINTS, 2)
    if x.ndim != 3 or x.shape[1:] != (N_POINTS, 2):
        raise ValueError(f"expected (N, 136) or (N, 68, 2) landmarks, got {x.shape}")
    return x


def interocular(true, norm: str = "corners") -> np.ndarray:
    """Normalising distance of each true shape, (N,): outer eye corners (standard) or the
    eye centres."""
    p = as_points(true)
    if norm == "corners":
        return np.linalg.norm(p[:, OUTER_CORNERS[1]] - p[:, OUTER_CORNERS[0]], axis=1)
    return np.linalg.norm(p[:, EYE_R].mean(axis=1) - p[:, EYE_L].mean(axis=1), axis=1)


def point_errors(pred, true, norm: str = "corners") -> np.ndarray:
    """(N, 68) point-to-point distances over each true shape's normalising distance."""
    p, t = as_points(pred), as_points(true)
    if p.shape != t.shape:
        raise ValueError(f"prediction shape {p.shape} differs from target shape {t.shape}")
    d = interocular(t, norm)
    if np.any(d <= 0):
        raise ValueError("a true shape has zero inter-ocular distance")
    return np.linalg.norm(p - t, axis=2) / d[:, None]


def row_nme(pred, true, points=None, norm: str = "corners") -> np.ndarray:
    """(N,) NME of each shape (over `points`, default all 68)."""
    e = point_errors(pred, true, norm)
    return (e if points is None else e[:, points]).mean(axis=1)


def nme(pred, true) -> float:
    """The standard inter-ocular NME (outer eye corners), mean over shapes."""
    return float(np.mean(row_nme(pred, true)))


def nme_nonrigid(pred, true) -> float:
    return float(np.mean(row_nme(pred, true, NONRIGID)))


def nme_eye_centres(pred, true) -> float:
    return float(np.mean(row_nme(pred, true, norm="centres")))


def pck(pred, true, threshold: float) -> float:
    """Share of points within `threshold` outer-eye-corner distances of the truth."""
    return float(np.mean(point_errors(pred, true) <= threshold))
