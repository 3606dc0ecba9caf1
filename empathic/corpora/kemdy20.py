"""KEMDy20 reader: one record per speech segment, in the utterance-table contract.

    df = read_kemdy20(Path("/data/KEMDy20_v1_1"))

Layout:
- `annotation/SessNN_eval.csv`: two header rows; Numb, wav start/end, Segment ID
  (`Sess01_script01_User002M_001`), the total Emotion/Valence/Arousal, then the raters' triples.
- `wav/SessionNN/<segment>.wav` and `<segment>.txt` (cp949 text).
- `EDA`, `TEMP` (4 Hz) and `IBI` per participant and topic; their sample rows carry the id of
  the segment being spoken, which is all extract@physio needs (the segment id is `utt_id`).

What the reader makes of it: `session` `Sess01`, `dialog` `Sess01_script01` (session and topic),
`speaker` `User002M` (the user id, unique in the corpus), `gender` its last letter; labels are
the total evaluation (multi-labels kept, `disqust` -> `disgust`); `rater_emotions` keeps the
raters' labels `|`-separated; `dominance` is NaN; no video. Rows are time-ordered within each
dialogue.

Assumptions where the facts are silent (the reader is tolerant of them): wav start/end are
seconds; columns are found by header names (`wav ... start`, `segment id`, the first
`emotion`/`valence`/`arousal` = total, later `emotion` columns = raters); wav/txt files are found
by segment id anywhere under `wav/SessionNN/`; text may be UTF-8 or cp949.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ..errors import CorpusError
from . import kemdy_common as K

CORPUS = "kemdy20"
ANNOTATION_RE = re.compile(r"^Sess(\d+)_eval\.csv$", re.IGNORECASE)
SEGMENT_RE = re.compile(r"^(Sess\d+)_(.+)_(User\d+([FM]))_(\d+)$")
EXTRA_COLUMNS = ["rater_emotions"]


def _session_records(root: Path, num: str, path: Path) -> list[dict]:
    ann = K.read_annotation(path)
    seg = ann.column(r"segment")
    start, end = ann.column(r"^wav\b.*\bstart\b"), ann.column(r"^wav\b.*\bend\b")
    label_cols = K.label_columns(ann)
    wav_dir = root / "wav" / f"Session{num}"
    if not wav_dir.is_dir():
        raise CorpusError(f"{wav_dir} not found (referenced by {path})")
    wavs, texts = K.file_index(wav_dir, ".wav"), K.file_index(wav_dir, ".txt")
    records = []
    for lineno, row in ann.rows:
        seg_id = K.cell(ann, lineno, row, seg)
        m = SEGMENT_RE.match(seg_id)
        if not m:
            raise CorpusError(f"{ann.where(lineno)}: segment id {seg_id!r} is not like "
                              "Sess01_script01_User002M_001")
        session, topic, speaker, gender, _ = m.groups()
        if session != f"Sess{num}":
            raise CorpusError(f"{ann.where(lineno)}: segment {seg_id} is not of Sess{num}")
        wav, text = K.segment_media(root, wavs, texts, seg_id, ann.where(lineno))
        rec = {"utt_id": seg_id, "session": session, "dialog": f"{session}_{topic}",
               "speaker": speaker, "gender": gender,
               "start": K.number(ann, lineno, row, start), "end": K.number(ann, lineno, row, end),
               "text": text, "wav": wav, **K.labels(ann, lineno, row, label_cols)}
        if not rec["end"] >= rec["start"]:
            raise CorpusError(f"{ann.where(lineno)}: wav end {rec['end']} before start "
                              f"{rec['start']} (or missing)")
        records.append(rec)
    return records


def read_kemdy20(root: Path) -> pd.DataFrame:
    """Read KEMDy20 at `root` (the folder holding annotation/ and wav/)."""
    root = Path(root)
    folder = root / "annotation"
    files = {}
    if folder.is_dir():
        for p in sorted(folder.iterdir()):
            m = ANNOTATION_RE.match(p.name)
            if m:
                files[m.group(1)] = p
    if not files:
        raise CorpusError(f"{root}: not a KEMDy20 folder (no annotation/SessNN_eval.csv files; "
                          "data.root must be the folder holding annotation/ and wav/)")
    records = []
    for num, path in sorted(files.items()):
        records += _session_records(root, num, path)
    return K.finish(records, EXTRA_COLUMNS, CORPUS)
