"""Drawing the predicted reactions (empathic.predict.reaction) of each segment.

- ``reaction_NNN.mp4``: the speaker's clip over the reaction's frames (from the input video, a
  fixed box around the speaker's face over the segment, else the speaker's part of the frame)
  beside the first predicted reaction: the listener's reference face plus the predicted
  displacement, 68 points joined by lines on a plain background, at the task's frame rate, with
  the audio of the same stretch (H.264, yuv420p; a caption bar below says listening / reply);
- ``reaction_NNN.png``: the K reactions, one row each, at a few times of the window.

The drawing maps the aligned frame to pixels by one box per segment (around the reference
face), so the face moves in the picture as the prediction moves. Deterministic: one encoder
thread, anti-aliased lines with sub-pixel coordinates, no time stamps.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

PANEL = 240              # side of the speaker and listener panels (pixels)
CAPTION = 24             # caption bar below the panels
CELL = 120               # one face of the strip
STRIP_TIMES = 5          # columns of the strip: times over the reaction window
HEADER, LABEL = 22, 64   # the strip's time row and its reaction-name column
BACKGROUND = 255         # white
LINE = (200, 30, 30)     # RGB
POINT = (20, 20, 20)


def face_box(reference: np.ndarray) -> tuple[np.ndarray, float]:
    """(centre (2,), half side) in aligned units of the box the faces of a segment are drawn in."""
    pts = np.asarray(reference, np.float64).reshape(68, 2)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    return (lo + hi) / 2, float((hi - lo).max()) * 0.65


def draw_face(pts: np.ndarray, box: tuple[np.ndarray, float], size: int) -> np.ndarray:
    """(size, size, 3) uint8: the aligned 68 points (y down) as lines on the background."""
    import cv2

    from ..scoring.landmarks import PARTS
    img = np.full((size, size, 3), BACKGROUND, np.uint8)
    pts = np.asarray(pts, np.float64).reshape(68, 2)
    if not np.isfinite(pts).all():
        return img
    c, half = box
    px = np.round(((pts - c) / half * (size / 2) + size / 2) * 16).astype(np.int32)  # shift 4
    for a, b, closed in PARTS:
        cv2.polylines(img, [px[a:b].reshape(-1, 1, 2)], closed, LINE, max(1, size // 120),
                      cv2.LINE_AA, shift=4)
    for p in px:
        cv2.circle(img, (int(p[0]), int(p[1])), max(16, size * 16 // 120), POINT, -1,
                   cv2.LINE_AA, shift=4)
    return img


def speaker_box(frame_shape, points: np.ndarray | None, side: str | None) -> tuple[int, ...]:
    """(x0, y0, x1, y1) in source pixels: a square around the speaker's face over the segment
    (every frame's landmarks), else the speaker's part of the frame."""
    from ..extractors.face import side_columns
    h, w = frame_shape[:2]
    if points is not None:
        p = np.asarray(points, np.float64).reshape(-1, 2)
        p = p[np.isfinite(p).all(axis=1)]
        if len(p):
            lo, hi = p.min(axis=0), p.max(axis=0)
            c, size = (lo + hi) / 2, float((hi - lo).max()) * 1.6
            x0, y0 = int(max(0, c[0] - size / 2)), int(max(0, c[1] - size / 2))
            x1, y1 = int(min(w, c[0] + size / 2)), int(min(h, c[1] + size / 2))
            if x1 - x0 > 8 and y1 - y0 > 8:
                return x0, y0, x1, y1
    cols = side_columns(side, w) if side else None
    return (cols[0], 0, cols[1], h) if cols else (0, 0, w, h)


def fit_panel(crop: np.ndarray | None, size: int) -> np.ndarray:
    """`crop` scaled to fit a size x size panel (dark grey around it; all grey when None)."""
    import cv2
    out = np.full((size, size, 3), 40, np.uint8)
    if crop is None or not crop.size:
        return out
    h, w = crop.shape[:2]
    s = size / max(h, w)
    nh, nw = max(1, int(round(h * s))), max(1, int(round(w * s)))
    small = cv2.resize(np.ascontiguousarray(crop), (nw, nh), interpolation=cv2.INTER_AREA)
    y, x = (size - nh) // 2, (size - nw) // 2
    out[y:y + nh, x:x + nw] = small
    return out


def clip_frames(video: Path, times: np.ndarray) -> list[np.ndarray | None]:
    """RGB frames of `video` nearest each of the ascending `times` (None where no frame lies
    within one frame period: before the start, past the end); one seek and decode."""
    import av
    out: list[np.ndarray | None] = [None] * len(times)
    with av.open(str(video)) as c:
        s = c.streams.video[0]
        period = 1.0 / float(s.average_rate or s.guessed_rate or 25)
        lo = float(times[0]) - 1.0 if len(times) else 0.0
        if lo > 0 and s.time_base:
            c.seek(int(lo / s.time_base), stream=s, backward=True)
        j, prev = 0, None                     # prev: (time, frame, its array or None)
        for n, f in enumerate(c.decode(s)):
            t = float(f.time) if f.time is not None else n * period
            cur = [t, f, None]
            while j < len(times) and t >= times[j]:
                best = cur if prev is None or abs(t - times[j]) <= abs(prev[0] - times[j]) \
                    else prev
                if abs(best[0] - times[j]) <= period:
                    if best[2] is None:
                        best[2] = best[1].to_ndarray(format="rgb24")
                    out[j] = best[2]
                j += 1
            if j == len(times):
                break
            prev = cur
        while prev is not None and j < len(times) and abs(times[j] - prev[0]) <= period:
            out[j] = prev[1].to_ndarray(format="rgb24") if prev[2] is None else prev[2]
            j += 1
    return out


def caption(img: np.ndarray, left: str, right: str) -> None:
    import cv2
    img[PANEL:] = 235
    for x, text in ((6, left), (PANEL + 6, right)):
        cv2.putText(img, text, (x, PANEL + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1,
                    cv2.LINE_AA)


def video_frames(speaker: list[np.ndarray | None], box_px, shapes: np.ndarray, ref: np.ndarray,
                 t_listen: int, k: int) -> list[np.ndarray]:
    """The MP4's frames: speaker panel | listener panel, caption below. shapes (T, 68, 2)."""
    box = face_box(ref)
    x0, y0, x1, y1 = box_px
    out = []
    for j, pts in enumerate(shapes):
        img = np.empty((PANEL + CAPTION, 2 * PANEL, 3), np.uint8)
        fr = speaker[j] if j < len(speaker) else None
        img[:PANEL, :PANEL] = fit_panel(None if fr is None else fr[y0:y1, x0:x1], PANEL)
        img[:PANEL, PANEL:] = draw_face(pts, box, PANEL)
        when = "listening" if j < t_listen else "reply"
        caption(img, "speaker" if fr is not None else "speaker (no frame here)",
                f"predicted listener, 1 of {k} ({when})")
        out.append(img)
    return out


def write_mp4(path: Path, frames: list[np.ndarray], fps: float, audio: np.ndarray | None = None,
              sr: int = 0) -> None:
    """H.264 (yuv420p) MP4 of the RGB `frames` at `fps`, with mono `audio` (AAC) if given."""
    import av
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w", format="mp4") as c:
        v = c.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        v.width, v.height, v.pix_fmt = w - w % 2, h - h % 2, "yuv420p"
        v.codec_context.thread_count = 1
        v.options = {"preset": "veryfast", "crf": "20"}
        a = None
        if audio is not None and len(audio) and sr > 0:
            a = c.add_stream("aac", rate=sr, layout="mono")
            a.codec_context.thread_count = 1
        for img in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img[:v.height, :v.width]),
                                               format="rgb24")
            for p in v.encode(frame):
                c.mux(p)
        if a is not None:
            fr = av.AudioFrame.from_ndarray(np.asarray(audio, np.float32)[None], format="fltp",
                                            layout="mono")
            fr.sample_rate, fr.pts = sr, 0
            for p in [*a.encode(fr), *a.encode(None)]:
                c.mux(p)
        for p in v.encode(None):
            c.mux(p)


def draw_strip(path: Path, shapes: np.ndarray, ref: np.ndarray, times: np.ndarray,
               t_listen: int) -> None:
    """PNG: one row per reaction (K), STRIP_TIMES faces over the window. shapes (K, T, 68, 2);
    `times` (T,) seconds into the window's first frame, for the header."""
    import cv2
    k, t = shapes.shape[:2]
    cols = np.unique(np.linspace(0, t - 1, min(STRIP_TIMES, t)).round().astype(int))
    img = np.full((HEADER + k * CELL, LABEL + len(cols) * CELL, 3), BACKGROUND, np.uint8)
    box = face_box(ref)
    font = cv2.FONT_HERSHEY_SIMPLEX
    for c, j in enumerate(cols):
        label = f"{times[j]:.1f}s " + ("listen" if j < t_listen else "reply")
        cv2.putText(img, label, (LABEL + c * CELL + 18, 15), font, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    for r in range(k):
        y = HEADER + r * CELL
        cv2.putText(img, f"r{r + 1}", (12, y + CELL // 2), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        for c, j in enumerate(cols):
            img[y:y + CELL, LABEL + c * CELL:LABEL + (c + 1) * CELL] = draw_face(
                shapes[r, j], box, CELL)
        cv2.line(img, (0, y), (img.shape[1], y), (190, 190, 190), 1)
    cv2.imwrite(str(path), img[:, :, ::-1])


def write_all(out: Path, segs, rows, sides, reactions, lm, video: Path, audio: np.ndarray | None,
              sr: int, mp4: bool, png: bool, progress: bool) -> dict[int, tuple[str, str]]:
    """reaction_NNN.mp4 / .png of every segment with a reaction; segment -> (mp4, png) names."""
    from tqdm import tqdm
    names = {}
    done = reactions.done
    for i in tqdm(range(len(segs)), desc="reactions", unit="seg", disable=not progress):
        if not done[i]:
            continue
        shapes, ref, times = reactions.shapes(i), reactions.reference[i], reactions.times(i)
        mp4_name = png_name = ""
        if mp4:
            frames = clip_frames(video, times)
            first = next((f for f in frames if f is not None), None)
            pts = lm.extra["points"][rows[i]] if lm is not None and rows[i] >= 0 else None
            side = sides[rows[i] % len(sides)] if rows[i] >= 0 else None
            box_px = speaker_box(first.shape, pts, side) if first is not None else (0, 0, 0, 0)
            clip = None
            if audio is not None and sr:
                a0 = int(round(times[0] * sr))
                n = int(round(len(times) / reactions.fps * sr))
                clip = np.zeros(n, np.float32)
                lo, hi = max(0, a0), min(len(audio), a0 + n)
                if hi > lo:
                    clip[lo - a0:hi - a0] = audio[lo:hi]
            mp4_name = f"reaction_{i:03d}.mp4"
            write_mp4(out / mp4_name, video_frames(frames, box_px, shapes[0], ref,
                                                   reactions.t_listen, reactions.k),
                      reactions.fps, clip, sr)
        if png:
            png_name = f"reaction_{i:03d}.png"
            draw_strip(out / png_name, shapes, ref, times - times[0], reactions.t_listen)
        names[i] = (mp4_name, png_name)
    return names
