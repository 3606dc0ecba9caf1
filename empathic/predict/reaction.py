"""The reaction task on a new video (empathic.training.tasks.reaction).

Per segment, the speaker's inputs are built by the training code itself: a `SequenceBank` over
the segment's extracted features (in memory) and `ReactionTask.speaker_inputs` on the task's
grid over the last `listen_s` of the segment (as for a prompt whose response starts when it
ends). The fold ensemble gives K reactions of the listener's face, each `t_out` frames at the
task's rate from `listen_s` before the segment's end (the listening window, when the model was
trained with one) into the reply: the aligned 68 points as displacement from the listener's
reference face, and the four measures (`sequences.MEASURES`) as change from it.

The reference face, to which the drawing adds the displacement: the listener's own mean aligned
face over the segment where the video shows the other actor (the face pass's `listener_points_norm`
of a left / right half), else the canonical face of the alignment (`facegeom.CANONICAL`).

What predict writes of it: the summary columns of segments.csv (`summary`), and through
`reaction_video` one MP4 (the speaker's clip beside the animated first reaction) and one PNG
(the K reactions at a few times) per segment.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import EmpathicError
from ..scoring import reaction as R
from ..store import Features
from ..training.sequences import MEASURES, SequenceBank

FRAME_MODALITIES = ("landmarks", "audio", "video")


@dataclass
class Reactions:
    """The predicted reactions of every segment (NaN where not predicted)."""

    model: str
    values: np.ndarray          # (n, K, T, 136 + len(MEASURES))
    reference: np.ndarray       # (n, 136) the listener's reference face (aligned)
    start: np.ndarray           # (n,) video time (s) of the first reaction frame
    fps: float
    t_listen: int               # frames of the listening window (the rest: the reply)
    notes: list[list[str]] = field(default_factory=list)

    @property
    def done(self) -> np.ndarray:
        return np.isfinite(self.values).all(axis=(1, 2, 3))

    @property
    def k(self) -> int:
        return self.values.shape[1]

    def shapes(self, i: int) -> np.ndarray:
        """(K, T, 68, 2): segment i's reactions as aligned points (reference + displacement)."""
        v = self.values[i, :, :, :136] + self.reference[i]
        return v.reshape(self.k, -1, 68, 2)

    def times(self, i: int) -> np.ndarray:
        """(T,) the video time of each reaction frame of segment i."""
        return self.start[i] + np.arange(self.values.shape[2]) / self.fps


def task_for(ens, prm: dict):
    """The ReactionTask as the ensemble's checkpoints were trained (their tasks.reaction
    section, inputs and windows), to build inputs with."""
    from ..training.tasks.reaction import ReactionTask
    first = ens.models[0]
    trained = {**prm, "tasks": {**(prm.get("tasks") or {}), "reaction": first.state["params"]}}
    task = ReactionTask(trained)
    net = first.net.config
    task.inputs = list(ens.inputs)
    task._layout(listening=net["t_listen"] > 0)
    if (task.t_in, task.t_out) != (net["t_in"], net["t_out"]):
        raise EmpathicError(f"models/reaction/{ens.name}: its network's frames ({net['t_in']} in,"
                            f" {net['t_out']} out) differ from its tasks.reaction params; run "
                            f"`dvc repro train@reaction`")
    return task


def reference_face(lm: Features | None, row: int) -> np.ndarray:
    """(136,) the listener's mean aligned face over the row's frames, else the canonical face."""
    from ..extractors.facegeom import CANONICAL
    lis = lm.extra.get("listener_points_norm") if lm is not None else None
    if lis is not None and row >= 0:
        pts = np.asarray(lis[row], np.float64).reshape(-1, 136)
        pts = pts[np.isfinite(pts).all(axis=1)]
        if len(pts):
            return pts.mean(axis=0)
    return np.asarray(CANONICAL, np.float64).reshape(136)


def segment_inputs(task, ens, feats: dict[str, Features], rows: list[int], segs):
    """(X: modality -> (n, D) NaN where missing, why: per segment "" or why it has no inputs)."""
    lm = feats.get("landmarks")
    names = ens.models[0].input_names
    X = {m: np.full((len(segs), len(names[m])), np.nan, np.float32) for m in ens.inputs}
    why = [""] * len(segs)
    if lm is None or lm.frames is None:
        return X, ["no face landmarks extracted"] * len(segs)
    seq = SequenceBank.of({m: feats[m] for m in FRAME_MODALITIES if m in feats})
    task.set_columns(list(lm.frame_names))
    for i, s in enumerate(segs):
        r = rows[i]
        dur = s.end - s.start
        if r < 0:
            why[i] = "no speaker's face"
            continue
        if dur - task.t_in * task.step < -task.step / 2:
            why[i] = f"segment shorter than tasks.reaction.listen_s ({task.t_in * task.step:g} s)"
            continue
        grid = task.window_grid(dur)
        a = task._speaker(seq, str(lm.ids[r]), grid)
        if a is None:
            why[i] = "speaker's face missing in the listening window"
            continue
        text = None
        if "text" in feats and feats["text"].ok[r]:
            text = feats["text"].pooled[r]
        x = task.speaker_inputs(seq, str(lm.ids[r]), grid, a, text)
        if isinstance(x, str):
            why[i] = x
            continue
        for m in ens.inputs:
            v = np.asarray(x[m], np.float32).reshape(-1)
            if len(v) != X[m].shape[1]:
                raise EmpathicError(f"{m} frames give {len(v)} reaction inputs, models/reaction "
                                    f"was trained on {X[m].shape[1]}: params features.* changed "
                                    f"since training; run `dvc repro`")
            X[m][i] = v
    return X, why


def predict_reactions(ens, prm: dict, feats: dict[str, Features], rows: list[int],
                      segs) -> Reactions:
    """Every segment's K reactions from one model of the ensemble (its first fold and seed):
    hypothesis k of one model is not hypothesis k of another, so averaging them over folds and
    seeds, as the other tasks' ensembles do, would blend unrelated reactions into fewer."""
    from ..training.tasks.reaction import OUT, TARGET
    task = task_for(ens, prm)
    n = len(segs)
    X, why = segment_inputs(task, ens, feats, rows, segs)
    values = np.full((n, task.k, task.t_out, OUT), np.nan)
    ok = np.array([not w for w in why], bool)
    if ok.any():
        out = ens.unit_outputs({m: X[m][ok] for m in ens.inputs})[0][TARGET]
        values[ok] = np.asarray(out, np.float64).reshape(int(ok.sum()), task.k, task.t_out, OUT)
    lm = feats.get("landmarks")
    ref = np.stack([reference_face(lm, r) for r in rows]).reshape(n, 136)
    start = np.array([s.end - task.t_listen * task.step for s in segs], np.float64)
    notes = [[f"reaction not predicted: {w}"] if w else [] for w in why]
    return Reactions(ens.name, values, ref, start, task.fps, task.t_listen, notes)


def summary(r: Reactions) -> dict[str, np.ndarray]:
    """segments.csv columns: each measure's mean over the K reactions and their frames (change
    from the reference face, aligned units), and the K reactions' diversity (`fr_div`) and
    variance over time (`fr_var`), as the task scores them (empathic.scoring.reaction)."""
    n, m = len(r.values), slice(136, None)
    cols = {f"reaction_{name}": np.full(n, np.nan) for name in MEASURES}
    cols.update(reaction_fr_div=np.full(n, np.nan), reaction_fr_var=np.full(n, np.nan))
    done = r.done
    if done.any():
        g = r.values[done][..., m]
        for j, name in enumerate(MEASURES):
            cols[f"reaction_{name}"][done] = g[..., j].mean(axis=(1, 2))
        if r.k > 1:
            cols["reaction_fr_div"][done] = R.fr_div(g, per_input=True)
        if g.shape[2] > 1:
            cols["reaction_fr_var"][done] = R.fr_var(g, per_input=True)
    return {k: np.round(v, 5) for k, v in cols.items()}
