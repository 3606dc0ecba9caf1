"""Media manifests: the files each extractor reads, with their size and modification time.

`pairs` writes one manifest per kind of media (data/pairs/media_<kind>.csv) from `os.stat`
alone, never reading the media, and each extract stage depends on its manifest instead of the
whole corpus root: replacing a video changes media_video.csv only, so only the face pass reruns.

    media_audio.csv    the utterance wavs (`wav` column): extract@audio, extract@ssl
    media_video.csv    the dialogue videos (`video` column): extract@face
    media_physio.csv   the signal files of each session (KEMDy EDA/TEMP/ECG/IBI) and, for
                       KEMDy19, the annotation files the extractor re-reads: extract@physio

Columns: path (relative to data.root, sorted), size, mtime_ns (both -1 for a missing file:
the extractor marks those rows failed, and the file's arrival changes the manifest).
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .corpora.kemdy_common import PHYSIO_SOURCES

COLUMNS = ["path", "size", "mtime_ns"]
KINDS = ("audio", "video", "physio")
FILES = [f"media_{k}.csv" for k in KINDS]


def _session_folder(session: str) -> str:
    digits = "".join(ch for ch in str(session) if ch.isdigit())
    return f"Session{digits}" if digits else str(session)


def _column_files(utts: pd.DataFrame, column: str) -> list[str]:
    if column not in utts:
        return []
    paths = utts[column].fillna("").astype(str).str.strip()
    return sorted(set(paths[paths != ""]))


def _physio_files(utts: pd.DataFrame, root: Path) -> list[str]:
    out = set()
    for (corpus, session), _ in utts.groupby(["corpus", "session"], sort=True):
        for source in PHYSIO_SOURCES.get(str(corpus), {}).values():
            folder = root / source / _session_folder(session)
            if folder.is_dir():
                out.update(str(p.relative_to(root)) for p in folder.rglob("*.csv"))
        if str(corpus) == "kemdy19" and (root / "annotation").is_dir():
            out.update(str(p.relative_to(root)) for p in (root / "annotation").iterdir()
                       if p.is_file())
    return sorted(out)


def files(kind: str, utts: pd.DataFrame, root: Path) -> list[str]:
    """The paths (relative to `root`) the extractors of `kind` read for these utterances."""
    if kind == "audio":
        return _column_files(utts, "wav")
    if kind == "video":
        return _column_files(utts, "video")
    if kind == "physio":
        return _physio_files(utts, Path(root))
    raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")


def manifest(root: Path, paths: list[str]) -> pd.DataFrame:
    """path, size, mtime_ns of each file from os.stat (-1, -1 when it is missing)."""
    rows = []
    for rel in sorted(paths):
        try:
            st = os.stat(Path(root) / rel)
            rows.append((rel, int(st.st_size), int(st.st_mtime_ns)))
        except OSError:
            rows.append((rel, -1, -1))
    return pd.DataFrame(rows, columns=COLUMNS)


def manifests(utts: pd.DataFrame, root: Path) -> dict[str, str]:
    """{file name: CSV text} of every manifest."""
    return {name: manifest(root, files(k, utts, root)).to_csv(index=False, lineterminator="\n")
            for name, k in zip(FILES, KINDS)}
