"""Inference on a new video: speech segments, their emotion, and the listener's predicted face.

The steps of `python -m stages.predict` (each a function here):

1. audio: the video's own audio track (decoded with PyAV, mixed to mono, resampled to
   ``features.audio.sample_rate``) or a separate file (``--audio``);
2. segments: the transcript's time stamps when one is given (IEMOCAP transcription lines
   ``<utt_id> [start-end]: text``, or a CSV with columns ``start,end,text``), else energy-based
   voice activity detection (:func:`detect_speech`);
3. features: each segment's audio is written to a temporary wav and the segments become a small
   utterances table (``wav``, ``video`` = the input video, ``video_side``, ``start``, ``end``,
   ``text``) that the REGISTERED extractors read with the params sections of params.yaml, so the
   features are computed by the code, and with the settings, the models were trained on;
4. side: ``left`` / ``right`` name the half of the frame the speaker sits in; ``auto`` runs the
   face extractor on both halves of every segment and takes, per segment, the half whose face
   moves its mouth more (mean frame-to-frame change of the inner-lip gap), or the only half
   with a face (:func:`choose_sides`). Per segment, because in a dyadic recording the speaker
   changes. Voice activity finds stretches of speech, not turns: turns that overlap or follow
   each other within ``--min-gap`` become one segment (give a transcript for turns);
5. models: every fold's checkpoint of each task under ``models/`` (:class:`ModelSet`); the fold
   models' outputs are averaged (an ensemble). Per segment only models whose inputs are all
   available run: no transcript means no text, no face means no video/landmarks. The emotion
   task uses the model it selected on validation (``best`` in metrics/emotion.json) when its
   inputs are available, else the soft vote of its single-modality / early-fusion members that
   are; response and dimensional have one model kind each;
6. outputs: ``segments.csv`` (one row per segment) and ``segment_NNN.png`` (the speaker's face
   from the segment's middle frame beside the predicted listener landmarks and the emotion
   probabilities).
"""
from __future__ import annotations

import csv
import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import extractors
from . import params as P
from .atomic import write_csv
from .errors import EmpathicError
from .store import Features
from .tables import UTTERANCE_COLUMNS
from .training.data import MODALITIES

SIDES = ("left", "right")
TASKS = ("emotion", "dimensional", "response")
MODALITY_EXTRACTOR = {"text": "text", "audio": "audio", "video": "face", "landmarks": "face"}
MOUTH_OPEN = "mouth_open"           # landmarks frame column that --side auto compares

_TRANSCRIPT_LINE = re.compile(r"^(\S+)\s+\[(\d+(?:\.\d*)?)\s*-\s*(\d+(?:\.\d*)?)\]:\s*(.*)$")


# ---------------------------------------------------------------------------------------------
# Segments

@dataclass
class Segment:
    start: float
    end: float
    text: str = ""
    ref: str = ""            # the transcript's utterance id, when it has one


def read_transcript(path: str | Path) -> list[Segment]:
    """Segments of an IEMOCAP transcription file or a ``start,end,text`` CSV, in time order.

    IEMOCAP lines that are not utterances (e.g. ``F: [BREATHING]``) are skipped, as the corpus
    reader does; a CSV must have the header ``start,end,text`` (text may be empty).
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as e:
        raise EmpathicError(f"cannot read transcript {path}: {e.strerror or e}") from None
    first = next((ln for ln in lines if ln.strip()), "")
    header = [c.strip().lower() for c in first.split(",")]
    read = _csv_segments if header[:2] == ["start", "end"] else _iemocap_segments
    segs = read(path, lines)
    if not segs:
        raise EmpathicError(f"{path}: no segments found (expected lines `<utt_id> [start-end]: "
                            f"text` or a CSV with header start,end,text)")
    return sorted(segs, key=lambda s: (s.start, s.end))


def _check_span(path: Path, lineno: int, start: float, end: float) -> None:
    if not (np.isfinite(start) and np.isfinite(end) and 0 <= start < end):
        raise EmpathicError(f"{path}:{lineno}: bad time span [{start}, {end}]")


def _iemocap_segments(path: Path, lines: list[str]) -> list[Segment]:
    segs = []
    for i, line in enumerate(lines, 1):
        m = _TRANSCRIPT_LINE.match(line.strip())
        if not m:
            if line.startswith("Ses"):
                raise EmpathicError(f"{path}:{i}: not `<utt_id> [start-end]: text`: {line[:60]!r}")
            continue
        start, end = float(m.group(2)), float(m.group(3))
        _check_span(path, i, start, end)
        segs.append(Segment(start, end, m.group(4).strip(), m.group(1)))
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
        _check_span(path, i, start, end)
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


# ---------------------------------------------------------------------------------------------
# Media

def load_audio(video: Path, audio: Path | None, sample_rate: int) -> np.ndarray:
    """Mono float32 samples at `sample_rate`: from `audio` when given, else the video's track."""
    if audio is not None:
        from .extractors.audio import load_audio as load_wav
        if not audio.is_file():
            raise EmpathicError(f"audio file not found: {audio}")
        try:
            return load_wav(audio, sample_rate).astype(np.float32)
        except Exception as e:  # soundfile raises several types
            raise EmpathicError(f"cannot read audio {audio}: {str(e).splitlines()[0]}") from None
    import av
    try:
        container = av.open(str(video))
    except (av.FFmpegError, OSError, ValueError) as e:
        raise EmpathicError(f"cannot read video {video}: {type(e).__name__}") from None
    with container:
        if not container.streams.audio:
            raise EmpathicError(f"{video} has no audio track; give the speech with --audio PATH")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        chunks = []
        try:
            for frame in container.decode(stream):
                chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
        except (av.FFmpegError, ValueError) as e:
            raise EmpathicError(f"cannot decode the audio of {video}: {type(e).__name__}") from None
    x = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    if not len(x):
        raise EmpathicError(f"the audio track of {video} is empty; give --audio PATH")
    return x


def check_video(video: Path) -> None:
    """One clear line when `video` is missing, unreadable or has no video stream."""
    import av
    if not video.is_file():
        raise EmpathicError(f"video not found: {video}")
    try:
        with av.open(str(video)) as c:
            if not c.streams.video:
                raise EmpathicError(f"{video} has no video stream")
    except (av.FFmpegError, OSError, ValueError) as e:
        raise EmpathicError(f"cannot read video {video}: {type(e).__name__}") from None


def grab_frames(video: Path, times: list[float]) -> list[np.ndarray | None]:
    """RGB frames (H, W, 3) nearest to `times` (None past the end), one sequential decode."""
    import av
    out: list[np.ndarray | None] = [None] * len(times)
    with av.open(str(video)) as c:
        s = c.streams.video[0]
        fps = float(s.average_rate or s.guessed_rate)
        want: dict[int, list[int]] = {}
        for j, t in enumerate(times):
            want.setdefault(int(round(t * fps)), []).append(j)
        last = max(want) if want else -1
        for n, frame in enumerate(c.decode(s)):
            if n in want:
                img = frame.to_ndarray(format="rgb24")
                for j in want[n]:
                    out[j] = img
            if n >= last:
                break
    return out


# ---------------------------------------------------------------------------------------------
# Features

def utterance_rows(segs: list[Segment], wavs: list[Path], video: Path, sides: tuple[str, ...],
                   corpus: str) -> pd.DataFrame:
    """The utterances table (columns of data/pairs/utterances.csv) the extractors read: one row
    per segment and side. Paths are absolute, so the extractors' `root / path` keeps them;
    `corpus` is data.corpus (the text extractor's `auto` model depends on it); labels are empty."""
    rows = []
    for i, (s, w) in enumerate(zip(segs, wavs)):
        for side in sides:
            rows.append({**{c: "" for c in UTTERANCE_COLUMNS},
                         "utt_id": f"seg{i:03d}@{side}", "corpus": corpus, "session": "new",
                         "dialog": video.stem, "start": s.start, "end": s.end, "text": s.text,
                         "valence": np.nan, "arousal": np.nan, "dominance": np.nan,
                         "wav": str(w.resolve()), "video": str(video.resolve()),
                         "video_side": side})
    return pd.DataFrame(rows, columns=UTTERANCE_COLUMNS)


def write_segment_wavs(x: np.ndarray, sr: int, segs: list[Segment], folder: Path) -> list[Path]:
    import soundfile as sf
    paths = []
    for i, s in enumerate(segs):
        p = folder / f"seg{i:03d}.wav"
        sf.write(str(p), x[int(s.start * sr):int(np.ceil(s.end * sr))], sr, subtype="PCM_16")
        paths.append(p)
    return paths


def run_extractors(names: list[str], utts: pd.DataFrame, prm: dict, workers: int,
                   progress: bool) -> dict[str, extractors.Result]:
    """modality -> Result (features, failure reasons) for the rows of `utts`, computed by the
    registered extractors with their `features.<name>` params."""
    out = {}
    for name in names:
        cls = extractors.get(name)
        ex = cls(P.get(prm, f"features.{name}"), root=Path("/"), workers=workers, progress=progress)
        out.update(ex.extract(utts))
    return out


def mouth_motion(landmarks: Features, row: int) -> float:
    """Mean absolute frame-to-frame change of the inner-lip gap (IOD units) over a row's frames:
    high while talking, near zero for a listener (even one whose mouth stays ajar)."""
    frames = landmarks.frames[row][:, landmarks.frame_names.index(MOUTH_OPEN)]
    return float(np.mean(np.abs(np.diff(frames)))) if len(frames) > 1 else 0.0


def choose_sides(landmarks: extractors.Result | None, n: int,
                 side: str) -> tuple[list[int], list[str]]:
    """Per segment: the extractor row to use (segment * n_sides + side index) and a note.

    side left/right: that half. auto: the half with a face; with faces on both halves, the one
    whose mouth moves more over the segment (:func:`mouth_motion`). -1 when no face was found.
    """
    sides = SIDES if side == "auto" else (side,)
    k = len(sides)
    lm = landmarks.features if landmarks is not None else None
    rows, notes = [], []
    for i in range(n):
        cand = [(i * k + j, s) for j, s in enumerate(sides) if lm is not None and lm.ok[i * k + j]]
        if not cand:
            why = {landmarks.reasons.get(lm.ids[i * k + j], "") for j in range(k)} if lm else set()
            why -= {"", "no face in span"}
            rows.append(-1)
            notes.append(f"no face on the {' or '.join(sides)} half"
                         + (f" ({'; '.join(sorted(why))})" if why else ""))
        elif len(cand) == 1:
            rows.append(cand[0][0])
            notes.append("" if side != "auto" else f"face only on the {cand[0][1]} half")
        else:
            rows.append(max(cand, key=lambda c: mouth_motion(lm, c[0]))[0])
            notes.append("")
    return rows, notes


def segment_features(feats: dict[str, Features], rows: list[int],
                     n_sides: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per modality, each segment's pooled vector from the chosen side's row, and whether it is
    usable (face modalities: only where a face was chosen; others: the segment's first row)."""
    X, ok = {}, {}
    pick = [r if r >= 0 else i * n_sides for i, r in enumerate(rows)]
    for m, f in feats.items():
        face = MODALITY_EXTRACTOR[m] == "face"
        X[m] = f.pooled[pick]
        ok[m] = np.array([f.ok[r] and not (face and rows[i] < 0) for i, r in enumerate(pick)])
        ok[m] &= np.all(np.isfinite(X[m]), axis=1)
    return X, ok


# ---------------------------------------------------------------------------------------------
# Models

def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass
class Ensemble:
    """One model kind over folds (same inputs); `predict` averages the fold models' outputs
    (class probabilities for classifiers, values otherwise)."""

    task: str
    name: str
    models: list = field(default_factory=list)      # checkpoint.Predictor, one per fold
    classify: bool = False

    @property
    def inputs(self) -> list[str]:
        return self.models[0].inputs

    def runs_on(self, available: set[str]) -> bool:
        return set(self.inputs) <= available

    def predict(self, X: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outs = [m.predict({k: X[k] for k in m.inputs}) for m in self.models]
        fix = _softmax if self.classify else (lambda v: v)
        return {t: np.mean([fix(np.asarray(o[t], np.float64)) for o in outs], axis=0)
                for t in outs[0]}


def _load_all(paths: list[Path], task: str, name: str, classify: bool = False) -> Ensemble:
    from .training.checkpoint import load_model
    models = [load_model(p, "cpu") for p in paths]
    kinds = {tuple(m.inputs) for m in models}
    if len(kinds) > 1:
        raise EmpathicError(f"models/{task}: fold models of '{name}' have different inputs "
                            f"{sorted(kinds)}; run `dvc repro train@{task}`")
    return Ensemble(task, name, models, classify)


_ENTRY = re.compile(r"^(.+)_only$")


def entry_to_member(entry: str) -> str | None:
    """metrics/emotion.json model entry -> checkpoint stem (None for decision fusion)."""
    if entry == "early_fusion":
        return "early"
    if entry in ("phase1", "phase2"):
        return entry
    m = _ENTRY.match(entry)
    return m.group(1) if m else None


@dataclass
class ModelSet:
    """The trained models of each task under `models_dir`."""

    response: Ensemble | None = None
    dimensional: Ensemble | None = None
    emotion: dict[str, Ensemble] = field(default_factory=dict)   # member stem -> ensemble
    emotion_best: str | None = None       # the stem selected on validation, if a checkpoint
    emotion_members: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, models_dir: Path, metrics_dir: Path, tasks: list[str]) -> "ModelSet":
        ms = cls()
        for task in tasks:
            d = models_dir / task
            if task == "emotion":
                ms._load_emotion(d, metrics_dir / "emotion.json")
                continue
            paths = sorted(d.glob("*.pt"))
            if not paths:
                raise EmpathicError(f"no trained {task} models in {d} (run `dvc repro` first)")
            setattr(ms, task, _load_all(paths, task, task))
        return ms

    def _load_emotion(self, d: Path, metrics: Path) -> None:
        folds = sorted(p for p in d.glob("*") if p.is_dir() and any(p.glob("*.pt")))
        if not folds:
            raise EmpathicError(f"no trained emotion models in {d} (run `dvc repro` first)")
        stems = sorted(set.intersection(*({p.stem for p in f.glob("*.pt")} for f in folds)))
        for stem in stems:
            self.emotion[stem] = _load_all([f / f"{stem}.pt" for f in folds], "emotion", stem,
                                           classify=True)
        fusion = folds[0] / "fusion.json"
        members = json.loads(fusion.read_text())["members"] if fusion.is_file() else []
        self.emotion_members = [m for m in members if m in self.emotion] or \
            [s for s in stems if not s.startswith("phase")]
        if metrics.is_file():
            best = json.loads(metrics.read_text()).get("best")
            stem = entry_to_member(best) if isinstance(best, str) else None
            self.emotion_best = stem if stem in self.emotion else None

    def tasks(self) -> list[str]:
        return [t for t in TASKS if (self.emotion if t == "emotion" else getattr(self, t))]

    def all_ensembles(self) -> list[Ensemble]:
        return [e for e in [self.response, self.dimensional, *self.emotion.values()] if e]

    def needed_modalities(self) -> set[str]:
        return {m for e in self.all_ensembles() for m in e.inputs}

    def emotion_choice(self, available: set[str]) -> list[Ensemble]:
        """The emotion model(s) for segments with these modalities: the validation-selected
        checkpoint when it can run, else the soft vote of the members that can."""
        best = self.emotion.get(self.emotion_best) if self.emotion_best else None
        if best is not None and best.runs_on(available):
            return [best]
        return [self.emotion[m] for m in self.emotion_members if self.emotion[m].runs_on(available)]

    def check_names(self, names: dict[str, list[str]]) -> None:
        """The extracted feature names must be the ones the models were trained on."""
        for e in self.all_ensembles():
            for m in e.inputs:
                if m in names and list(e.models[0].input_names[m]) != list(names[m]):
                    raise EmpathicError(
                        f"{m} features differ from those models/{e.task} was trained on "
                        f"({len(names[m])} vs {len(e.models[0].input_names[m])} columns): params "
                        f"features.{MODALITY_EXTRACTOR[m]} changed since training; run `dvc repro`")


def describe(ens: list[Ensemble]) -> str:
    """The emotion model(s) used, named as in metrics/emotion.json (audio_only, early_fusion)."""
    from .training.tasks.emotion import entry_name
    names = [e.name if e.name.startswith("phase") else entry_name(e.name) for e in ens]
    return names[0] if len(names) == 1 else "soft vote of " + " + ".join(names)


def never_runnable(ms: ModelSet, have_text: bool) -> dict[str, str]:
    """task -> why it cannot run on any segment (its models need text and there is none)."""
    if have_text:
        return {}
    why = {}
    for task in ms.tasks():
        if task == "emotion":
            if not ms.emotion_choice({"audio", "video", "landmarks"}):
                why[task] = "every emotion member needs text"
        elif "text" in getattr(ms, task).inputs:
            why[task] = (f"its models need text (tasks.{task}.inputs = "
                         f"{getattr(ms, task).inputs})")
    return {t: f"{t} not predicted: {w}; give --transcript, or retrain without text in "
               f"tasks.{t}.inputs" + (" / tasks.emotion.members" if t == "emotion" else "")
            for t, w in why.items()}


# ---------------------------------------------------------------------------------------------
# Prediction over segments

@dataclass
class Predictions:
    """Per segment results (arrays over segments; NaN where not predicted)."""

    classes: list[str]
    probs: np.ndarray             # (n, K)
    emotion_model: list[str]
    dims: list[str]
    dim_values: np.ndarray        # (n, len(dims))
    listener: np.ndarray          # (n, 136) aligned landmarks
    modalities: list[str]
    notes: list[list[str]]


def predict_segments(ms: ModelSet, X: dict[str, np.ndarray], ok: dict[str, np.ndarray],
                     n: int, skip_notes: dict[str, str]) -> Predictions:
    """Run every task on the segments, grouped by which modalities each segment has."""
    from .training.tasks import dimensional, emotion
    emo_classes = (list(next(iter(ms.emotion.values())).models[0].target_names[emotion.TARGET])
                   if ms.emotion else [])
    dims = (list(ms.dimensional.models[0].target_names[dimensional.TARGET])
            if ms.dimensional else [])
    p = Predictions(emo_classes, np.full((n, len(emo_classes)), np.nan), [""] * n, dims,
                    np.full((n, len(dims)), np.nan), np.full((n, 136), np.nan), [""] * n,
                    [[] for _ in range(n)])
    avail = [frozenset(m for m in ok if ok[m][i]) for i in range(n)]
    for i in range(n):
        p.modalities[i] = "+".join(m for m in MODALITIES if m in avail[i])
        p.notes[i] += list(skip_notes.values())
    for group in sorted(set(avail), key=sorted):
        idx = np.array([i for i in range(n) if avail[i] == group])
        Xg = {m: X[m][idx] for m in group}
        if ms.emotion and "emotion" not in skip_notes:
            ens = ms.emotion_choice(set(group))
            if ens:
                p.probs[idx] = np.mean([e.predict(Xg)[emotion.TARGET] for e in ens], axis=0)
                for i in idx:
                    p.emotion_model[i] = describe(ens)
            else:
                _note(p, idx, f"emotion not predicted: no emotion model runs on {_mods(group)}")
        for task, target, dest in (("dimensional", dimensional.TARGET, p.dim_values),
                                   ("response", "landmarks", p.listener)):
            e = getattr(ms, task)
            if e is None or task in skip_notes:
                continue
            if e.runs_on(set(group)):
                out = e.predict(Xg)
                if target in out:
                    dest[idx] = out[target]
            else:
                missing = sorted(set(e.inputs) - set(group))
                _note(p, idx, f"{task} not predicted: needs {'+'.join(missing)}")
    return p


def _mods(group) -> str:
    return "+".join(m for m in MODALITIES if m in group) or "nothing"


def _note(p: Predictions, idx, text: str) -> None:
    for i in idx:
        p.notes[i].append(text)


# ---------------------------------------------------------------------------------------------
# Drawing

def face_crop(frame: np.ndarray, points: np.ndarray | None, side: str | None) -> np.ndarray:
    """The speaker's face from a full frame: a box around its landmarks (source pixels), or the
    speaker's half (the whole frame when the side is unknown)."""
    h, w = frame.shape[:2]
    if points is not None and len(points):
        lo, hi = points.min(axis=0), points.max(axis=0)
        c, size = (lo + hi) / 2, float((hi - lo).max()) * 1.6
        x0, y0 = int(max(0, c[0] - size / 2)), int(max(0, c[1] - size / 2))
        x1, y1 = int(min(w, c[0] + size / 2)), int(min(h, c[1] + size / 2))
        if x1 - x0 > 8 and y1 - y0 > 8:
            return frame[y0:y1, x0:x1]
    if side == "left":
        return frame[:, :w // 2]
    if side == "right":
        return frame[:, w // 2:]
    return frame


def draw_segment(path: Path, title: str, face: np.ndarray | None, face_note: str,
                 listener: np.ndarray, classes: list[str], probs: np.ndarray) -> None:
    """PNG: speaker's face | predicted listener landmarks | emotion probabilities."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .scoring.landmarks import PARTS

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


# ---------------------------------------------------------------------------------------------
# The whole run

@dataclass
class Request:
    video: Path
    out: Path
    transcript: Path | None = None
    audio: Path | None = None
    side: str = "auto"
    models_dir: Path = Path("models")
    metrics_dir: Path = Path("metrics")
    tasks: list[str] | None = None       # None: every task trained under models_dir
    vad: VadConfig = VadConfig()
    draw: bool = True


def trained_tasks(models_dir: Path) -> list[str]:
    found = [t for t in TASKS if (models_dir / t).is_dir()]
    if not found:
        raise EmpathicError(f"no trained models in {models_dir}/ (run `dvc repro` first)")
    return found


def run(req: Request, prm: dict, workers: int = 1, progress: bool = True,
        log=print) -> pd.DataFrame:
    """Predict every segment of `req.video`; write req.out/segments.csv and the PNGs."""
    if req.side not in (*SIDES, "auto"):
        raise EmpathicError(f"--side is {req.side!r}; expected left, right or auto")
    check_video(req.video)
    ms = ModelSet.load(req.models_dir, req.metrics_dir, req.tasks or trained_tasks(req.models_dir))
    segs = read_transcript(req.transcript) if req.transcript else None
    sr = P.number(prm, "features.audio.sample_rate", lo=8000, hi=48000, integer=True)
    x = load_audio(req.video, req.audio, sr)
    if segs is None:
        segs = detect_speech(x, sr, req.vad)
        log(f"voice activity: {len(segs)} speech segments in {len(x) / sr:.1f} s of audio")
        if not segs:
            raise EmpathicError(f"no speech found in the audio of {req.video} (silent track?)")
    else:
        log(f"transcript: {len(segs)} segments")
    have_text = any(s.text for s in segs)
    skip = never_runnable(ms, have_text)
    for why in skip.values():
        log(f"warning: {why}")
    if skip and (req.tasks or len(skip) == len(ms.tasks())):   # asked for, or nothing left
        raise EmpathicError("; ".join(skip.values()))
    names = [e for e in ("text", "audio", "face")
             if e != "text" or (have_text and "text" in ms.needed_modalities())]
    sides = SIDES if req.side == "auto" else (req.side,)
    corpus = str(P.get(prm, "data.corpus", "iemocap"))
    with tempfile.TemporaryDirectory(prefix="empathic-predict-") as tmp:
        wavs = write_segment_wavs(x, sr, segs, Path(tmp))
        utts = utterance_rows(segs, wavs, req.video, sides, corpus)
        results = run_extractors(names, utts, prm, workers, progress)
    feats = {m: r.features for m, r in results.items()}
    ms.check_names({m: f.pooled_names for m, f in feats.items()})
    rows, side_notes = choose_sides(results.get("landmarks"), len(segs), req.side)
    X, ok = segment_features(feats, rows, len(sides))
    pred = predict_segments(ms, X, ok, len(segs), skip)
    table = segments_table(segs, rows, sides, side_notes, pred, results)
    req.out.mkdir(parents=True, exist_ok=True)
    if req.draw:
        draw_all(req, segs, rows, sides, side_notes, pred, feats.get("landmarks"), table, progress)
    write_csv(req.out / "segments.csv", table)
    return table


def segments_table(segs, rows, sides, side_notes, pred: Predictions,
                   results: dict[str, extractors.Result]) -> pd.DataFrame:
    n = len(segs)
    out = pd.DataFrame({
        "segment": [f"seg{i:03d}" for i in range(n)],
        "start": [s.start for s in segs], "end": [s.end for s in segs],
        "transcript_id": [s.ref for s in segs], "text": [s.text for s in segs],
        "side": [sides[r % len(sides)] if r >= 0 else "" for r in rows],
        "modalities": pred.modalities,
    })
    for j, c in enumerate(pred.classes):
        out[f"prob_{c}"] = np.round(pred.probs[:, j], 4)
    if pred.classes:
        out["emotion"] = [pred.classes[int(np.argmax(p))] if np.all(np.isfinite(p)) else ""
                          for p in pred.probs]
        out["emotion_model"] = pred.emotion_model
    for j, d in enumerate(pred.dims):
        out[d] = np.round(pred.dim_values[:, j], 3)
    out["listener_landmarks"] = np.all(np.isfinite(pred.listener), axis=1)
    notes = []
    for i in range(n):
        extra = [side_notes[i]] if side_notes[i] else []
        for m, res in results.items():
            r = rows[i] if rows[i] >= 0 else i * len(sides)
            if not res.features.ok[r] and MODALITY_EXTRACTOR[m] != "face":
                extra.append(f"{m} failed: {res.reasons.get(res.features.ids[r], 'unknown')}")
        notes.append(extra + pred.notes[i])
    out["status"] = ["ok" if not nt else "partial" for nt in notes]
    out.loc[out["modalities"] == "", "status"] = "failed"
    out["notes"] = ["; ".join(nt) for nt in notes]
    out["png"] = ""
    return out


def draw_all(req, segs, rows, sides, side_notes, pred: Predictions, lm: Features | None,
             table: pd.DataFrame, progress: bool) -> None:
    """segment_NNN.png per segment (stale ones from an earlier run are removed first)."""
    from tqdm import tqdm
    for old in req.out.glob("segment_*.png"):
        old.unlink()
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
