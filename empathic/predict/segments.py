"""Speech segments of a new recording: from a transcript, or found by voice activity detection."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..corpora.iemocap import parse_transcription, read_lines
from ..errors import EmpathicError

@dataclass
class Segment:
    start: float
    end: float
    text: str = ""
    ref: str = ""            # the transcript's utterance id, when it has one




def read_transcript(path: str | Path) -> list[Segment]:
    """Segments of an IEMOCAP transcription file or a ``start,end,text`` CSV, in time order.

    IEMOCAP files are parsed by the corpus reader's parser (lines that are not utterances, e.g.
    ``F: [BREATHING]``, are skipped as there); a CSV must have the header ``start,end,text``
    (text may be empty).
    """
    path = Path(path)
    try:
        lines = read_lines(path)
    except OSError as e:
        raise EmpathicError(f"cannot read transcript {path}: {e.strerror or e}") from None
    first = next((ln for ln in lines if ln.strip()), "")
    header = [c.strip().lower() for c in first.split(",")]
    segs = _csv_segments(path, lines) if header[:2] == ["start", "end"] else _iemocap_segments(path)
    if not segs:
        raise EmpathicError(f"{path}: no segments found (expected lines `<utt_id> [start-end]: "
                            f"text` or a CSV with header start,end,text)")
    return sorted(segs, key=lambda s: (s.start, s.end))


def _check_span(where: str, start: float, end: float) -> None:
    if not (np.isfinite(start) and np.isfinite(end) and 0 <= start < end):
        raise EmpathicError(f"{where}: bad time span [{start}, {end}]")


def _iemocap_segments(path: Path) -> list[Segment]:
    records, _ = parse_transcription(path)
    segs = []
    for utt_id, r in records.items():
        _check_span(r["where"], r["start"], r["end"])
        segs.append(Segment(r["start"], r["end"], r["text"], utt_id))
    return segs


def _csv_segments(path: Path, lines: list[str]) -> list[Segment]:
    segs = []
    rows = csv.reader(lines)
    cols = [c.strip().lower() for c in next(rows)]
    for i, row in enumerate(rows, 2):
        if not any(c.strip() for c in row):
            continue
        rec = dict(zip(cols, row))
        try:
            start, end = float(rec["start"]), float(rec["end"])
        except (KeyError, ValueError):
            raise EmpathicError(f"{path}:{i}: expected numbers in start,end: {row}") from None
        _check_span(f"{path}:{i}", start, end)
        segs.append(Segment(start, end, (rec.get("text") or "").strip()))
    return segs


@dataclass(frozen=True)
class VadConfig:
    """Energy voice activity detection on 25 ms frames (10 ms hop)."""

    threshold_db: float = 35.0   # speech: frames within this many dB of the loud frames (p99)
    floor_db: float = 10.0       # ... and at least this far above the noise floor (p10)
    min_gap: float = 0.30        # pauses shorter than this (s) do not split a segment
    min_speech: float = 0.30     # shorter segments are dropped
    pad: float = 0.05            # seconds added on each side (clipped to the signal)


def frame_db(x: np.ndarray, sr: int, win: float = 0.025, hop: float = 0.010) -> np.ndarray:
    """RMS level in dB (floored at -120) of each frame."""
    n, h = int(round(win * sr)), int(round(hop * sr))
    if len(x) < n:
        return np.zeros(0)
    frames = np.lib.stride_tricks.sliding_window_view(x, n)[::h]
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-6))


def detect_speech(x: np.ndarray, sr: int, cfg: VadConfig = VadConfig()) -> list[Segment]:
    """Speech segments of a mono signal: frames loud enough (relative to the signal's own loud
    frames and its noise floor), short pauses bridged, short bursts dropped."""
    db = frame_db(x, sr)
    if not len(db):
        return []
    loud, floor = np.percentile(db, 99), np.percentile(db, 10)
    thr = max(loud - cfg.threshold_db, floor + cfg.floor_db)
    active = db > thr
    hop, win = 0.010, 0.025
    edges = np.flatnonzero(np.diff(np.r_[0, active.astype(np.int8), 0]))
    runs = [[a * hop, (b - 1) * hop + win] for a, b in zip(edges[::2], edges[1::2])]
    merged: list[list[float]] = []
    for a, b in runs:
        if merged and a - merged[-1][1] < cfg.min_gap:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    dur = len(x) / sr
    return [Segment(float(round(max(0.0, a - cfg.pad), 3)), float(round(min(dur, b + cfg.pad), 3)))
            for a, b in merged if b - a >= cfg.min_speech]

