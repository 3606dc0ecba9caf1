"""WA/UA/F1 and CCC/MAE against hand-computed cases and scikit-learn; label sets; the plot."""
import numpy as np
import pytest
from sklearn.metrics import (accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score,
                             precision_score, recall_score)

from empathic.errors import ParamError
from empathic.labels import EXCLUDED, LabelSet, from_params
from empathic.scoring import classification as cls
from empathic.scoring import dimensional as dim
from empathic.scoring.plots_cls import confusion_png

CLASSES = ["neu", "hap", "ang"]


def test_hand_computed_case():
    # truth: 4 neu, 2 hap, 2 ang.  cm rows true / cols pred:
    #   neu: 3 neu, 1 hap ; hap: 2 hap ; ang: 1 neu, 1 ang
    y = [0, 0, 0, 0, 1, 1, 2, 2]
    p = [0, 0, 0, 1, 1, 1, 0, 2]
    cm = cls.confusion(y, p, 3)
    assert cm.tolist() == [[3, 1, 0], [0, 2, 0], [1, 0, 1]]
    m = cls.score(y, p, CLASSES)
    assert m["wa"] == pytest.approx(6 / 8)
    assert m["ua"] == pytest.approx((3 / 4 + 1 + 1 / 2) / 3)
    # precision: neu 3/4, hap 2/3, ang 1/1 ; recall: 3/4, 1, 1/2
    f1 = [2 * .75 * .75 / 1.5, 2 * (2 / 3) / (2 / 3 + 1), 2 * .5 / 1.5]
    assert m["macro_f1"] == pytest.approx(np.mean(f1))
    assert m["weighted_f1"] == pytest.approx((4 * f1[0] + 2 * f1[1] + 2 * f1[2]) / 8)
    assert m["precision_hap"] == pytest.approx(2 / 3)
    assert m["recall_ang"] == pytest.approx(0.5)


def test_ua_differs_from_wa_under_imbalance():
    # always predicting the majority class: WA = 0.8, UA = 1/2 (one of two classes recalled)
    m = cls.score([0] * 8 + [1] * 2, [0] * 10, ["a", "b"])
    assert m["wa"] == pytest.approx(0.8)
    assert m["ua"] == pytest.approx(0.5)
    assert m["precision_b"] == 0.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_against_sklearn(seed):
    rng = np.random.default_rng(seed)
    k = 4
    y = rng.integers(0, k, 200)
    p = np.where(rng.random(200) < 0.5, y, rng.integers(0, k, 200))
    p[p == 3] = 2  # class 3 never predicted: zero precision, still in macro-F1
    names = [f"c{i}" for i in range(k)]
    m = cls.score(y, p, names)
    assert m["wa"] == pytest.approx(accuracy_score(y, p))
    assert m["ua"] == pytest.approx(balanced_accuracy_score(y, p))
    assert m["macro_f1"] == pytest.approx(f1_score(y, p, average="macro", zero_division=0))
    assert m["weighted_f1"] == pytest.approx(f1_score(y, p, average="weighted", zero_division=0))
    prec = precision_score(y, p, average=None, labels=range(k), zero_division=0)
    rec = recall_score(y, p, average=None, labels=range(k), zero_division=0)
    for i in range(k):
        assert m[f"precision_c{i}"] == pytest.approx(prec[i])
        assert m[f"recall_c{i}"] == pytest.approx(rec[i])
    assert (cls.confusion(y, p, k) == confusion_matrix(y, p, labels=range(k))).all()


def test_class_absent_from_a_fold_matches_sklearn():
    y, p = [0, 0, 1, 1], [0, 1, 1, 1]      # class 2 in neither truth nor predictions
    m = cls.score(y, p, CLASSES)
    assert m["ua"] == pytest.approx(balanced_accuracy_score(y, p))
    assert m["macro_f1"] == pytest.approx(f1_score(y, p, average="macro"))


def test_bad_labels_raise():
    with pytest.raises(ValueError):
        cls.confusion([0, 3], [0, 1], 3)
    with pytest.raises(ValueError):
        cls.confusion([0, 1], [0], 3)


def test_ccc_hand_computed():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert dim.ccc(y, y) == pytest.approx(1.0)
    assert dim.ccc(y, 5 - y) == pytest.approx(-1.0)     # mirrored about the same mean
    # shifted by 1: cov = var = 1.25, bias^2 = 1 -> 2.5 / 3.5
    assert dim.ccc(y, y + 1) == pytest.approx(2.5 / 3.5)
    # p = 2y: var(p) = 5, cov = 2.5, bias = 2.5 -> 5 / (1.25 + 5 + 6.25)
    assert dim.ccc(y, 2 * y) == pytest.approx(5 / 12.5)
    assert dim.ccc(y, np.full(4, 2.5)) == 0.0
    assert dim.mae(y, y + 1) == pytest.approx(1.0)


def test_ccc_against_pearson_when_unbiased():
    # with equal means and variances CCC equals Pearson's r
    rng = np.random.default_rng(0)
    a = rng.normal(size=500)
    b = 0.6 * a + 0.8 * rng.normal(size=500)
    a, b = (a - a.mean()) / a.std(), (b - b.mean()) / b.std()
    assert dim.ccc(a, b) == pytest.approx(np.corrcoef(a, b)[0, 1])


def test_dimensional_score_names():
    t = np.array([[1, 2, 3], [2, 3, 4], [3, 4, 5.0]])
    m = dim.score(t, t + [0, 0, 1], ["valence", "arousal", "dominance"])
    assert m["ccc_valence"] == pytest.approx(1.0)
    assert m["mae_dominance"] == pytest.approx(1.0)
    assert m["mae_valence"] == 0.0
    with pytest.raises(ValueError):
        dim.ccc([1.0, np.nan], [1.0, 2.0])


def test_label_set_merges_and_counts_left_out():
    ls = LabelSet(("neu", "hap", "ang", "sad"), {"exc": "hap"})
    y, left = ls.encode(["neu", "exc", "xxx", "hap", "fru", "sad", "xxx", " ang "])
    assert y.tolist() == [0, 1, EXCLUDED, 1, EXCLUDED, 3, EXCLUDED, 2]
    assert left == {"fru": 1, "xxx": 2}


def test_label_set_from_params_and_errors():
    import yaml

    from conftest import REPO
    p = yaml.safe_load((REPO / "params.yaml").read_text())
    p["tasks"]["emotion"].update(classes=["neu", "hap"], merge={"exc": "hap"})
    assert from_params(p).merge == {"exc": "hap"}
    p["tasks"]["emotion"]["classes"] = "neu"
    with pytest.raises(ParamError, match="tasks.emotion.classes"):
        from_params(p)


def test_confusion_png_is_deterministic(tmp_path):
    cm = np.array([[3, 1, 0], [0, 2, 0], [1, 0, 1]])
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    confusion_png(cm, CLASSES, a, "test")
    confusion_png(cm, CLASSES, b, "test")
    assert a.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert a.read_bytes() == b.read_bytes()
