"""Row-building helpers shared by the utterance-level tasks (emotion, dimensional, context)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .data import FeatureBank, Rows


def improvised_mask(utts: pd.DataFrame) -> np.ndarray | None:
    """True for utterances of improvised dialogues; None when the corpus does not say."""
    if "dialog_kind" in utts.columns:
        kind = utts["dialog_kind"].fillna("").astype(str).str.lower()
    else:
        kind = utts["dialog"].astype(str).str.lower()
    impro = kind.str.contains("impro").to_numpy()
    script = kind.str.contains("script").to_numpy()
    return impro if (impro | script).all() and impro.any() else None


def keep_improvised_flag(rows: Rows) -> Rows:
    """Drop the `impro` flag unless every session has improvised rows (then every test fold
    scores impro_* metrics, and the metric names agree across folds)."""
    impro = rows.extra.get("impro")
    if impro is not None and not all(impro[rows.groups == g].any() for g in set(rows.groups)):
        print("improvised-only metrics left out: some sessions have no improvised dialogue")
        del rows.extra["impro"]
    return rows


def dialog_key(table: pd.DataFrame) -> np.ndarray:
    """session/dialog of every row: the resampling unit of the paired comparisons."""
    return (table["session"].astype(str) + "/" + table["dialog"].astype(str)).to_numpy()


def utterance_inputs(utts: pd.DataFrame, bank: FeatureBank, inputs: list[str]):
    """(X, names, checks) for utterance rows: each input modality's pooled vectors."""
    ids = utts["utt_id"].astype(str).to_numpy()
    X, names, checks = {}, {}, []
    for m in inputs:
        X[m], present, ok = bank.lookup(m, ids)
        names[m] = bank.names(m)
        checks += [(f"{m} missing", present), (f"{m} not ok", ok)]
    return X, names, checks


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def one_hot(labels: np.ndarray, k: int) -> np.ndarray:
    return np.eye(k)[labels]
