"""Class-imbalance losses: weights against the formulas of Cui et al. (2019)."""
import numpy as np
import pytest
import torch

from empathic.nets.losses import (class_balanced_weights, class_weights,
                                  inverse_frequency_weights, make_loss)


def test_class_balanced_weights_match_formula():
    counts = np.array([100, 10, 1])
    beta = 0.9
    raw = np.array([(1 - beta) / (1 - beta ** n) for n in counts])
    expected = raw / raw.sum() * 3
    got = class_balanced_weights(counts, beta)
    assert got == pytest.approx(expected)
    assert got.sum() == pytest.approx(3)
    # by hand: n=1 -> 1, n=10 -> 0.1/(1-0.9^10) = 0.15353, n=100 -> ~0.1
    assert raw[0] == pytest.approx(0.1 / (1 - 0.9 ** 100))
    assert raw[1] == pytest.approx(0.153534, rel=1e-4)
    assert raw[2] == pytest.approx(1.0)


def test_class_balanced_limits():
    counts = np.array([50, 5, 20])
    assert class_balanced_weights(counts, 0.0) == pytest.approx(np.ones(3))
    near_one = class_balanced_weights(counts, 1 - 1e-9)
    assert near_one == pytest.approx(inverse_frequency_weights(counts), rel=1e-5)
    # rarer classes weigh more
    w = class_balanced_weights(counts, 0.99)
    assert w[1] > w[2] > w[0]


def test_inverse_frequency_and_absent_class():
    w = inverse_frequency_weights([10, 30, 0])
    assert w[2] == 0.0
    assert w[0] / w[1] == pytest.approx(3.0)
    assert w.sum() == pytest.approx(2.0)        # two classes present
    cb = class_balanced_weights([10, 0, 5], 0.99)
    assert cb[1] == 0.0 and np.isfinite(cb).all()


def test_bad_beta_and_kind():
    with pytest.raises(ValueError):
        class_balanced_weights([1, 2], 1.0)
    with pytest.raises(ValueError):
        class_weights("focal", [1, 2])


def test_make_loss_uses_the_weights():
    counts = [8, 2]
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    y = torch.tensor([0, 1, 1])
    plain = make_loss("ce", counts)(logits, y)
    assert plain.item() == pytest.approx(torch.nn.functional.cross_entropy(logits, y).item())
    cb = make_loss("class_balanced", counts, beta=0.9)
    w = class_balanced_weights(counts, 0.9)
    per = torch.nn.functional.cross_entropy(logits, y, reduction="none").numpy()
    wy = w[y.numpy()]
    assert cb(logits, y).item() == pytest.approx(float((wy * per).sum() / wy.sum()), rel=1e-5)
