"""Drawing: one PNG per segment (speaker's face, predicted listener landmarks, emotion)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..extractors.face import side_columns
from ..store import Features
from .media import grab_frames
from .models import Predictions


def face_crop(frame: np.ndarray, points: np.ndarray | None, side: str | None) -> np.ndarray:
    """The speaker's face from a full frame: a box around its landmarks (source pixels), or the
    speaker's part of the frame (its half, its strip; the whole frame when unknown)."""
    h, w = frame.shape[:2]
    if points is not None and len(points):
        lo, hi = points.min(axis=0), points.max(axis=0)
        c, size = (lo + hi) / 2, float((hi - lo).max()) * 1.6
        x0, y0 = int(max(0, c[0] - size / 2)), int(max(0, c[1] - size / 2))
        x1, y1 = int(min(w, c[0] + size / 2)), int(min(h, c[1] + size / 2))
        if x1 - x0 > 8 and y1 - y0 > 8:
            return frame[y0:y1, x0:x1]
    cols = side_columns(side, w) if side else None
    return frame[:, cols[0]:cols[1]] if cols else frame


def draw_segment(path: Path, title: str, face: np.ndarray | None, face_note: str,
                 listener: np.ndarray, classes: list[str], probs: np.ndarray) -> None:
    """PNG: speaker's face | predicted listener landmarks | emotion probabilities."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..scoring.landmarks import PARTS

    fig, axes = plt.subplots(1, 3, figsize=(9, 3.2), gridspec_kw={"width_ratios": [1, 1, 1.1]})
    ax = axes[0]
    ax.set_axis_off()
    if face is not None:
        ax.imshow(face)
    ax.set_title("speaker" + (f" ({face_note})" if face_note else ""), fontsize=8)

    ax = axes[1]
    ax.set_axis_off()
    if np.all(np.isfinite(listener)):
        pts = listener.reshape(68, 2)           # aligned frame: unit inter-ocular distance
        for a, b, closed in PARTS:
            seg = pts[a:b]
            if closed:
                seg = np.vstack([seg, seg[:1]])
            ax.plot(seg[:, 0], seg[:, 1], color="tab:red", lw=1.5)
        ax.scatter(pts[:, 0], pts[:, 1], s=4, color="black", zorder=3)
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        c, half = (lo + hi) / 2, (hi - lo).max() * 0.6
        ax.set_xlim(c[0] - half, c[0] + half)
        ax.set_ylim(c[1] + half, c[1] - half)          # y down, as in images
        ax.set_aspect("equal")
        ax.set_title("predicted listener response", fontsize=8)
    else:
        ax.text(0.5, 0.5, "listener response\nnot predicted", ha="center", va="center",
                fontsize=9, transform=ax.transAxes)

    ax = axes[2]
    if classes and np.all(np.isfinite(probs)):
        ax.barh(range(len(classes)), probs, color="tab:blue")
        ax.set_yticks(range(len(classes)), classes, fontsize=8)
        ax.set_xlim(0, 1)
        ax.invert_yaxis()
        ax.tick_params(axis="x", labelsize=7)
        ax.set_title("emotion probability", fontsize=8)
    else:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "emotion\nnot predicted", ha="center", va="center", fontsize=9,
                transform=ax.transAxes)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=80, metadata={"Software": None})
    plt.close(fig)




def draw_all(req, segs, rows, sides, side_notes, pred: Predictions, lm: Features | None,
             table: pd.DataFrame, progress: bool) -> None:
    """segment_NNN.png per segment, into req.out (a fresh folder: `output.output_set`)."""
    from tqdm import tqdm
    times, points = [], []
    for i, s in enumerate(segs):     # the face: the analysed frame nearest the segment's middle
        t, pts = (s.start + s.end) / 2, None
        if lm is not None and rows[i] >= 0 and len(lm.extra["times"][rows[i]]):
            rel = lm.extra["times"][rows[i]].reshape(-1)
            k = int(np.argmin(np.abs(rel - (s.end - s.start) / 2)))
            t, pts = s.start + float(rel[k]), lm.extra["points"][rows[i]][k]
        times.append(t)
        points.append(pts)
    frames = grab_frames(req.video, times)
    for i, s in enumerate(tqdm(segs, desc="draw", unit="seg", disable=not progress)):
        side = sides[rows[i] % len(sides)] if rows[i] >= 0 else None
        face = None if frames[i] is None else face_crop(frames[i], points[i], side)
        emo = table.loc[i, "emotion"] if "emotion" in table and table.loc[i, "emotion"] else "?"
        va = "  ".join(f"{d} {pred.dim_values[i, j]:.2f}" for j, d in enumerate(pred.dims)
                       if d in ("valence", "arousal") and np.isfinite(pred.dim_values[i, j]))
        text = f' "{s.text[:50]}"' if s.text else ""
        title = f"seg{i:03d}  {s.start:.2f}-{s.end:.2f} s  emotion {emo}  {va}\n{text}".rstrip()
        name = f"segment_{i:03d}.png"
        draw_segment(req.out / name, title, face, side or side_notes[i], pred.listener[i],
                     pred.classes, pred.probs[i])
        table.loc[i, "png"] = name
