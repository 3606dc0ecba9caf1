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
    source: str = "transcript"   # where the text came from: transcript, or asr:<recogniser>




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


VAD_METHODS = ("silero", "energy")


@dataclass(frozen=True)
class VadConfig:
    """Voice activity detection: ``silero`` (the Silero VAD network, weights shipped in the PyPI
    package silero-vad, on 32 ms windows) or ``energy`` (a level rule on 25 ms frames, 10 ms hop)."""

    method: str = "silero"
    threshold: float = 0.5       # silero: speech probability that starts a segment
    threshold_db: float = 35.0   # energy: frames within this many dB of the loud frames (p99)
    floor_db: float = 10.0       # energy: ... and at least this far above the noise floor (p10)
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
    """Speech segments of a mono signal, by ``cfg.method``."""
    if cfg.method == "silero":
        return silero_speech(x, sr, cfg)
    if cfg.method == "energy":
        return energy_speech(x, sr, cfg)
    raise EmpathicError(f"voice activity method is {cfg.method!r}; expected one of {VAD_METHODS}")


def silero_speech(x: np.ndarray, sr: int, cfg: VadConfig) -> list[Segment]:
    """Segments where the Silero VAD network hears speech (its own hysteresis: a segment ends
    where the probability stays below threshold - 0.15 for `min_gap`)."""
    import torch
    threads = torch.get_num_threads()
    from silero_vad import get_speech_timestamps, load_silero_vad   # sets 1 thread on import
    torch.set_num_threads(1)         # fixed, so the segments never depend on the machine
    try:
        if sr not in (8000, 16000):
            import librosa
            x, sr = librosa.resample(np.asarray(x, np.float64), orig_sr=sr, target_sr=16000), 16000
        model = load_silero_vad()
        with torch.inference_mode():
            ts = get_speech_timestamps(torch.from_numpy(np.ascontiguousarray(x, np.float32)),
                                       model, threshold=cfg.threshold, sampling_rate=sr,
                                       min_speech_duration_ms=int(cfg.min_speech * 1000),
                                       min_silence_duration_ms=int(cfg.min_gap * 1000),
                                       speech_pad_ms=int(cfg.pad * 1000))
    finally:
        torch.set_num_threads(threads)
    return [Segment(round(t["start"] / sr, 3), round(t["end"] / sr, 3)) for t in ts]


def energy_speech(x: np.ndarray, sr: int, cfg: VadConfig) -> list[Segment]:
    """Frames loud enough (relative to the signal's own loud frames and its noise floor), short
    pauses bridged, short bursts dropped."""
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

