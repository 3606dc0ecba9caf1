"""Regression and landmark metrics on hand-computed cases; the metrics report shape."""
import json

import numpy as np
import pytest

from empathic.scoring import landmarks as L
from empathic.scoring import report
from empathic.scoring.regression import cosine, mse, row_cosine
from empathic.extractors.facegeom import CANONICAL


def test_mse_by_hand():
    assert mse([[1, 2], [3, 4]], [[1, 0], [0, 4]]) == pytest.approx((0 + 4 + 9 + 0) / 4)
    assert mse([1, 2, 3], [1, 2, 3]) == 0.0
    with pytest.raises(ValueError):
        mse([[1, 2]], [[1, 2, 3]])


def test_cosine_by_hand():
    pred = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0], [2.0, 0.0]])
    true = np.array([[0.0, 1.0], [1.0, 1.0], [1.0, 0.0], [-1.0, 0.0]])
    # orthogonal 0, identical 1, zero vector scores 0, opposite -1
    assert row_cosine(pred, true) == pytest.approx([0.0, 1.0, 0.0, -1.0])
    assert cosine(pred, true) == pytest.approx(0.0)
    assert cosine([[3.0, 4.0]], [[6.0, 8.0]]) == pytest.approx(1.0)


def _shape():
    return CANONICAL[None].copy()  # (1, 68, 2), eye centres at (-0.5, 0) and (0.5, 0)


def _plain(d: float = 2.0):
    """(1, 68, 2): every point at the origin but the outer eye corners 36 (0, 0), 45 (d, 0)."""
    s = np.zeros((1, 68, 2))
    s[0, 45] = [d, 0.0]
    return s


def test_interocular_and_layout():
    s = _shape()
    assert L.interocular(s, "centres") == pytest.approx([1.0])
    assert L.interocular(_plain(2.0)) == pytest.approx([2.0])          # outer corners 36, 45
    assert L.interocular(_plain(2.0) * 3) == pytest.approx([6.0])
    flat = s.reshape(1, 136)                     # x00, y00, x01, y01, ...
    assert np.array_equal(L.as_points(flat), s)
    with pytest.raises(ValueError):
        L.as_points(np.zeros((2, 135)))


def test_nme_and_pck_by_hand():
    true = _plain(2.0)                           # outer-corner distance 2
    pred = true.copy()
    pred[0, :34, 0] += 0.06                      # half the points off by 0.06 = 0.03 of it
    pred[0, 34:, 1] += 0.16                      # the other half off by 0.16 = 0.08 of it
    assert L.nme(pred, true) == pytest.approx((0.03 + 0.08) / 2)
    assert L.pck(pred, true, 0.05) == pytest.approx(0.5)
    assert L.pck(pred, true, 0.10) == pytest.approx(1.0)
    assert L.nme(true, true) == 0.0
    # nonrigid: the 55 points the alignment does not pin (not nose 27-35, not 36, 39, 42, 45)
    assert len(L.NONRIGID) == 55 and 36 not in L.NONRIGID and 48 in L.NONRIGID
    only = true.copy()
    only[0, 48] += [0.0, 0.55]                   # one mouth corner off by 0.275 of the distance
    assert L.nme_nonrigid(only, true) == pytest.approx(0.275 / 55)
    assert L.nme(only, true) == pytest.approx(0.275 / 68)
    # normalised by the TRUE shape's distance, per row
    two = np.concatenate([true, _plain(4.0)])
    off = two + np.array([0.1, 0.0])
    assert L.point_errors(off, two)[:, 0] == pytest.approx([0.05, 0.025])
    # the earlier normaliser (eye centres) stays available under its own name
    c = _shape()
    assert L.nme_eye_centres(c + np.array([0.1, 0.0]), c) == pytest.approx(0.1)


def test_report_shape_and_summary():
    doc = report.build("loso-session", ["Ses01", "Ses02"], [0], 30,
                       {"fusion": [{"nme": 0.1, "pck_05": 0.5}, {"nme": 0.3, "pck_05": 0.7}]},
                       {"train_mean": [{"nme": 0.4, "pck_05": 0.1}, {"nme": 0.4, "pck_05": 0.3}]},
                       best="fusion", rows={"used": 30})
    assert set(doc) >= {"protocol", "n_test", "models", "baselines", "best"}
    assert doc["models"]["fusion"]["nme"] == {"mean": 0.2, "std": 0.1, "per_fold": [0.1, 0.3]}
    two = report.build("p", ["a", "b"], [0, 1], 4, {"m": [{"x": 1}, {"x": 3}, {"x": 5}, {"x": 7}]},
                       {}, best="m")   # fold-major: a/s0, a/s1, b/s0, b/s1
    assert two["models"]["m"]["x"] == {"mean": 4.0, "std": 2.236068,
                                       "per_fold": [2.0, 6.0], "per_seed": [3.0, 5.0]}
    assert doc["baselines"]["train_mean"]["nme"]["std"] == 0.0
    json.dumps(doc, allow_nan=False)
    with pytest.raises(ValueError):          # best must be a model
        report.build("p", ["a"], [0], 1, {"m": [{"x": 1}]}, {}, best="other")
    with pytest.raises(ValueError):          # one result per fold
        report.build("p", ["a", "b"], [0], 1, {"m": [{"x": 1}]}, {}, best="m")
    with pytest.raises(ValueError):          # NaN never reaches the JSON
        report.summarize([float("nan")], 1, 1)
