"""Task `emotion`: categorical emotion of an utterance, with early and decision fusion.

Rows are the utterances of utterances.csv whose raw code maps into `tasks.emotion.classes`
(after `tasks.emotion.merge`, e.g. exc -> hap); the others are left out and counted by code.
Every model is trained and scored on the same rows: an utterance lacking any input modality of
`tasks.emotion.inputs` is dropped and counted, never zero-filled.

Models per fold and seed (the runner trains them; checkpoints models/emotion/<fold>/s<seed>/):

- members (`tasks.emotion.members`): `<modality>_only` per named modality and `early_fusion`,
  the fusion encoder over all inputs (`fusion.early`: concat or attention);
- `phase1` / `phase2` (`tasks.emotion.phases`): an early-fusion model on `first`, then the same
  network grown by a branch per `add` modality (new weights start at zero influence) and
  fine-tuned on all of them at `finetune_lr`.

Ensembles over the members (`fusion.decision`): `soft_vote`, `hard_vote`, `weighted_vote`
(weights fitted on the validation sessions) and `stacking`, a logistic-regression meta-learner
on out-of-fold member predictions of the non-test sessions (each one predicted by members
retrained without it for the member's selected epoch count); empathic.fusion refuses anything
that would learn from scored rows. `weighted_vote` and `stacking` are fitted on validation, so
they are not candidates for `best`.
"""
from __future__ import annotations

import copy

import numpy as np
import torch

from ...config import params as P
from ...errors import ParamError
from ...fusion import (Predictions, Stacking, fit_vote_weights, hard_vote, out_of_fold, soft_vote,
                       weighted_soft_vote)
from ...nets.fusion import FusionNet
from ..classify import TARGET, ClassificationTask
from ..data import FeatureBank, Rows, Tables, keep_ok
from ..task import EnsembleFold, ModelSpec
from ..utterances import (dialog_key, improvised_mask, keep_improvised_flag, one_hot, softmax,
                          utterance_inputs)

DECISIONS = ("soft", "weighted", "hard", "stacking")
FITTED_ON_VAL = ("weighted_vote", "stacking")   # their validation scores are in-sample
EARLY = "early"


def entry_name(member: str) -> str:
    """The model (checkpoint and metrics entry) of a member: early_fusion or <modality>_only."""
    return "early_fusion" if member == EARLY else f"{member}_only"


def grow(net: FusionNet, add_dims: dict[str, int], seed: int = 0) -> FusionNet:
    """A copy of `net` with a projection branch per new modality appended after the old ones.

    The old modalities keep their weights. With concat fusion the mixing layer's columns of the
    new branches start at zero, so the grown network computes the same function until
    fine-tuning moves them; with attention the new modality tokens get fresh type embeddings.
    """
    cfg = copy.deepcopy(net.config)
    clash = [m for m in add_dims if m in cfg["input_dims"]]
    if clash:
        raise ValueError(f"modalities {clash} are already inputs of the network")
    cfg["input_dims"] = {**cfg["input_dims"], **add_dims}
    torch.manual_seed(seed)                 # the new branches' initial weights
    new = FusionNet(**cfg)
    state = new.state_dict()
    for k, v in net.state_dict().items():
        if state[k].shape == v.shape:
            state[k] = v.clone()
        elif k == "encoder.mix.0.weight":           # concat: (hidden, hidden * modalities)
            w = torch.zeros_like(state[k])
            w[:, :v.shape[1]] = v
            state[k] = w
        elif k == "encoder.token_type":             # attention: one row per modality
            state[k][:v.shape[0]] = v
        else:
            raise ValueError(f"cannot grow parameter {k}: {tuple(v.shape)} -> {tuple(state[k].shape)}")
    new.load_state_dict(state)
    return new


class EmotionTask(ClassificationTask):
    name = "emotion"

    def __init__(self, prm: dict):
        fusion = P.section(prm, f"tasks.{self.name}").fusion
        early, self.decision = ((fusion, []) if isinstance(fusion, str)
                                else (fusion.early, list(fusion.decision)))
        super().__init__(prm, fusion=early)
        self.members = {v: (list(self.inputs) if v == EARLY else [v]) for v in self.p.members}
        ph = self.p.phases
        self.phases = None if ph is None else {"first": list(ph.first), "add": list(ph.add),
                                               "finetune_lr": float(ph.finetune_lr)}

    def inputs_left_out(self, modalities: list[str]) -> None:
        """Members and phases lose the modalities the corpus lacks (KEMDy: video, landmarks)."""
        self.members = {n: (list(self.inputs) if n == EARLY else mods)
                        for n, mods in self.members.items() if n == EARLY or mods[0] in self.inputs}
        if self.decision and len(self.members) < 2:
            print(f"{self.name}: decision fusion off (fewer than two members left)")
            self.decision = []
        if self.phases:
            first = [m for m in self.phases["first"] if m in self.inputs]
            add = [m for m in self.phases["add"] if m in self.inputs]
            self.phases = {**self.phases, "first": first, "add": add} if first and add else None
            if self.phases is None:
                print(f"{self.name}: two-phase schedule off (no modality left to add)")

    # -- rows and models -----------------------------------------------------------------------
    def assemble(self, tables: Tables, bank: FeatureBank) -> Rows:
        utts = tables.utterances
        y, left_out = self.labels.encode(utts["emotion"])
        X, names, checks = utterance_inputs(utts, bank, self.inputs)
        labelled = y != -1
        keep, missing = keep_ok([(r, ok | ~labelled) for r, ok in checks], len(utts))
        keep &= labelled
        dropped = {**{f"label {c} not in classes": n for c, n in left_out.items()}, **missing}
        impro = improvised_mask(utts)
        extra = {"dialog_key": dialog_key(utts), **({} if impro is None else {"impro": impro})}
        rows = Rows(utts["utt_id"].astype(str).to_numpy(), utts["session"].astype(str).to_numpy(),
                    X, {TARGET: y}, names, {TARGET: self.classes}, extra, dropped, len(utts))
        return keep_improvised_flag(rows.take(keep))

    def models(self, rows: Rows) -> list[ModelSpec]:
        specs = [ModelSpec(entry_name(n), tuple(mods), single=n != EARLY)
                 for n, mods in self.members.items()]
        if self.phases:
            first, add = self.phases["first"], self.phases["add"]
            specs += [ModelSpec("phase1", tuple(first)),
                      ModelSpec("phase2", tuple(first + add), lr=self.phases["finetune_lr"],
                                grow_from="phase1")]
        return specs

    def build(self, spec: ModelSpec, rows: Rows, parent=None, seed: int = 0):
        if spec.grow_from:
            added = [m for m in spec.inputs if m not in parent.config["input_dims"]]
            return grow(parent, {m: rows.X[m].shape[1] for m in added}, seed)
        return super().build(spec, rows, parent, seed)

    def selectable(self, name: str) -> bool:
        return name not in FITTED_ON_VAL

    # -- decision fusion -----------------------------------------------------------------------
    def member_names(self) -> list[str]:
        return [entry_name(n) for n in self.members]

    def ensemble_members(self) -> list[str]:
        return self.member_names() if self.decision else []

    def fit_ensembles(self, fold: EnsembleFold) -> dict | None:
        """Vote weights on the validation sessions; the stacking meta-learner out of fold."""
        names = self.member_names()
        state: dict = {"members": names}
        if "weighted" in self.decision:
            val = np.stack([softmax(fold.val_outputs[n][TARGET]) for n in names])
            state["weights"] = [round(float(x), 6)
                                for x in fit_vote_weights(val, fold.val.Y[TARGET])]
        if "stacking" in self.decision:
            state["stacking"] = self._stacking(fold, names)
        return state

    @staticmethod
    def _stacking(fold: EnsembleFold, names: list[str]) -> dict:
        """Each non-test session predicted by members retrained on the other non-test sessions
        for the member's selected epoch count (the held-out session steers nothing)."""
        pool = fold.pool

        def fit_predict(train_idx, pred_idx):
            a, b = pool.take(train_idx), pool.take(pred_idx)
            return np.stack([softmax(fold.refit(n, a, b)[TARGET]) for n in names])

        oof, order = out_of_fold(names, pool.groups, fit_predict)
        return Stacking(seed=fold.seed).fit(oof, pool.Y[TARGET][order],
                                            list(fold.test_sessions)).state()

    def apply_ensembles(self, state: dict, members: dict, test: Rows, fold: dict) -> dict:
        names = self.member_names()
        if state.get("members") != names:
            raise ParamError(f"models/{self.name} were trained with other members; "
                             f"run `dvc repro train@{self.name}`")
        table = {p: np.stack([members[n][p][TARGET] for n in names]) for p in ("val", "test")}
        wrap = lambda x: {TARGET: x}  # noqa: E731
        out = {}
        if "soft" in self.decision:
            out["soft_vote"] = {p: wrap(soft_vote(t)) for p, t in table.items()}
        if "weighted" in self.decision:
            out["weighted_vote"] = {p: wrap(weighted_soft_vote(t, state["weights"]))
                                    for p, t in table.items()}
        if "hard" in self.decision:
            k = len(self.classes)
            out["hard_vote"] = {p: wrap(one_hot(hard_vote(t), k)) for p, t in table.items()}
        if "stacking" in self.decision:
            st = Stacking.from_state(state["stacking"])
            seen = set(fold["train"]) | set(fold["val"])
            pred = Predictions.from_models(names, table["test"], test.groups, seen)
            out["stacking"] = {"val": None, "test": wrap(st.predict_proba(pred))}
        return out

    def report_extra(self, rows: Rows) -> dict:
        return {**super().report_extra(rows), "phases": self.phases,
                "decision": {"members": self.member_names(), "ensembles": self.decision}}


TASK = EmotionTask
