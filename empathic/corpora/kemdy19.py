"""KEMDy19 reader: one record per speech segment, in the utterance-table contract.

    df = read_kemdy19(Path("/data/KEMDy19"))

Layout:
- `annotation/SessionNN_F_res.csv` and `SessionNN_M_res.csv`: two header rows; columns Numb,
  wav start/end, ECG start/end, EDA start/end, TEMP start/end, Segment ID, the total
  Emotion/Valence/Arousal, then ten raters' Emotion/Valence/Arousal triples. Each participant's
  file rates THAT participant on every segment of the session, also while the partner speaks.
- `wav/SessionNN/SessNN_<dialog>/<segment>.wav` and `<segment>.txt`.
- `ECG`, `EDA`, `TEMP` folders per session (read by the physio extractor, not here).

What the reader makes of it:
- The speaker of a segment is the gender letter of its id (`Sess01_impro01_F003` is spoken by the
  session's F actor; speaker name `Sess01_F`). The segment's labels (`emotion`, `valence`,
  `arousal`) come from the speaker's own file; the same segment's row in the OTHER participant's
  file is the listener's rated state while this one speaks: `listener_emotion`,
  `listener_valence`, `listener_arousal` (NaN / empty where the listener's file has no row).
- `ecg_start, ecg_end, eda_start, eda_end, temp_start, temp_end`: the segment on each of the
  speaker's signals' own clocks (from the speaker's file), for extract@physio.
- `rater_emotions`: the raters' labels of the speaker's row, `|`-separated.
- A segment that only the listener's file rates (the corpus has a few mislabelled ids) is
  skipped and counted in `df.attrs["notes"]` (printed by the pairs stage).
- `dialog` is `SessNN_<dialog>` (`Sess01_impro01`), `session` is `SessNN`; rows are
  time-ordered within each dialogue; `dominance` is NaN (not annotated); no video.

Assumptions where the facts are silent (the reader is tolerant of them):
- Segment ids look like `Sess01_impro01_F003` (`^(SessNN)_(dialog)_([FM])(digits)$`).
- wav start/end and the signals' start/end are seconds; columns are found by header names
  (`wav ... start`, `ecg ... end`, `e4-eda ... start`, `segment id`, the first
  `emotion`/`valence`/`arousal` = total, later `emotion` columns = raters), not positions.
- The wav/txt files are found by segment id anywhere under `wav/SessionNN/`.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd

from ..errors import CorpusError
from . import kemdy_common as K

CORPUS = "kemdy19"
ANNOTATION_RE = re.compile(r"^Session(\d+)_([FM])_res\.csv$", re.IGNORECASE)
SEGMENT_RE = re.compile(r"^(Sess\d+)_(.+)_([FM])(\d+)$")
SIGNALS = ("ecg", "eda", "temp")
PHYSIO_COLUMNS = [f"{s}_{e}" for s in SIGNALS for e in ("start", "end")]
LISTENER_COLUMNS = ["listener_emotion", "listener_valence", "listener_arousal"]
EXTRA_COLUMNS = LISTENER_COLUMNS + PHYSIO_COLUMNS + ["rater_emotions"]


def _parse_file(path: Path) -> dict[str, dict]:
    """{segment id: its row's values} of one participant's annotation file."""
    ann = K.read_annotation(path)
    seg = ann.column(r"segment")
    cols = {"start": ann.column(r"^wav\b.*\bstart\b"), "end": ann.column(r"^wav\b.*\bend\b")}
    for s in SIGNALS:     # groups are named ECG, E4-EDA, E4-TEMP (or EDA, TEMP)
        cols[f"{s}_start"] = ann.column(rf"\b{s}\b.*\bstart\b")
        cols[f"{s}_end"] = ann.column(rf"\b{s}\b.*\bend\b")
    label_cols = K.label_columns(ann)
    out: dict[str, dict] = {}
    for lineno, row in ann.rows:
        seg_id = K.cell(ann, lineno, row, seg)
        if not SEGMENT_RE.match(seg_id):
            raise CorpusError(f"{ann.where(lineno)}: segment id {seg_id!r} is not like "
                              "Sess01_impro01_F001")
        if seg_id in out:
            raise CorpusError(f"{ann.where(lineno)}: segment {seg_id} already on line "
                              f"{out[seg_id]['lineno']}")
        rec = {k: K.number(ann, lineno, row, c) for k, c in cols.items()}
        rec.update(lineno=lineno, **K.labels(ann, lineno, row, label_cols))
        if not rec["end"] >= rec["start"]:
            raise CorpusError(f"{ann.where(lineno)}: wav end {rec['end']} before start "
                              f"{rec['start']} (or missing)")
        out[seg_id] = rec
    return out


def _annotation_files(root: Path) -> dict[str, dict[str, Path]]:
    """{'01': {'F': path, 'M': path}} for every session; both participants are required."""
    folder = root / "annotation"
    sessions: dict[str, dict[str, Path]] = {}
    if folder.is_dir():
        for p in sorted(folder.iterdir()):
            m = ANNOTATION_RE.match(p.name)
            if m:
                sessions.setdefault(m.group(1), {})[m.group(2).upper()] = p
    if not sessions:
        raise CorpusError(f"{root}: not a KEMDy19 folder (no annotation/SessionNN_F_res.csv "
                          "files; data.root must be the folder holding annotation/ and wav/)")
    for num, files in sessions.items():
        for g in "FM":
            if g not in files:
                raise CorpusError(f"{folder / f'Session{num}_{g}_res.csv'} not found: each "
                                  "session needs both participants' annotation files")
    return sessions


def _session_records(root: Path, num: str, files: dict[str, Path],
                     notes: list[str]) -> list[dict]:
    rated = {g: _parse_file(p) for g, p in files.items()}
    wav_dir = root / "wav" / f"Session{num}"
    if not wav_dir.is_dir():
        raise CorpusError(f"{wav_dir} not found (referenced by {files['F']})")
    wavs, texts = K.file_index(wav_dir, ".wav"), K.file_index(wav_dir, ".txt")
    records = []
    for g, other in (("F", "M"), ("M", "F")):
        spoken = [u for u in sorted(set(rated["F"]) | set(rated["M"]))
                  if SEGMENT_RE.match(u).group(3) == g]
        unrated = [u for u in spoken if u not in rated[g]]
        if unrated:
            notes.append(f"{files[g].name}: no row for {len(unrated)} segment(s) spoken by {g} "
                         f"(e.g. {unrated[0]}, line {rated[other][unrated[0]]['lineno']} of "
                         f"{files[other].name}); skipped")
        for seg_id in spoken:
            if seg_id in unrated:
                continue
            session, rest, _, _ = SEGMENT_RE.match(seg_id).groups()
            own, lis = rated[g][seg_id], rated[other].get(seg_id)
            wav, text = K.segment_media(root, wavs, texts, seg_id,
                                        f"{files[g]}:{own['lineno']}")
            records.append({
                "utt_id": seg_id, "session": session, "dialog": f"{session}_{rest}",
                "speaker": f"{session}_{g}", "gender": g, "start": own["start"],
                "end": own["end"], "text": text, "emotion": own["emotion"],
                "valence": own["valence"], "arousal": own["arousal"], "wav": wav,
                "listener_emotion": lis["emotion"] if lis else "",
                "listener_valence": lis["valence"] if lis else math.nan,
                "listener_arousal": lis["arousal"] if lis else math.nan,
                "rater_emotions": own["rater_emotions"],
                **{c: own[c] for c in PHYSIO_COLUMNS}})
    return records


def read_kemdy19(root: Path) -> pd.DataFrame:
    """Read KEMDy19 at `root` (the folder holding annotation/ and wav/)."""
    root = Path(root)
    records, notes = [], []
    for num, files in sorted(_annotation_files(root).items()):
        records += _session_records(root, num, files, notes)
    df = K.finish(records, EXTRA_COLUMNS, CORPUS)
    df.attrs["notes"] = notes
    return df
