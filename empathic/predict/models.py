"""The trained models of each task (fold ensembles) and their predictions over segments."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import EmpathicError
from ..store import Features, frame_mean_std, frame_stat_names
from ..training.data import MODALITIES
from ..training.task import available
from ..training.utterances import softmax
from .decision import DECISIONS, Decision
from .features import MODALITY_EXTRACTOR

FRAME_STATS = "/frame_stats"      # X key suffix: a modality's frame statistics


@dataclass
class Ensemble:
    """One model over folds and seeds (same inputs); `predict` averages the checkpoints' outputs
    (class probabilities for classifiers, values otherwise)."""

    task: str
    name: str
    models: list = field(default_factory=list)      # checkpoint.Predictor, one per fold
    classify: bool = False
    frame_stats: set = field(default_factory=set)   # inputs trained on frame statistics

    @property
    def inputs(self) -> list[str]:
        return self.models[0].inputs

    def runs_on(self, available: set[str]) -> bool:
        return set(self.inputs) <= available

    def unit_outputs(self, X: dict[str, np.ndarray]) -> list[dict[str, np.ndarray]]:
        """Each checkpoint's outputs (fold and seed order; probabilities for classifiers)."""
        fix = softmax if self.classify else (lambda v: v)
        return [{t: fix(np.asarray(v, np.float64)) for t, v in m.predict(
                    {k: X[k + FRAME_STATS if k in self.frame_stats else k]
                     for k in m.inputs}).items()} for m in self.models]

    def predict(self, X: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outs = self.unit_outputs(X)
        return {t: np.mean([o[t] for o in outs], axis=0) for t in outs[0]}


def _ensemble(models: list, task: str, name: str, classify: bool = False) -> Ensemble:
    kinds = {tuple(m.inputs) for m in models}
    if len(kinds) > 1:
        raise EmpathicError(f"models/{task}: the checkpoints of '{name}' have different inputs "
                            f"{sorted(kinds)}; run `dvc repro train@{task}`")
    return Ensemble(task, name, models, classify)


@dataclass
class ModelSet:
    """The trained models of each task under `models_dir`."""

    response: Ensemble | None = None
    reaction: Ensemble | None = None      # frame-level inputs: empathic.predict.reaction
    dimensional: Ensemble | None = None
    emotion: dict[str, Ensemble] = field(default_factory=dict)   # model name -> ensemble
    emotion_best: str | None = None       # the model selected on validation (metrics/emotion.json)
    emotion_members: list[str] = field(default_factory=list)
    emotion_decision: Decision | None = None    # emotion_best, when it is a decision fusion
    emotion_unselected: str = ""          # why no selected model runs on any segment

    @classmethod
    def load(cls, models_dir: Path, metrics_dir: Path, tasks: list[str]) -> "ModelSet":
        """Each task's models (every fold and seed) as the training package lays them out:
        response and dimensional use the model selected on validation (metrics/<task>.json)."""
        from ..training import inference
        ms = cls()
        for task in tasks:
            models = inference.load(models_dir, task)
            best = _best(metrics_dir / f"{task}.json")
            if task == "emotion":
                for name, m in models.items():
                    ms.emotion[name] = _ensemble(m, task, name, classify=True)
                ms._select_emotion(best, inference.decision_states(models_dir, task),
                                   metrics_dir / f"{task}.json")
                continue
            name = best if best in models else next(iter(models))
            setattr(ms, task, _ensemble(models[name], task, name))
        return ms

    def _select_emotion(self, best: str | None, states: list[dict], metrics: Path) -> None:
        members = list(states[0]["members"]) if states else []
        self.emotion_members = [m for m in members if m in self.emotion] or \
            [n for n in self.emotion if not n.startswith("phase")]
        self.emotion_best = best
        if best is None:
            self.emotion_unselected = (f"{metrics} names no model selected on validation "
                                       f"(run `dvc repro evaluate@emotion`)")
        elif best in self.emotion:
            return
        elif best not in DECISIONS:
            self.emotion_unselected = (f"the selected model {best} (in {metrics}) is not one "
                                       f"predict applies ({', '.join(DECISIONS)} or a checkpoint)")
        elif not members or any(m not in self.emotion for m in members) or (
                best == "weighted_vote" and any("weights" not in s for s in states)):
            self.emotion_unselected = (f"the selected model {best} (in {metrics}) has no trained "
                                       f"members or weights under models/emotion (run `dvc repro "
                                       f"train@emotion`)")
        else:
            self.emotion_decision = Decision(
                "emotion", best, [self.emotion[m] for m in members],
                [s["weights"] for s in states] if best == "weighted_vote" else None)
        if self.emotion_unselected:
            self.emotion_best = None

    def emotion_selected(self) -> Ensemble | Decision | None:
        if self.emotion_decision is not None:
            return self.emotion_decision
        return self.emotion.get(self.emotion_best) if self.emotion_best else None

    def tasks(self) -> list[str]:
        return [t for t in TASKS if (self.emotion if t == "emotion" else getattr(self, t))]

    def all_ensembles(self) -> list[Ensemble]:
        return [e for e in [self.response, self.reaction, self.dimensional,
                            *self.emotion.values()] if e]

    def needed_modalities(self) -> set[str]:
        return {m for e in self.all_ensembles() for m in e.inputs}

    def emotion_choice(self, available: set[str]) -> list[Ensemble | Decision]:
        """The emotion model(s) for segments with these modalities: the model selected on
        validation (a checkpoint or a decision fusion) when it can run, else the soft vote of
        the members that can."""
        best = self.emotion_selected()
        if best is not None and best.runs_on(available):
            return [best]
        return [self.emotion[m] for m in self.emotion_members if self.emotion[m].runs_on(available)]

    def emotion_fallback(self, available: set[str]) -> str:
        """Why segments with these modalities do not get the selected model ("" when they do)."""
        best = self.emotion_selected()
        if best is None:
            return self.emotion_unselected
        missing = [m for m in best.inputs if m not in available]
        return (f"{best.name} (selected on validation) needs {'+'.join(missing)}"
                if missing else "")

    def check_names(self, feats: dict[str, Features]) -> None:
        """The extracted feature names must be the ones the models were trained on: the pooled
        vector, or (the response task's prompts) the statistics of the frames."""
        for e in self.all_ensembles():
            if e is self.reaction:          # windows of frames: predict.reaction checks them
                continue
            for m in e.inputs:
                if m not in feats:
                    continue
                trained = list(e.models[0].input_names[m])
                pooled = list(feats[m].pooled_names)
                if trained == pooled:
                    continue
                stats = frame_stat_names(feats[m].frame_names or [])
                if feats[m].frames is not None and trained == stats:
                    e.frame_stats.add(m)
                    continue
                raise EmpathicError(
                    f"{m} features differ from those models/{e.task} was trained on "
                    f"({len(pooled)} vs {len(trained)} columns): params "
                    f"features.{MODALITY_EXTRACTOR[m]} changed since training; run `dvc repro`")


# The tasks predict runs: those of the task registry (empathic/training/tasks/) ModelSet holds;
# `context` is left out: its graph needs every turn of a dialogue with its speaker.
TASKS = tuple(t for t in available() if t in ModelSet.__dataclass_fields__)


def _best(metrics: Path) -> str | None:
    if not metrics.is_file():
        return None
    best = json.loads(metrics.read_text()).get("best")
    return best if isinstance(best, str) else None


def describe(ens: list[Ensemble]) -> str:
    """The emotion model(s) used, named as in metrics/emotion.json (audio_only, early_fusion)."""
    names = [e.name for e in ens]
    return names[0] if len(names) == 1 else "soft vote of " + " + ".join(names)


def never_runnable(ms: ModelSet, have_text: bool) -> dict[str, str]:
    """task -> why it cannot run on any segment (its models need text and there is none)."""
    if have_text:
        return {}
    why = {}
    for task in ms.tasks():
        if task == "emotion":
            if not ms.emotion_choice(set(MODALITIES) - {"text"}):
                why[task] = "every emotion member needs text"
        elif "text" in getattr(ms, task).inputs:
            why[task] = (f"its models need text (tasks.{task}.inputs = "
                         f"{getattr(ms, task).inputs})")
    return {t: f"{t} not predicted: {w}; give --transcript, or retrain without text in "
               f"tasks.{t}.inputs" + (" / tasks.emotion.members" if t == "emotion" else "")
            for t, w in why.items()}


def text_skipped(ms: ModelSet) -> list[str]:
    """Without text: the emotion models skipped although the task runs (named so a user sees
    which of them the selection and the fallback lose)."""
    if not ms.emotion or not ms.emotion_choice(set(MODALITIES) - {"text"}):
        return []                       # the task does not run at all: never_runnable says so
    best = ms.emotion_selected()
    names = [n for n in ms.emotion_members if "text" in ms.emotion[n].inputs]
    names += [best.name] if best is not None and "text" in best.inputs else []
    return [f"emotion models that need text are skipped: {', '.join(names)} "
            f"(tasks.emotion.inputs / tasks.emotion.members name text)"] if names else []


def unpredicted(p: Predictions, tasks: list[str]) -> dict[str, str]:
    """task -> why it has no prediction on any segment (for the tasks asked for)."""
    done = {"emotion": np.isfinite(p.probs).all(axis=1) if p.classes else None,
            "dimensional": np.isfinite(p.dim_values).all(axis=1) if p.dims else None,
            "response": np.isfinite(p.listener).all(axis=1),
            "reaction": p.reaction.done if p.reaction is not None else None}
    out = {}
    for t in tasks:
        if done[t] is None or not done[t].any():
            why = next((x for nt in p.notes for x in nt if x.startswith(f"{t} not predicted")),
                       f"{t} not predicted")
            out[t] = f"--tasks {t}: not predicted on any of the {len(p.notes)} segments ({why})"
    return out


# ---------------------------------------------------------------------------------------------
# Prediction over segments

@dataclass
class Predictions:
    """Per segment results (arrays over segments; NaN where not predicted)."""

    classes: list[str]
    probs: np.ndarray             # (n, K)
    emotion_model: list[str]
    dims: list[str]
    dim_values: np.ndarray        # (n, len(dims))
    listener: np.ndarray          # (n, 136) aligned landmarks
    modalities: list[str]
    notes: list[list[str]]
    fallbacks: dict = field(default_factory=dict)    # emotion fallback -> segments using it
    reaction: object = None       # predict.reaction.Reactions (the reaction task), or None


def add_frame_stats(ms: ModelSet, feats: dict[str, Features], rows: list[int], n_sides: int,
                    X: dict[str, np.ndarray], ok: dict[str, np.ndarray]) -> None:
    """X[<modality>/frame_stats]: mean and std of each frame column over the segment, for the
    inputs some model was trained on that way (the response task describes a prompt by the frames
    before its response starts; a new segment has no response, so every frame counts, as for
    prompts that do not overlap their response). A segment without such frames is not ok."""
    used = {m for e in ms.all_ensembles() for m in e.frame_stats}
    pick = [r if r >= 0 else i * n_sides for i, r in enumerate(rows)]
    for m in sorted(used & set(feats)):
        f = feats[m]
        out = np.full((len(pick), 2 * len(f.frame_names)), np.nan, np.float32)
        for j, i in enumerate(pick):
            if f.ok[i]:
                out[j] = frame_mean_std(f.frames[i], len(f.frame_names))
        X[m + FRAME_STATS] = out
        ok[m] = ok[m] & np.isfinite(out).all(axis=1)


def predict_segments(ms: ModelSet, X: dict[str, np.ndarray], ok: dict[str, np.ndarray],
                     n: int, skip_notes: dict[str, str]) -> Predictions:
    """Run every task on the segments, grouped by which modalities each segment has."""
    from ..training.tasks import dimensional, emotion
    emo_classes = (list(next(iter(ms.emotion.values())).models[0].target_names[emotion.TARGET])
                   if ms.emotion else [])
    dims = (list(ms.dimensional.models[0].target_names[dimensional.TARGET])
            if ms.dimensional else [])
    p = Predictions(emo_classes, np.full((n, len(emo_classes)), np.nan), [""] * n, dims,
                    np.full((n, len(dims)), np.nan), np.full((n, 136), np.nan), [""] * n,
                    [[] for _ in range(n)])
    avail = [frozenset(m for m in ok if ok[m][i]) for i in range(n)]
    for i in range(n):
        p.modalities[i] = "+".join(m for m in MODALITIES if m in avail[i])
        p.notes[i] += list(skip_notes.values())
    for group in sorted(set(avail), key=sorted):
        idx = np.array([i for i in range(n) if avail[i] == group])
        Xg = {k: v[idx] for k, v in X.items() if k.split("/")[0] in group}
        if ms.emotion and "emotion" not in skip_notes:
            ens = ms.emotion_choice(set(group))
            if ens:
                p.probs[idx] = np.mean([e.predict(Xg)[emotion.TARGET] for e in ens], axis=0)
                for i in idx:
                    p.emotion_model[i] = describe(ens)
                why = ms.emotion_fallback(set(group))
                if why:
                    msg = f"emotion by {describe(ens)}: {why}"
                    p.fallbacks[msg] = p.fallbacks.get(msg, 0) + len(idx)
                    if ms.emotion_selected() is not None:    # this segment lacks its inputs
                        _note(p, idx, msg)
            else:
                _note(p, idx, f"emotion not predicted: no emotion model runs on {_mods(group)}")
        for task, target, dest in (("dimensional", dimensional.TARGET, p.dim_values),
                                   ("response", "landmarks", p.listener)):
            e = getattr(ms, task)
            if e is None or task in skip_notes:
                continue
            if e.runs_on(set(group)):
                out = e.predict(Xg)
                if target in out:
                    dest[idx] = out[target]
            else:
                missing = sorted(set(e.inputs) - set(group))
                _note(p, idx, f"{task} not predicted: needs {'+'.join(missing)}")
    return p


def _mods(group) -> str:
    return "+".join(m for m in MODALITIES if m in group) or "nothing"


def _note(p: Predictions, idx, text: str) -> None:
    for i in idx:
        p.notes[i].append(text)

