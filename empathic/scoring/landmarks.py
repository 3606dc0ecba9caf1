"""Face-landmark metrics on 68-point shapes (dlib / iBUG-300W order).

Shapes are (N, 68, 2) arrays or (N, 136) rows laid out x00, y00, x01, y01, ... Errors are
normalised by the inter-ocular distance (IOD) of the true shape, defined as in the landmark
extractor (empathic/extractors/facegeom.py): the distance between the eye centres (means of
points 36-41 and 42-47). The extractor's aligned frame has unit IOD, so there NME is in IOD units.
"""
from __future__ import annotations

import numpy as np

from ..extractors.facegeom import EYE_L, EYE_R, N_POINTS

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


def interocular(true) -> np.ndarray:
    """Eye-centre distance of each true shape, (N,)."""
    p = as_points(true)
    return np.linalg.norm(p[:, EYE_R].mean(axis=1) - p[:, EYE_L].mean(axis=1), axis=1)


def point_errors(pred, true) -> np.ndarray:
    """(N, 68) point-to-point distances over each true shape's inter-ocular distance."""
    p, t = as_points(pred), as_points(true)
    if p.shape != t.shape:
        raise ValueError(f"prediction shape {p.shape} differs from target shape {t.shape}")
    iod = interocular(t)
    if np.any(iod <= 0):
        raise ValueError("a true shape has zero inter-ocular distance")
    return np.linalg.norm(p - t, axis=2) / iod[:, None]


def nme(pred, true) -> float:
    """Normalised mean error: mean point error over inter-ocular distance."""
    return float(np.mean(point_errors(pred, true)))


def pck(pred, true, threshold: float) -> float:
    """Share of points within `threshold` inter-ocular distances of the truth."""
    return float(np.mean(point_errors(pred, true) <= threshold))
