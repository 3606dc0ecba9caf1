"""Features of the segments: computed by the registered extractors with the `features.*` params
the models were trained with, and the speaker's side chosen per segment."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .. import extractors
from ..config import params as P
from ..store import Features
from ..tables import UTTERANCE_COLUMNS
from .segments import Segment

SIDES = ("left", "right", "full")     # --side values besides auto (auto: predict.layout)
# modality -> the extractor that writes it (the registry says so once; no physiology in a video)
MODALITY_EXTRACTOR = {m: name for name, (_, mods) in extractors.REGISTRY.items() for m in mods
                      if name != "physio"}
MOUTH_OPEN = "mouth_open"           # landmarks frame column that --side auto compares


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


def voice_sync(landmarks: Features, audio: Features, row: int) -> float | None:
    """Correlation over a row's face frames of the inner-lip gap with the voice's loudness
    (eGeMAPS Loudness_sma3 averaged over each face frame's interval): high for the one talking,
    near zero for a listener whose mouth moves with their own display (a smile, laughing along);
    None without both signals."""
    if audio is None or audio.frames is None or "Loudness_sma3" not in (audio.frame_names or []):
        return None
    mouth = landmarks.frames[row][:, landmarks.frame_names.index(MOUTH_OPEN)].astype(np.float64)
    t = landmarks.extra.get("times", [None] * len(landmarks.ids))[row]
    loud = audio.frames[row][:, audio.frame_names.index("Loudness_sma3")].astype(np.float64)
    rate = float(audio.attrs.get("frame_rate", 100))
    if t is None or len(mouth) < 3 or len(loud) < 2:
        return None
    t = np.asarray(t, np.float64).reshape(-1)
    step = float(np.median(np.diff(t))) if len(t) > 1 else 1.0 / rate
    c = np.concatenate([[0.0], np.cumsum(loud)])
    lo = np.clip(np.round((t - step / 2) * rate).astype(int), 0, len(loud) - 1)
    hi = np.clip(np.round((t + step / 2) * rate).astype(int), lo + 1, len(loud))
    v = (c[hi] - c[lo]) / (hi - lo)
    if mouth.std() == 0 or v.std() == 0:
        return 0.0
    return float(np.corrcoef(mouth, v)[0, 1])


def choose_sides(landmarks: extractors.Result | None, n: int, sides: tuple[str, ...],
                 audio: extractors.Result | None = None) -> tuple[list[int], list[str]]:
    """Per segment: the extractor row to use (segment * len(sides) + side index) and a note.

    One side (--side left / right / full, or the one part auto found): that part. Several
    (auto: the people predict.layout found): the part with a face; with faces in several, the
    one whose mouth moves with the voice (:func:`voice_sync`; without the audio's frames, the
    one whose mouth moves most, :func:`mouth_motion`). -1 when no face was found.
    """
    k = len(sides)
    lm = landmarks.features if landmarks is not None else None
    au = audio.features if audio is not None else None

    def talking(row: int) -> float:
        sync = voice_sync(lm, au, row)
        return mouth_motion(lm, row) if sync is None else sync
    rows, notes = [], []
    for i in range(n):
        cand = [(i * k + j, s) for j, s in enumerate(sides) if lm is not None and lm.ok[i * k + j]]
        if not cand:
            why = {landmarks.reasons.get(lm.ids[i * k + j], "") for j in range(k)} if lm else set()
            why -= {""}
            rows.append(-1)
            notes.append(f"no face in the {' or '.join(sides)} part of the frame"
                         + (f" ({'; '.join(sorted(why))})" if why else ""))
        elif len(cand) == 1:
            rows.append(cand[0][0])
            notes.append("" if k == 1 else f"face only in the {cand[0][1]} part")
        else:
            rows.append(max(cand, key=lambda c: talking(c[0]))[0])
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

