"""The reaction generator's multiple-hypothesis loss (empathic.nets.wta): relaxed winner-takes-all,
its annealing schedule and the diversity term, against hand-computed values."""
from __future__ import annotations

import math

import pytest
import torch

from empathic.nets.wta import WTALoss

K, T, D = 3, 2, 2
W = torch.tensor([0.25, 0.25])          # sum 1: two draws of unit-variance values differ by ~2


def _out(offsets):
    """(1, K*T*D) outputs: reaction k is `offsets[k]` everywhere; the target is 0."""
    return torch.tensor(offsets, dtype=torch.float32)[:, None, None].expand(K, T, D).reshape(1, -1)


def test_relaxed_winner_takes_all_by_hand():
    out, y = _out([0.0, 1.0, 2.0]), torch.zeros(1, T * D)
    e = [0.0, 0.5, 2.0]                        # sum_d w_d x^2, mean over frames
    for relax in (0.0, 0.3, 1.0):
        got = float(WTALoss(W, K, T, D, relax)(out, y))
        assert got == pytest.approx((1 - relax) * min(e) + relax * sum(e) / K)


def test_only_the_winner_learns_without_relax():
    out = _out([0.1, 1.0, 2.0]).requires_grad_()
    WTALoss(W, K, T, D, 0.0)(out, torch.zeros(1, T * D)).backward()
    g = out.grad.reshape(K, -1).abs().sum(1)
    assert g[0] > 0 and g[1] == 0 and g[2] == 0


def test_annealing_schedule_and_validation_at_the_end_value():
    loss = WTALoss(W, K, T, D, 0.1, relax_start=1.0, anneal_epochs=4)
    seen = []
    for epoch in (1, 2, 3, 5, 9):
        loss.set_epoch(epoch)
        seen.append(loss.relax)
    assert seen == pytest.approx([1.0, 0.775, 0.55, 0.1, 0.1])
    out, y = _out([0.0, 1.0, 2.0]), torch.zeros(1, T * D)
    loss.set_epoch(1)
    with torch.no_grad():                       # validation: the end value, whatever the epoch
        assert float(loss(out, y)) == pytest.approx(0.9 * 0.0 + 0.1 * 2.5 / 3)
    assert float(loss(out, y)) == pytest.approx(2.5 / 3)     # training at epoch 1: relax 1
    fixed = WTALoss(W, K, T, D, 0.3)
    fixed.set_epoch(1)
    assert fixed.relax == 0.3


def test_diversity_term_by_hand_and_it_pushes_collapsed_reactions_apart():
    y = torch.zeros(1, T * D)
    same = _out([0.5, 0.5, 0.5])
    base = float(WTALoss(W, K, T, D, 0.3)(same, y))
    assert float(WTALoss(W, K, T, D, 0.3, diversity=2.0)(same, y)) == pytest.approx(base + 2.0)
    apart = _out([0.0, 1.0, 2.0])                # d_01 = d_12 = 0.5, d_02 = 2.0
    want = (4 * math.exp(-0.25) + 2 * math.exp(-1.0)) / 6
    div = WTALoss(W, K, T, D, 0.0, diversity=1.0)
    assert float(div(apart, y)) - float(WTALoss(W, K, T, D, 0.0)(apart, y)) == pytest.approx(want)
    x = _out([0.5, 0.5, 0.51]).requires_grad_()
    opt = torch.optim.SGD([x], lr=0.5)
    spread = lambda v: float(v.detach().reshape(K, -1).var(0).mean())   # noqa: E731
    before = spread(x)
    for _ in range(5):
        opt.zero_grad()
        WTALoss(W, K, T, D, 0.3, diversity=1.0)(x, y).backward()
        opt.step()
    assert spread(x) > before
