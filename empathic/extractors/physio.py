"""Physiological extractor (KEMDy19, KEMDy20): EDA, skin temperature and heart rate per segment.

Writes ``features/physio.h5``:

- ``pooled``: per signal in ``features.physio.signals``
  ``eda``  -> ``eda_level`` (mean, uS), ``eda_slope`` (uS/s), ``eda_peaks_per_s`` (phasic peaks
             rising at least ``eda_peak_prominence`` above their surroundings, per second);
  ``temp`` -> ``temp_mean`` (deg C), ``temp_slope`` (deg C/s);
  ``hr``   -> ``hr_mean`` (beats/min), ``hr_rmssd`` and ``hr_sdnn`` (ms) from the inter-beat
             intervals: the IBI stream (KEMDy20), or R-peaks detected in the ECG (KEMDy19,
             detected once per recording: 5-20 Hz band-pass, squared, peaks >= 0.3 s apart;
             intervals outside 0.3-2 s are dropped as artefacts);
- ``frames``: each signal's samples interpolated onto ``rate`` frames a second (bin centres;
  heart rate as 60 / IBI at each beat), ``frame_names`` the signals; attribute ``frame_rate``.

Which samples belong to a segment: KEMDy20 rows carry the id of the segment being spoken (the
``utt_id``); KEMDy19 segments give their start/end on each signal's own clock (reader columns
``ecg_start`` ... ``temp_end``; read from data.root when utterances.csv lacks them). The signals
are the SPEAKER's own: the file of that participant (and topic), found under
``<EDA|TEMP|IBI|ECG>/SessionNN/`` (any depth) by its name: ``<dialog>_<speaker>`` or
``<session>_<speaker>`` (KEMDy20, e.g. ``Sess01_script01_User002M.csv``), ``<dialog>_<F|M>``
or ``<session>_<F|M>`` (KEMDy19, e.g. ``Original/Sess01F.csv``), ignoring case and separators.
Signal files (see `read_stream`): header lines (E4's start time and sample rate, or `IBI`), then
rows of numbers with an optional segment id; the timestamp is the last number.

A segment fails (NaN, with a reason) when a signal's file is missing or unreadable, when the
KEMDy19 annotation gives no start/end for it on a signal's clock, or when it has fewer than
``min_samples`` EDA/TEMP samples or ``min_ibis`` intervals. Sessions run in parallel.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.signal import butter, find_peaks, sosfiltfilt

from ..config import params as P
from ..corpora.kemdy_common import PHYSIO_SOURCES
from ..errors import EmpathicError
from ..store import Features
from . import Extractor, Result, register

SOURCES = PHYSIO_SOURCES
POOLED = {"eda": ["eda_level", "eda_slope", "eda_peaks_per_s"],
          "temp": ["temp_mean", "temp_slope"],
          "hr": ["hr_mean", "hr_rmssd", "hr_sdnn"]}
CLOCK_COLUMNS = {"eda": "eda", "temp": "temp", "hr": "ecg"}   # KEMDy19 start/end column prefix
MAX_FIELDS = 6                  # columns a signal file's rows may have
IBI_RANGE_S = (0.3, 2.0)


@dataclass(frozen=True)
class Config:
    signals: tuple[str, ...]
    rate: float
    eda_peak_prominence: float
    min_samples: int
    min_ibis: int


def config_from(section: dict) -> Config:
    """From the `features.physio` section, validated by the schema (its choices and ranges)."""
    s = P.section({"features": {"physio": section or {}}}, "features.physio")
    return Config(signals=tuple(s.signals), rate=s.rate,
                  eda_peak_prominence=s.eda_peak_prominence, min_samples=s.min_samples,
                  min_ibis=s.min_ibis)


class SegmentFailure(Exception):
    """One segment cannot be described; the message is its reason."""


@dataclass
class Stream:
    values: np.ndarray            # (n,) float64
    times: np.ndarray             # (n,) float64, the signal's own clock, ascending
    tags: np.ndarray | None       # (n,) str segment ids ('' outside segments), KEMDy20


def _header_lines(path: Path) -> int:
    """Leading lines with fewer than two numeric fields (E4 start time, sample rate, `IBI`)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f):
            if n > 10:
                break
            fields = [x.strip() for x in line.split(",")]
            if sum(_is_number(x) for x in fields) >= 2:
                return n
    return 0


_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _is_number(text: str) -> bool:
    return bool(_NUMBER.match(text.strip()))


def read_stream(path: Path, source: str) -> Stream:
    """A signal file: header lines, then rows of numbers and an optional segment id.

    Rows: `value,timestamp[,segment id]`; with three numbers the timestamp is the last and the
    value the first (EDA, TEMP: `value,x,timestamp`) or the second (ECG, IBI: `x,value,timestamp`,
    e.g. E4's IBI offset column first).
    """
    skip = _header_lines(path)
    try:
        raw = pd.read_csv(path, header=None, skiprows=skip, names=range(MAX_FIELDS),
                          skipinitialspace=True, low_memory=False, encoding_errors="replace")
    except (pd.errors.ParserError, ValueError, OSError) as e:
        raise SegmentFailure(f"unreadable {path.name}: {str(e).splitlines()[0]}") from None
    num = np.empty(raw.shape, float)
    tags = np.full(len(raw), "", dtype=object)
    for col in range(MAX_FIELDS):       # numbers parse in C; a mixed column holds segment ids
        cell = raw[col]
        if pd.api.types.is_numeric_dtype(cell):
            num[:, col] = cell.to_numpy(float)
            continue
        num[:, col] = pd.to_numeric(cell, errors="coerce").to_numpy(float)
        text = cell.to_numpy(dtype=object)
        put = ~np.isfinite(num[:, col]) & pd.notna(text) & (tags == "")
        tags[put] = pd.Series(text[put], dtype=object).astype(str).str.strip().to_numpy(object)
    n_num = np.isfinite(num).sum(axis=1)
    bad = np.flatnonzero((n_num < 2) | ~np.isfinite(num[:, :2]).all(axis=1))
    if len(bad):
        raise SegmentFailure(f"unreadable {path.name}: line {skip + bad[0] + 1} is not "
                             "value,timestamp[,segment id]")
    rows = np.arange(len(num))
    times = num[rows, n_num - 1]
    values = np.where((n_num >= 3) & (source in ("ECG", "IBI")), num[:, 1], num[:, 0])
    order = np.argsort(times, kind="stable")
    return Stream(values[order], times[order], tags[order] if (tags != "").any() else None)


def beats_from_ecg(ecg: Stream) -> Stream:
    """Inter-beat intervals (value, s) at each beat's time from R-peaks of an ECG trace."""
    if len(ecg.times) < 10:
        raise SegmentFailure("ECG recording too short for R-peak detection")
    fs = 1.0 / float(np.median(np.diff(ecg.times)))
    if not fs >= 50:
        raise SegmentFailure(f"ECG at {fs:.0f} Hz is too slow for R-peak detection")
    sos = butter(3, [5.0, min(20.0, 0.45 * fs)], btype="band", fs=fs, output="sos")
    energy = sosfiltfilt(sos, ecg.values) ** 2
    peaks, _ = find_peaks(energy, distance=max(1, int(0.3 * fs)),
                          height=0.3 * np.percentile(energy, 99))
    beats = ecg.times[peaks]
    ibi = np.diff(beats)
    keep = (ibi >= IBI_RANGE_S[0]) & (ibi <= IBI_RANGE_S[1])
    return Stream(ibi[keep], beats[1:][keep], None)


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def participant_names(corpus: str, row: dict) -> list[str]:
    """Candidate signal-file names of the segment's speaker, most specific first."""
    if corpus == "kemdy19":
        return [f"{row['dialog']}_{row['gender']}", f"{row['session']}_{row['gender']}"]
    return [f"{row['dialog']}_{row['speaker']}", f"{row['session']}_{row['speaker']}",
            str(row["speaker"])]


def session_folder(session: str) -> str:
    """'Sess01' -> 'Session01' (the signal and wav folders' naming)."""
    m = re.match(r"^Sess(?:ion)?(\d+)$", session)
    return f"Session{m.group(1)}" if m else session


class SessionSignals:
    """The signal files of one session, read (and for ECG, beat-detected) once each."""

    def __init__(self, root: Path, corpus: str, session: str):
        self.root, self.corpus, self.folder = root, corpus, session_folder(session)
        self._index: dict[str, dict[str, Path]] = {}
        self._streams: dict[Path, Stream | SegmentFailure] = {}

    def _files(self, source: str) -> dict[str, Path]:
        if source not in self._index:
            folder = self.root / source / self.folder
            files = sorted(folder.rglob("*.csv"), key=lambda p: (len(p.parts), p)) \
                if folder.is_dir() else []
            index: dict[str, Path] = {}
            for p in files:
                index.setdefault(_norm(p.stem), p)
            self._index[source] = index
        return self._index[source]

    def stream(self, signal: str, row: dict) -> Stream:
        source = SOURCES[self.corpus][signal]
        files = self._files(source)
        names = participant_names(self.corpus, row)
        path = next((files[_norm(n)] for n in names if _norm(n) in files), None)
        if path is None:
            raise SegmentFailure(f"no {source} file for {names[0]} under {source}/{self.folder}")
        if path not in self._streams:
            try:
                s = read_stream(path, source)
                self._streams[path] = beats_from_ecg(s) if source == "ECG" else s
            except SegmentFailure as e:
                self._streams[path] = e
        got = self._streams[path]
        if isinstance(got, SegmentFailure):
            raise got
        return got


def segment_window(stream: Stream, corpus: str, signal: str, row: dict
                   ) -> tuple[np.ndarray, np.ndarray, tuple[float, float] | None]:
    """(values, times, span) of the segment's samples; span = its start/end on the signal's
    clock where the corpus gives one (KEMDy19), else None."""
    if corpus == "kemdy20":
        if stream.tags is None:
            raise SegmentFailure(f"{SOURCES[corpus][signal]} rows carry no segment ids")
        m = stream.tags == row["utt_id"]
        return stream.values[m], stream.times[m], None
    col = CLOCK_COLUMNS[signal]
    lo, hi = float(row.get(f"{col}_start", np.nan)), float(row.get(f"{col}_end", np.nan))
    if not hi >= lo:
        raise SegmentFailure(f"no {col.upper()} start/end for the segment in the annotation")
    m = (stream.times >= lo) & (stream.times <= hi)
    return stream.values[m], stream.times[m], (lo, hi)


def _slope(v: np.ndarray, t: np.ndarray) -> float:
    if np.ptp(t) <= 0:
        return float("nan")
    return float(np.polyfit(t - t[0], v, 1)[0])


def pooled_stats(signal: str, v: np.ndarray, t: np.ndarray, duration: float, cfg: Config
                 ) -> list[float]:
    """The pooled statistics of one signal over one segment (names: POOLED[signal])."""
    name = SOURCES["kemdy20"][signal] if signal != "hr" else "inter-beat interval"
    need = cfg.min_ibis if signal == "hr" else cfg.min_samples
    if len(v) == 0:
        raise SegmentFailure(f"no {name} samples for segment")
    if len(v) < need:
        raise SegmentFailure(f"too few {name} samples for segment ({len(v)} < {need})")
    if signal == "eda":
        peaks, _ = find_peaks(v, prominence=cfg.eda_peak_prominence)
        stats = [v.mean(), _slope(v, t), len(peaks) / duration]
    elif signal == "temp":
        stats = [v.mean(), _slope(v, t)]
    else:
        stats = [60.0 / v.mean(), np.sqrt(np.mean(np.diff(v) ** 2)) * 1000, v.std(ddof=1) * 1000]
    if not np.all(np.isfinite(stats)):
        raise SegmentFailure(f"{name} samples of the segment share one timestamp")
    return stats


def resample(v: np.ndarray, t: np.ndarray, span: tuple[float, float] | None, n: int) -> np.ndarray:
    """`n` values at the bin centres of `span` (default: the samples' own span)."""
    lo, hi = span if span is not None else (t[0], t[-1])
    grid = lo + (np.arange(n) + 0.5) / n * (hi - lo)
    return np.interp(grid, t, v)


def describe(sig: SessionSignals, row: dict, cfg: Config) -> tuple[np.ndarray, np.ndarray]:
    """(pooled vector, frames (T, len(signals))) of one segment; raises SegmentFailure."""
    duration = max(float(row["end"]) - float(row["start"]), 1.0 / cfg.rate)
    n = max(1, int(round(duration * cfg.rate)))
    pooled, frames = [], []
    for signal in cfg.signals:
        v, t, span = segment_window(sig.stream(signal, row), sig.corpus, signal, row)
        pooled += pooled_stats(signal, v, t, duration, cfg)
        frames.append(resample(60.0 / v if signal == "hr" else v, t, span, n))
    return np.array(pooled, np.float32), np.stack(frames, axis=1).astype(np.float32)


def _session_job(job: tuple) -> list[tuple]:
    """All segments of one session -> [(pooled, frames, reason)] in row order."""
    root, corpus, session, rows, cfg = job
    sig = SessionSignals(Path(root), corpus, session)
    out = []
    for row in rows:
        try:
            out.append((*describe(sig, row, cfg), None))
        except SegmentFailure as e:
            out.append((None, None, str(e)))
    return out


def with_clock_columns(utts: pd.DataFrame, root: Path) -> pd.DataFrame:
    """KEMDy19 rows need the readers' signal start/end columns; read them from the corpus
    when utterances.csv does not carry them."""
    from ..corpora.kemdy19 import PHYSIO_COLUMNS, read_kemdy19
    if all(c in utts.columns for c in PHYSIO_COLUMNS):
        return utts
    refs = read_kemdy19(root).set_index("utt_id")[PHYSIO_COLUMNS]
    return utts.drop(columns=[c for c in PHYSIO_COLUMNS if c in utts.columns]).join(
        refs, on="utt_id")


@register
class PhysioExtractor(Extractor):
    name = "physio"
    version = "1"

    def unavailable(self, utts: pd.DataFrame) -> str | None:
        corpora = set(utts["corpus"].astype(str))
        if corpora and not corpora & set(SOURCES):
            return f"{', '.join(sorted(corpora))} has no physiological signals"
        return None

    def extract(self, utts: pd.DataFrame) -> dict[str, Result]:
        cfg = config_from(self.params)
        corpora = set(utts["corpus"].astype(str))
        if not corpora or not corpora <= set(SOURCES):
            raise EmpathicError(f"extract@physio needs KEMDy19 or KEMDy20 utterances (data.corpus);"
                                f" these come from {sorted(corpora)}, which has no physiological "
                                "signals")
        if "kemdy19" in corpora:
            utts = with_clock_columns(utts, self.root)
        ids = list(utts["utt_id"])
        rows = utts.to_dict("records")
        jobs, where = {}, []
        for r in rows:
            key = (str(r["corpus"]), str(r["session"]))
            jobs.setdefault(key, []).append(r)
            where.append((key, len(jobs[key]) - 1))
        keys = sorted(jobs)
        done = self.executor.map(_session_job, [(str(self.root), c, s, jobs[(c, s)], cfg)
                                                for c, s in keys],
                                 desc="physio", progress=self.progress, unit="session")
        by_key = dict(zip(keys, done))
        names = [n for s in cfg.signals for n in POOLED[s]]
        pooled = np.full((len(ids), len(names)), np.nan, np.float32)
        frames, reasons = [], {}
        for i, (key, j) in enumerate(where):
            vec, fr, why = by_key[key][j]
            if why is None:
                pooled[i] = vec
                frames.append(fr)
            else:
                reasons[ids[i]] = why
                frames.append(np.zeros((0, len(cfg.signals)), np.float32))
        ok = np.array([u not in reasons for u in ids], bool)
        feats = Features("physio", ids, ok, pooled, names, frames=frames,
                         frame_names=list(cfg.signals), attrs={"frame_rate": cfg.rate})
        return {"physio": Result(feats, reasons)}
