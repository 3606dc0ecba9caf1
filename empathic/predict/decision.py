"""Decision fusion of the emotion members on a new video, as evaluation applies it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..training.data import MODALITIES

DECISIONS = ("soft_vote", "hard_vote", "weighted_vote")   # the decision fusions predict applies


@dataclass
class Decision:
    """A decision fusion of the emotion members, applied in each fold and seed as evaluation
    applies it (`weighted_vote`: that unit's weights from ensembles.json) and averaged over them:
    for `hard_vote` each unit votes one class, so a probability is the share of units voting it."""

    task: str
    name: str
    members: list                          # Ensembles, in ensembles.json's order (= weights')
    weights: list | None = None            # weighted_vote: per unit, per member

    @property
    def inputs(self) -> list[str]:
        used = {m for e in self.members for m in e.inputs}
        return [m for m in MODALITIES if m in used]

    def runs_on(self, available: set[str]) -> bool:
        return all(e.runs_on(available) for e in self.members)

    def predict(self, X: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from ..fusion import hard_vote, soft_vote, weighted_soft_vote
        from ..training.classify import TARGET
        per = [e.unit_outputs(X) for e in self.members]
        fused = []
        for u in range(len(per[0])):
            table = np.stack([p[u][TARGET] for p in per])           # (members, rows, classes)
            if self.name == "hard_vote":
                fused.append(np.eye(table.shape[2])[hard_vote(table)])
            elif self.name == "weighted_vote":
                fused.append(weighted_soft_vote(table, self.weights[u]))
            else:
                fused.append(soft_vote(table))
        return {TARGET: np.mean(fused, axis=0)}
