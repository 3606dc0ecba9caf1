"""The pairs tables between stages: column contracts and loaders (data/pairs/*)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .errors import EmpathicError

PAIRS_DIR = Path("data/pairs")

UTTERANCE_COLUMNS = [
    "utt_id", "corpus", "session", "dialog", "speaker", "gender", "start", "end", "text",
    "emotion", "valence", "arousal", "dominance", "wav", "video", "video_side",
]
PAIR_COLUMNS = [
    "pair_id", "session", "dialog", "prompt_id", "response_id", "prompt_speaker",
    "response_speaker", "gap",
]


def _read_csv(path: Path, columns: list[str]) -> pd.DataFrame:
    if not path.is_file():
        raise EmpathicError(f"{path} not found (run `dvc repro pairs` first)")
    df = pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={"text": str})
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise EmpathicError(f"{path}: missing columns {missing}")
    return df


def load_utterances(path: str | Path = PAIRS_DIR / "utterances.csv") -> pd.DataFrame:
    """utterances.csv: one row per utterance, time-ordered within each dialogue.

    `wav` and `video` are relative to data.root; `video_side` is left/right (or empty
    where there is no video); `text` may be empty (a failure for the text extractor).
    """
    df = _read_csv(Path(path), UTTERANCE_COLUMNS)
    df["text"] = df["text"].fillna("")
    for c in ("wav", "video", "video_side", "emotion"):
        df[c] = df[c].fillna("").astype(str)
    df["session"] = df["session"].astype(str)
    return df


def load_pairs(path: str | Path = PAIRS_DIR / "pairs.csv") -> pd.DataFrame:
    df = _read_csv(Path(path), PAIR_COLUMNS)
    df["session"] = df["session"].astype(str)
    return df


def load_folds(path: str | Path = PAIRS_DIR / "folds.json") -> dict:
    """folds.json: {"protocol": ..., "folds": [{"name", "train", "val", "test"}, ...]}
    where train/val/test are lists of session names."""
    path = Path(path)
    if not path.is_file():
        raise EmpathicError(f"{path} not found (run `dvc repro pairs` first)")
    return json.loads(path.read_text(encoding="utf-8"))
