"""The multiple-hypothesis loss of the reaction generator: relaxed winner-takes-all over K outputs.

`WTALoss(weights, k, t, d, relax, relax_start, anneal_epochs, diversity)` scores (B, K*T*D)
outputs against (B, T*D) targets. Per reaction k, e_k is the weighted squared error averaged over
the T frames (`weights` (D,): per-value weights, e.g. 1 / variance, summing the D values).
The loss, averaged over the batch:

    (1 - relax) * min_k e_k + relax * mean_k e_k + diversity * mean_{i != j} exp(-d_ij / 2)

- the first two terms are the relaxed winner-takes-all of Rupprecht et al. (ICCV 2017): the
  closest reaction gets weight 1 - relax + relax / K, every other one relax / K;
- `relax_start`, `anneal_epochs`: relax falls linearly from relax_start at epoch 1 to relax at
  epoch anneal_epochs + 1 and stays there (0: relax throughout). Early on every reaction learns the
  shared part of the target, then the winners specialise. Validation (no gradient) always uses
  the end value, so validation losses of different epochs compare like with like;
- d_ij is the weighted squared difference between reactions i and j averaged over frames, in the
  units of e. With weights c / variance and sum(c) = 1 (the reaction task's), two independent
  draws of the target have E[d] = 2, so d_ij / 2 is ~1 between real reactions; exp(-d_ij / 2) is
  1 for identical reactions and bounded, so the term pushes collapsed reactions apart without
  rewarding unbounded spread.

`set_epoch(epoch)` (called by the Trainer at the start of each epoch) moves the schedule.
"""
from __future__ import annotations

import torch


class WTALoss:
    def __init__(self, weights: torch.Tensor, k: int, t: int, d: int, relax: float,
                 relax_start: float | None = None, anneal_epochs: int = 0,
                 diversity: float = 0.0):
        self.w, self.k, self.t, self.d = weights, k, t, d
        self.end = float(relax)
        self.start = self.end if relax_start is None else float(relax_start)
        self.anneal, self.diversity = int(anneal_epochs), float(diversity)
        self.relax = self.start if self.anneal else self.end

    def set_epoch(self, epoch: int) -> None:
        """Relax for training epoch `epoch` (1-based)."""
        if self.anneal <= 0:
            self.relax = self.end
            return
        f = min(1.0, max(0.0, (epoch - 1) / self.anneal))
        self.relax = self.start + f * (self.end - self.start)

    def __call__(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        k, t, d = self.k, self.t, self.d
        o = out.reshape(-1, k, t, d)
        w = self.w.to(o.device)
        e = ((o - target.reshape(-1, 1, t, d)) ** 2 * w).sum(3).mean(2)        # (B, K)
        relax = self.relax if torch.is_grad_enabled() else self.end
        loss = (1 - relax) * e.min(dim=1).values + relax * e.mean(dim=1)
        if self.diversity and k > 1:
            z = (o * w.sqrt()).reshape(len(o), k, t * d)
            sq = (z ** 2).sum(2)
            gram = z @ z.transpose(1, 2)                                          # (B, K, K)
            dij = (sq[:, :, None] + sq[:, None] - 2 * gram).clamp(min=0) / (2.0 * t)
            off = ~torch.eye(k, dtype=torch.bool, device=o.device)
            loss = loss + self.diversity * torch.exp(-dij[:, off]).mean(1)
        return loss.mean()
