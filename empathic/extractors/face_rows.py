"""The face extractor's rows (stage extract@face, empathic/extractors/face.py does the pass):
what one utterance's faces become in video.h5 and landmarks.h5, and the two files' heads.

landmarks: `frames` = aligned points + per-frame measures, `points` (source pixels),
`points_norm` (aligned), `times`, the listener's `listener_*` where the params follow them;
`pooled` = mean/std of aligned points, mean/std/max of the measures and `face_found` (the
fraction of the utterance's frames with a face). video: `frames` = HOG, `pooled` = its mean
and std, `times`. A failed utterance: NaN vectors, no frames.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..store import Head, Row
from . import facegeom as G

if TYPE_CHECKING:
    from .face import FaceConfig, SpanOut


def _stats(x: np.ndarray, kinds: tuple[str, ...]) -> np.ndarray:
    return np.concatenate([{"mean": np.mean, "std": np.std, "max": np.max}[k](x, axis=0)
                           for k in kinds])


KINDS_LM, KINDS_M = ("mean", "std"), ("mean", "std", "max")   # pooled: points, measures


def _names(prefix: str, names: list[str], kinds: tuple[str, ...]) -> list[str]:
    return [f"{prefix}{k}_{n}" if prefix else f"{n}_{k}" for k in kinds for n in names]


def landmark_pooled_names() -> list[str]:
    """landmarks.h5's pooled columns: points' mean/std, measures' mean/std/max, face_found."""
    return (_names("lm_", G.point_names(), KINDS_LM) + _names("", G.MEASURES, KINDS_M)
            + ["face_found"])


LM_POOLED_DIM = len(landmark_pooled_names())


def heads(cfg: FaceConfig) -> dict[str, Head]:
    """The video and landmarks files' names, per-frame shapes and attributes."""
    pnames = G.point_names()
    lm_names = landmark_pooled_names()
    hog_names = [f"hog{i:04d}" for i in range(cfg.hog_dim)]
    frame_names = pnames + list(G.MEASURES)
    pts = (G.N_POINTS, 2)
    tails = {"frames": (len(frame_names),), "points": pts, "points_norm": pts, "times": (1,)}
    listener = {}
    if cfg.listener:
        listener = {"listener_points": pts, "listener_points_norm": pts,
                    "listener_frames": (len(frame_names),)}
    attrs = {"frame_rate": cfg.fps}
    video = Head("video", _names("", hog_names, ("mean", "std")),
                 {"frames": (cfg.hog_dim,), "times": (1,)}, hog_names,
                 attrs={**attrs, "descriptor": f"HOG of the {cfg.chip_size}px dlib face chip"})
    landmarks = Head(
        "landmarks", lm_names, {**tails, **listener}, frame_names, frozenset(listener),
        attrs={**attrs, "points": "dlib 68, source pixels (full frame)",
               "points_norm": "similarity-aligned on nose + eye corners; unit inter-ocular"})
    return {"video": video, "landmarks": landmarks}


def span_rows(o: SpanOut) -> dict[str, Row]:
    """One utterance's rows of video.h5 and landmarks.h5 (NaN vectors where it failed)."""
    aligned, meas = G.analyse(o.points)
    flat = aligned.reshape(len(aligned), 2 * G.N_POINTS)
    times = o.times.reshape(-1, 1)
    lm = {"frames": np.concatenate([flat, meas], axis=1), "points": o.points,
          "points_norm": aligned, "times": times}
    if o.listener is not None:
        lm.update(_listener_row(o.listener))
    if o.reason:
        lm_pooled = np.full(LM_POOLED_DIM, np.nan)
        v_pooled = np.full(2 * o.hog.shape[1], np.nan)
    else:
        lm_pooled = np.concatenate([_stats(flat, KINDS_LM), _stats(meas, KINDS_M),
                                    [len(o.points) / max(o.n_frames, 1)]])
        v_pooled = _stats(o.hog, ("mean", "std"))
    return {"video": Row(v_pooled, {"frames": o.hog, "times": times}, o.reason),
            "landmarks": Row(lm_pooled, lm, o.reason)}


def _listener_row(pts: np.ndarray) -> dict[str, np.ndarray]:
    """The listener's face on one utterance's frames: `listener_points` (source pixels),
    `listener_points_norm` (aligned) and `listener_frames` (aligned points + measures, the
    columns of `frames`); NaN rows where the listener's face was not found. A row without a
    listener gets NaN rows of all three (store_writer: Head.optional)."""
    good = np.isfinite(pts).all(axis=(1, 2))
    aligned = np.full(pts.shape, np.nan, np.float32)
    meas = np.full((len(pts), len(G.MEASURES)), np.nan, np.float32)
    if good.any():
        a, m = G.analyse(pts[good])
        aligned[good], meas[good] = a, m
    flat = aligned.reshape(len(pts), 2 * G.N_POINTS)
    return {"listener_points": pts.astype(np.float32), "listener_points_norm": aligned,
            "listener_frames": np.concatenate([flat, meas], 1).astype(np.float32)}
