"""Parsing shared by the KEMDy19 and KEMDy20 readers.

- Files are read as UTF-8 (with or without BOM), falling back to cp949 (the Korean Windows code
  page the corpora ship their text in).
- Annotation CSVs have two header rows: the first names groups and leaves the cells of a
  group's further columns empty (`Wav,,` over `start,end`), the second names the columns inside
  a group. Column names are the group name joined to the sub-name, lower-cased
  (`wav start`, `segment id`, `total evaluation emotion`, `eval01 emotion`), and readers find
  columns by name patterns, never by position.
- Emotion labels are lower-cased, a multi-label keeps its `;` (`happy;neutral`), and the
  corpus misspelling `disqust` becomes `disgust`.
"""
from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import CorpusError
from . import encoding
from ..tables import UTTERANCE_COLUMNS

LABEL_FIXES = {"disqust": "disgust"}
ORDER = ["session", "dialog", "start", "end", "utt_id"]   # time order within each dialogue

# corpus -> physiological signal -> the folder of its files (the media manifest and the physio
# extractor both read this map)
PHYSIO_SOURCES = {"kemdy19": {"eda": "EDA", "temp": "TEMP", "hr": "ECG"},
                  "kemdy20": {"eda": "EDA", "temp": "TEMP", "hr": "IBI"}}


def read_text(path: Path) -> str:
    """The file's text: BOM / UTF-16 / UTF-8, else cp949; a CorpusError naming the file if
    none decodes."""
    return encoding.read_text(path, "cp949")


@dataclass
class Annotation:
    """An annotation CSV: combined column names and its data rows with their line numbers."""
    path: Path
    names: list[str]
    rows: list[tuple[int, list[str]]]

    def where(self, lineno: int) -> str:
        return f"{self.path}:{lineno}"

    def column(self, pattern: str, after: int = -1) -> int:
        """Index of the first column (after index `after`) whose name matches `pattern`."""
        rx = re.compile(pattern)
        for i, name in enumerate(self.names):
            if i > after and rx.search(name):
                return i
        raise CorpusError(f"{self.path}: no column matching /{pattern}/ in its two header rows "
                          f"(columns: {', '.join(n for n in self.names if n)})")

    def columns(self, pattern: str, after: int = -1) -> list[int]:
        rx = re.compile(pattern)
        return [i for i, name in enumerate(self.names) if i > after and rx.search(name)]


def _combine_headers(top: list[str], sub: list[str]) -> list[str]:
    """Forward-fill the group row over its empty cells and join each group to its sub-name."""
    n = max(len(top), len(sub))
    top = top + [""] * (n - len(top))
    sub = sub + [""] * (n - len(sub))
    names, group = [], ""
    for t, s in zip(top, sub):
        t, s = t.strip(), s.strip()
        if t:
            group = t
        name = f"{group} {s}" if s else (t or group)
        names.append(re.sub(r"\s+", " ", name).lower().strip())
    return names


def read_annotation(path: Path) -> Annotation:
    """Read an annotation CSV with its two header rows; empty rows are skipped."""
    if not path.is_file():
        raise CorpusError(f"{path}: annotation file not found")
    lines = read_text(path).splitlines()
    rows = list(csv.reader(lines))
    if len(rows) < 3:
        raise CorpusError(f"{path}: expected two header rows and data rows, found {len(rows)} rows")
    names = _combine_headers(rows[0], rows[1])
    data = [(i + 1, [c.strip() for c in r]) for i, r in enumerate(rows[2:], 2)
            if any(c.strip() for c in r)]
    return Annotation(path, names, data)


def cell(ann: Annotation, lineno: int, row: list[str], col: int) -> str:
    if col >= len(row):
        raise CorpusError(f"{ann.where(lineno)}: row has {len(row)} fields, column "
                          f"'{ann.names[col]}' is field {col + 1}")
    return row[col]


def number(ann: Annotation, lineno: int, row: list[str], col: int) -> float:
    """A float cell; empty is NaN; anything else unparsable is a CorpusError naming file:line."""
    text = cell(ann, lineno, row, col)
    if text == "":
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise CorpusError(f"{ann.where(lineno)}: column '{ann.names[col]}' is {text!r}, "
                          "expected a number") from None


def emotion(label: str) -> str:
    """'Happy; neutral' -> 'happy;neutral'; 'disqust' -> 'disgust'."""
    parts = [p.strip().lower() for p in label.split(";") if p.strip()]
    return ";".join(LABEL_FIXES.get(p, p) for p in parts)


def label_columns(ann: Annotation) -> tuple[int, int, int, list[int]]:
    """Columns of the total emotion, valence, arousal (the first of each) and the raters'
    emotion columns (every later `emotion` column)."""
    emo = ann.column(r"\bemotion\b")
    return (emo, ann.column(r"\bvalence\b"), ann.column(r"\barousal\b"),
            ann.columns(r"\bemotion\b", after=emo))


def labels(ann: Annotation, lineno: int, row: list[str], cols: tuple) -> dict:
    """emotion, valence, arousal and rater_emotions (raters' labels '|'-joined) of one row."""
    emo, val, aro, raters = cols
    return {"emotion": emotion(cell(ann, lineno, row, emo)),
            "valence": number(ann, lineno, row, val), "arousal": number(ann, lineno, row, aro),
            "rater_emotions": "|".join(emotion(row[c]) for c in raters
                                       if c < len(row) and row[c])}


def file_index(folder: Path, suffix: str) -> dict[str, Path]:
    """{stem: path} of every `*suffix` file under `folder` (recursively; first by path wins)."""
    out: dict[str, Path] = {}
    if folder.is_dir():
        for p in sorted(folder.rglob(f"*{suffix}")):
            out.setdefault(p.stem, p)
    return out


def segment_media(root: Path, wavs: dict[str, Path], texts: dict[str, Path], seg: str,
                  where: str) -> tuple[str, str]:
    """(wav path relative to root, transcript text) of segment `seg`; CorpusError if missing."""
    if seg not in wavs:
        raise CorpusError(f"{where}: segment {seg} has no {seg}.wav under {root / 'wav'}")
    if seg not in texts:
        raise CorpusError(f"{where}: segment {seg} has no {seg}.txt under {root / 'wav'}")
    text = " ".join(read_text(texts[seg]).split())
    return wavs[seg].relative_to(root).as_posix(), text


def finish(records: list[dict], extra: list[str], corpus: str) -> pd.DataFrame:
    """The utterance table: contract columns then `extra`, time-ordered within dialogues."""
    df = pd.DataFrame(records, columns=UTTERANCE_COLUMNS + extra)
    df["corpus"] = corpus
    df["video"] = ""
    df["video_side"] = ""
    df["dominance"] = math.nan
    dup = df["utt_id"][df["utt_id"].duplicated()]
    if len(dup):
        raise CorpusError(f"segment {dup.iloc[0]} appears twice in the annotation files")
    return df.sort_values(ORDER, kind="mergesort").reset_index(drop=True)
