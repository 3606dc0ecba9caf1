"""Corpus dispatch, utterance-table validation and prompt/response pair extraction.

A pair is a prompt turn and its response: the first later-starting turn of another speaker in
the same dialogue (by start time; never by id). Turns overlap in real conversation, so the
response may start before the prompt ends: the gap (response start minus prompt end) is then
negative. Prompts whose response is missing or starts more than `max_gap_s` after the prompt's
end give no pair, and are counted, never dropped silently.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .corpora.iemocap import read_iemocap
from .corpora.kemdy19 import read_kemdy19
from .corpora.kemdy20 import read_kemdy20
from .errors import CorpusError
from .tables import PAIR_COLUMNS, UTTERANCE_COLUMNS

# Corpus readers by `data.corpus`: each takes the corpus root and returns a validated
# DataFrame with at least UTTERANCE_COLUMNS.
READERS: dict[str, Callable[[Path], pd.DataFrame]] = {
    "iemocap": read_iemocap,
    "kemdy19": read_kemdy19,
    "kemdy20": read_kemdy20,
}
GENDERS = ("F", "M", "any")
ORDER = ["session", "dialog", "start", "end", "utt_id"]


# The emotion codes each corpus documents (KEMDy multi-labels join them with ';'), and the
# range of its dimensional ratings. Anything else is counted and reported, never guessed at.
EMOTION_CODES = {
    "iemocap": {"neu", "hap", "exc", "sad", "ang", "fru", "sur", "fea", "dis", "oth", "xxx"},
    "kemdy19": {"neutral", "happy", "surprise", "angry", "sad", "disgust", "fear"},
    "kemdy20": {"neutral", "happy", "surprise", "angry", "sad", "disgust", "fear"},
}
VAD_RANGE = (1.0, 5.0)


def label_report(utts: pd.DataFrame, corpus: str) -> list[str]:
    """One line per kind of suspect label: V/A/D outside 1-5, emotion codes the corpus does not
    document (counted, with examples); empty when all labels are as documented."""
    lines = []
    lo, hi = VAD_RANGE
    for dim in ("valence", "arousal", "dominance"):
        if dim not in utts:
            continue
        v = pd.to_numeric(utts[dim], errors="coerce")
        bad = utts.loc[v.notna() & ((v < lo) | (v > hi)), ["utt_id", dim]]
        if len(bad):
            eg = ", ".join(f"{u}={x:g}" for u, x in bad.head(3).itertuples(index=False))
            lines.append(f"{len(bad)} utterances with {dim} outside {lo:g}-{hi:g} (e.g. {eg})")
    known = EMOTION_CODES.get(corpus, set())
    codes = utts["emotion"].fillna("").astype(str).str.strip()
    unknown = codes[(codes != "") & ~codes.map(lambda c: set(c.split(";")) <= known)]
    if len(unknown):
        counts = unknown.value_counts()
        lines.append(f"{len(unknown)} utterances with emotion codes {corpus} does not document: "
                     + ", ".join(f"{c!r} x{n}" for c, n in counts.head(8).items()))
    return lines


def read_corpus(corpus: str, root: Path) -> pd.DataFrame:
    """Read corpus `corpus` (a READERS key: the schema's data.corpus) at `root`; the table is
    validated."""
    return validate_utterances(READERS[corpus](Path(root)))


def validate_utterances(df: pd.DataFrame) -> pd.DataFrame:
    """Check the utterance-table contract every reader must meet; returns df unchanged."""
    missing = [c for c in UTTERANCE_COLUMNS if c not in df.columns]
    if missing:
        raise CorpusError(f"utterance table lacks columns {missing}")
    if df.empty:
        raise CorpusError("empty corpus: no utterances")
    dup = df["utt_id"][df["utt_id"].duplicated()]
    if len(dup):
        raise CorpusError(f"utterance id {dup.iloc[0]} appears twice")
    for c in ("utt_id", "session", "dialog", "speaker", "gender"):
        bad = df[df[c].isna() | (df[c].astype(str) == "")]
        if len(bad):
            raise CorpusError(f"utterance {bad['utt_id'].iloc[0]}: empty {c}")
    times = df[["start", "end"]].astype(float)
    bad = df[~(times["end"] >= times["start"])]
    if len(bad):
        raise CorpusError(f"utterance {bad['utt_id'].iloc[0]}: end before start (or no time)")
    expected = df.sort_values(ORDER, kind="mergesort").index
    if not (expected == df.index).all():
        raise CorpusError("utterance table is not time-ordered within dialogues")
    return df


@dataclass(frozen=True)
class PairStats:
    prompts: int       # turns of the prompt gender
    pairs: int         # prompts with a response within max_gap_s
    no_response: int   # prompts with no later-starting turn of a responder at all
    gap_too_large: int  # prompts whose first response starts more than max_gap_s after

    def summary(self, max_gap_s: float) -> str:
        return (f"{self.prompts} prompts, {self.pairs} pairs, "
                f"{self.prompts - self.pairs} prompts without a response within {max_gap_s} s "
                f"({self.no_response} with no later turn of the partner, "
                f"{self.gap_too_large} with a larger gap)")


def _matches(gender: pd.Series | np.ndarray, wanted: str) -> np.ndarray:
    return np.ones(len(gender), bool) if wanted == "any" else np.asarray(gender) == wanted


def extract_pairs(utts: pd.DataFrame, prompt_gender: str = "F", response_gender: str = "M",
                  max_gap_s: float = 5.0) -> tuple[pd.DataFrame, PairStats]:
    """Pairs (PAIR_COLUMNS) of a time-ordered utterance table, with counts.

    For each turn by a speaker of `prompt_gender` ('F', 'M' or 'any'), the response is the
    first turn (in start, end, id order) in the same dialogue by another speaker of
    `response_gender` that starts after the prompt starts; kept when
    response.start - prompt.end <= max_gap_s. The genders are the schema's (GENDERS).
    """
    rows, n_prompts, no_resp, too_far = [], 0, 0, 0
    for _, d in utts.groupby(["session", "dialog"], sort=True):
        start, end = d["start"].to_numpy(float), d["end"].to_numpy(float)
        speaker, ids = d["speaker"].to_numpy(), d["utt_id"].to_numpy()
        responder = _matches(d["gender"], response_gender)
        for i in np.flatnonzero(_matches(d["gender"], prompt_gender)):
            n_prompts += 1
            cand = np.flatnonzero(responder & (speaker != speaker[i]) & (start > start[i]))
            if not len(cand):
                no_resp += 1
                continue
            j = cand[0]
            gap = round(float(start[j] - end[i]), 4)
            if gap > max_gap_s:
                too_far += 1
                continue
            rows.append((f"{ids[i]}__{ids[j]}", d["session"].iloc[i], d["dialog"].iloc[i],
                         ids[i], ids[j], speaker[i], speaker[j], gap))
    pairs = pd.DataFrame(rows, columns=PAIR_COLUMNS)
    return pairs, PairStats(n_prompts, len(pairs), no_resp, too_far)
