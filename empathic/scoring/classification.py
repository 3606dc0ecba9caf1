"""Classification metrics for the emotion tasks: WA, UA, macro/weighted F1, per-class figures.

Labels are integer class indices 0..K-1 into a fixed class list (the task's label set), so a
class that one test fold lacks still has its row and column in the confusion matrix.

- ``wa``: weighted accuracy = plain accuracy (the IEMOCAP literature's name).
- ``ua``: unweighted accuracy = mean recall over the classes present in the truth.
- ``macro_f1``: mean F1 over the classes present in the truth or the predictions
  (scikit-learn's default label set); ``weighted_f1``: F1 weighted by true support.
- precision of a class never predicted is 0, as scikit-learn's ``zero_division=0``.
"""
from __future__ import annotations

import numpy as np

SCALAR_METRICS = ("wa", "ua", "macro_f1", "weighted_f1")


def _labels(y, n_classes: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"labels must be 1-d, got shape {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"labels must lie in 0..{n_classes - 1}")
    return y.astype(np.int64)


def confusion(y_true, y_pred, n_classes: int) -> np.ndarray:
    """(K, K) counts: rows are true classes, columns predicted classes."""
    t, p = _labels(y_true, n_classes), _labels(y_pred, n_classes)
    if t.shape != p.shape:
        raise ValueError(f"{t.shape[0]} true labels but {p.shape[0]} predictions")
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    return cm


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.zeros_like(a, dtype=np.float64)
    np.divide(a, b, out=out, where=b > 0)
    return out


def from_confusion(cm: np.ndarray) -> dict:
    """Every figure of this module from a confusion matrix (see the module docstring)."""
    cm = np.asarray(cm, dtype=np.float64)
    if cm.sum() == 0:
        raise ValueError("no rows to score")
    tp = np.diag(cm)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    precision = _safe_div(tp, predicted)
    recall = _safe_div(tp, support)
    f1 = _safe_div(2 * precision * recall, precision + recall)
    in_truth = support > 0
    in_either = in_truth | (predicted > 0)
    return {
        "wa": float(tp.sum() / cm.sum()),
        "ua": float(recall[in_truth].mean()),
        "macro_f1": float(f1[in_either].mean()),
        "weighted_f1": float((f1 * support).sum() / support.sum()),
        "precision": precision, "recall": recall, "f1": f1, "support": support.astype(np.int64),
    }


def score(y_true, y_pred, classes: list[str]) -> dict:
    """Flat metric dict for one fold: wa, ua, macro_f1, weighted_f1, precision_<c>, recall_<c>.

    Flat names keep the metrics JSON one level deep per metric (docs/architecture.md)
    (``{"<metric>": {"mean", "std", "per_fold"}}``), so `dvc metrics diff` lists each one.
    """
    m = from_confusion(confusion(y_true, y_pred, len(classes)))
    out = {k: m[k] for k in SCALAR_METRICS}
    for i, c in enumerate(classes):
        out[f"precision_{c}"] = float(m["precision"][i])
        out[f"recall_{c}"] = float(m["recall"][i])
    return out
