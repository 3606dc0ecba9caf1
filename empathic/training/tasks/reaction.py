"""Task `reaction`: the listener's face over time, K reactions per input, scored as REACT does.

For each pair (A's prompt, B's response) on a fixed grid of `tasks.reaction.fps`:

- the *listening* window: B's face during the last `listen_s` of A's turn before B starts (the
  listener's face, which the face pass writes as `listener_*` arrays of A's utterance; absent
  on corpora without video of both actors: the window is left out with a note);
- the *replying* window: the first `reply_s` of B's own turn.

Target per frame: B's aligned 68 points as displacement from B's reference face (the mean of B's
earlier turns in the dialogue, observed history) and four measures (mouth opening, mouth-corner
height, brow height, eye opening) as change from B's reference. Inputs: A's frames on the same
grid over the listening window (A's six face measures as change from A's own mean, eGeMAPS
descriptors averaged per grid step, HOG) and the text embedding; they end where B starts, so
nothing of B's reply leaks in. Models: `offline` (a bidirectional encoder: every frame sees the
whole window) and `online` (causal: frame t sees nothing after t), each giving K reactions
(empathic.nets.reaction), and `prototype` (a linear gate on the window pooled over time mixes
PROTOTYPES learned reactions, each of the K adds its own offset: few weights, for few pairs),
all trained with a relaxed winner-takes-all loss: the closest of the K to the real reaction gets
weight 1 - wta_relax, all K share wta_relax.

Scores (empathic.scoring.reaction) on the four measures: fr_corr, fr_dist (closest appropriate
real reaction: per reaction, mean over the K), fr_div, fr_dvs, fr_var, fr_syn (|lag| in frames
of the peak cross-correlation with A's measures), and `nme`, the per-frame NME of the
reconstructed shape (mean over frames and the K reactions). Appropriate reactions of a test pair:
its own and those of the same test session whose speaker descriptor (mean and std of A's
measures and voice descriptors over the window) lies within the `appropriate_quantile` quantile
of the session's pairwise descriptor distances, at most `appropriate_max` of them (its own and
the nearest: a session ten times longer neither makes the closest match easier nor costs a
hundred times the DTWs); `n_appropriate` is their mean count.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ...errors import EmpathicError
from ...nets.reaction import PrototypeNet, ReactionNet
from ...nets.wta import WTALoss
from ...scoring import landmarks as L
from ...scoring import reaction as R
from ..data import FeatureBank, Rows, Tables, nearest_rows
from ..sequences import (LISTENER, MEASURES, SequenceBank, displacement, face_track, fill_gaps,
                         reference)
from ..task import FoldResult, ModelSpec, Task, spread_rows
from ..utterances import dialog_key

TARGET = "reaction"
SHAPE = 136                                  # 68 aligned points, x00 y00 x01 ...
OUT = SHAPE + len(MEASURES)                  # values per target frame
SPEAKER = ("mouth_open", "mouth_width", "mouth_corner", "brow_height", "eye_open", "head_roll")
STATIC = ("text",)
PROTOTYPES = 6                               # the prototype model's learned reactions


class ReactionTask(Task):
    name = "reaction"
    selection = ("fr_dist", False)
    comparisons = {"fr_dist": False, "fr_corr": True}

    def __init__(self, prm: dict, fusion: str | None = None):
        super().__init__(prm, fusion or "concat")     # (the reaction network has no fusion)
        c = self.p
        self.fps = float(c.fps)
        self.step = 1.0 / self.fps
        self.t_in = max(1, int(round(c.listen_s * self.fps)))
        self.t_reply = int(round(c.reply_s * self.fps))
        self.windows = list(c.windows)
        self.k = c.reactions
        self.quantile, self.max_missing = float(c.appropriate_quantile), float(c.max_missing)
        self.max_appropriate = int(c.appropriate_max)
        self._scored: tuple | None = None      # (truth, generated, {metric: per-row array})
        self.lag = int(round(c.mime_lag_s * self.fps))
        self.figure_pairs = c.figure_pairs
        self.notes: list[str] = []
        self._layout()

    def _layout(self, listening: bool | None = None) -> None:
        self.listening = "listening" in self.windows if listening is None else listening
        replying = "replying" in self.windows
        self.t_listen = self.t_in if self.listening else 0
        self.t_out = self.t_listen + (self.t_reply if replying else 0)
        self.max_lag = int(max(1, min(round(2 * self.fps), self.t_out - 3)))   # fr_syn's lags

    def skip_reason(self, bank: FeatureBank) -> str | None:
        why = bank.unavailable("landmarks")
        if why:
            return f"no face landmarks on this corpus ({why})"
        return super().skip_reason(bank)

    # -- data ----------------------------------------------------------------------------------
    def assemble(self, tables: Tables, bank: FeatureBank) -> Rows:
        seq = SequenceBank(bank.dir)
        if self.listening and not seq.has("landmarks", LISTENER + "points_norm"):
            self.notes.append("listening window left out: landmarks.h5 has no listener face "
                              "(listener_points_norm)")
            self._layout(listening=False)
        if self.t_out == 0:
            raise EmpathicError("reaction: no window to predict (tasks.reaction.windows)")
        self.set_columns(seq.names("landmarks"))
        u = tables.utterances.set_index("utt_id")
        by: dict[tuple, list] = {}
        for utt, d, spk, t in zip(u.index.astype(str), u["dialog"].astype(str),
                                  u["speaker"].astype(str), u["start"].to_numpy(float)):
            by.setdefault((d, spk), []).append((t, utt))
        X: dict[str, list] = {m: [] for m in self.inputs}
        keep, Y, extra, dropped = [], [], {k: [] for k in ("ref", "speaker", "mime", "desc")}, {}
        pairs = tables.pairs.reset_index(drop=True)
        for r, (p, q) in enumerate(zip(pairs["prompt_id"].astype(str),
                                       pairs["response_id"].astype(str))):
            got = self._pair(seq, bank, u, by, p, q)
            if isinstance(got, str):
                dropped[got] = dropped.get(got, 0) + 1
                continue
            x, y, ex = got
            keep.append(r)
            Y.append(y)
            for m in self.inputs:
                X[m].append(x[m])
            for k in extra:
                extra[k].append(ex[k])
        sel = pairs.iloc[keep]
        return Rows(ids=sel["pair_id"].astype(str).to_numpy(),
                    groups=sel["session"].astype(str).to_numpy(),
                    X={m: np.asarray(v, np.float32).reshape(len(keep), -1) for m, v in X.items()},
                    Y={TARGET: np.asarray(Y, np.float32).reshape(len(keep), -1)},
                    x_names={m: [f"{m}{i}" for i in range(np.shape(X[m])[-1] if keep else 0)]
                             for m in self.inputs},
                    y_names={TARGET: [f"t{t}_{i}" for t in range(self.t_out) for i in range(OUT)]},
                    extra={**{k: np.asarray(v, np.float32) for k, v in extra.items()},
                           "dialog_key": dialog_key(sel)},
                    dropped=dropped, n_candidates=len(pairs))

    def _pair(self, seq, bank, u, by, p, q):
        """(inputs, target, extras) of one pair, or the reason it is dropped."""
        if p not in u.index or q not in u.index:
            return "prompt or response not in utterances.csv"
        a_s, a_e, b_s, b_e = (float(u.at[p, "start"]), float(u.at[p, "end"]),
                              float(u.at[q, "start"]), float(u.at[q, "end"]))
        w_end = min(a_e, b_s) - a_s
        if w_end - self.t_in * self.step < -self.step / 2:
            return "prompt shorter than tasks.reaction.listen_s before the response starts"
        if self.t_out > self.t_listen and b_e - b_s < self.t_reply * self.step - self.step / 2:
            return "response shorter than tasks.reaction.reply_s"
        grid = self.window_grid(w_end)
        a = self._speaker(seq, p, grid)
        if a is None:
            return "speaker's face missing in the listening window"
        ref = self._reference(seq, by, str(u.at[q, "dialog"]), str(u.at[q, "speaker"]), a_s)
        if ref is None:
            return "responder has no earlier turn in the dialogue (no reference face)"
        parts = []
        if self.t_listen:
            lis = self._face(seq, p, grid, LISTENER)
            if lis is None:
                return "listener's face missing in the listening window"
            parts.append(lis - ref)
        if self.t_out > self.t_listen:
            rep = self._face(seq, q, np.arange(self.t_reply) * self.step, "")
            if rep is None:
                return "responder's face missing at the start of the reply"
            parts.append(rep - ref)
        text = None
        if "text" in self.inputs:
            v, _, ok = bank.lookup("text", [p])
            text = v[0] if ok[0] else None
        x = self.speaker_inputs(seq, p, grid, a, text)
        if isinstance(x, str):
            return x
        out_t = np.concatenate([grid[:self.t_listen], b_s - a_s + np.arange(
            self.t_out - self.t_listen) * self.step])
        track = self._speaker(seq, p, out_t, clamp=True)
        mime = self._speaker(seq, p, out_t - self.lag * self.step, clamp=True)
        if track is None or mime is None:
            return "speaker's face missing in the listening window"
        voice = x.get("audio")
        desc = [a["measures"].mean(0), a["measures"].std(0)]
        if voice is not None:
            v = voice.reshape(self.t_in, -1)
            desc += [v.mean(0), v.std(0)]
        ex = {"ref": ref, "speaker": track["measures"][:, [SPEAKER.index(m) for m in MEASURES]],
              "mime": np.concatenate([mime["shape"], mime["measures"][
                  :, [SPEAKER.index(m) for m in MEASURES]]], axis=1),
              "desc": np.concatenate(desc)}
        return x, np.concatenate(parts).reshape(-1), ex

    def set_columns(self, names: list[str]) -> None:
        """The landmarks frame columns of the reaction measures and of the speaker's inputs."""
        self.cols = np.array([names.index(m) for m in MEASURES])
        self.spk_cols = np.array([names.index(m) for m in SPEAKER])

    def window_grid(self, w_end: float) -> np.ndarray:
        """The input grid (seconds from the speaker's turn start): `t_in` steps ending at w_end."""
        return w_end - self.t_in * self.step + np.arange(self.t_in) * self.step

    def speaker_inputs(self, seq, utt, grid, a, text=None):
        """The network inputs of the speaker's window `grid` of utterance `utt` (`a`: its
        `_speaker` displacement there; `text`: its text vector), or why there are none. Also what
        stages.predict feeds the model for a new segment."""
        x = {"landmarks": a["measures"].reshape(-1)} if "landmarks" in self.inputs else {}
        for m in ("audio", "video"):
            if m in self.inputs:
                v = (seq.binned if m == "audio" else seq.nearest)(m, utt, grid, self.step)
                v = None if v is None else fill_gaps(v, self.max_missing)
                if v is None:
                    return f"speaker's {m} missing in the listening window"
                x[m] = v.reshape(-1)
        if "text" in self.inputs:
            if text is None:
                return "prompt text features missing"
            x["text"] = text
        return x

    def _speaker(self, seq, utt, times, clamp=False):
        return displacement(seq, utt, times, self.step, self.spk_cols,
                            1.0 if clamp else self.max_missing, clamp)

    def _face(self, seq, utt, times, prefix):
        return face_track(seq, utt, times, self.step, self.cols, self.max_missing, prefix)

    def _reference(self, seq, by, dialog, speaker, before):
        return reference(seq, [u for t, u in by.get((dialog, speaker), []) if t < before],
                         self.cols)

    # -- models --------------------------------------------------------------------------------
    def models(self, rows: Rows) -> list[ModelSpec]:
        return [ModelSpec(name, tuple(self.inputs)) for name in ("offline", "online", "prototype")]

    def scaled_targets(self, rows: Rows) -> set[str]:
        return set()          # the loss standardises per feature; the K outputs share the units

    def build(self, spec: ModelSpec, rows: Rows, parent=None, seed: int = 0) -> torch.nn.Module:
        frames = {m: rows.X[m].shape[1] // self.t_in for m in spec.inputs if m not in STATIC}
        static = {m: rows.X[m].shape[1] for m in spec.inputs if m in STATIC}
        y = rows.Y[TARGET].reshape(len(rows), self.t_out, OUT).astype(np.float64)   # training
        units = dict(target=TARGET, out_mean=[round(float(v), 8) for v in y.mean(axis=0).ravel()],
                     out_scale=[round(float(v), 8) for v in
                                np.maximum(y.reshape(-1, OUT).std(axis=0), 1e-6)])
        if spec.name == "prototype":
            return PrototypeNet(frames, static, self.t_in, self.t_listen, self.t_out, OUT, k=self.k,
                                classes=PROTOTYPES, dropout=self.hp.dropout, **units)
        return ReactionNet(frames, static, self.t_in, self.t_listen, self.t_out, OUT, k=self.k,
                           hidden=self.hp.hidden, dropout=self.hp.dropout,
                           causal=spec.name == "online", **units)

    def objective(self, train: Rows):
        """Relaxed winner-takes-all (empathic.nets.wta) of the per-feature standardised squared
        error, the 136 point coordinates and the 4 measures weighted half and half."""
        y = train.Y[TARGET].reshape(-1, OUT).astype(np.float64)
        w = np.r_[np.full(SHAPE, 0.5 / SHAPE), np.full(OUT - SHAPE, 0.5 / (OUT - SHAPE))]
        w = torch.tensor(w / np.maximum(y.var(axis=0), 1e-12), dtype=torch.float32)
        wta = WTALoss(w, self.k, self.t_out, OUT, self.p.wta_relax, self.p.wta_relax_start,
                      self.p.wta_anneal_epochs, self.p.diversity)

        def loss(out, target):
            return wta(out[TARGET], target[TARGET])
        loss.set_epoch = wta.set_epoch
        return loss

    # -- evaluation ----------------------------------------------------------------------------
    def _seqs(self, rows: Rows, pred: dict) -> tuple[np.ndarray, np.ndarray]:
        """The measures (float64) of the K generated (N, K, T, 4) and real (N, T, 4) reactions."""
        gen = np.asarray(pred[TARGET]).reshape(len(rows), -1, self.t_out, OUT)
        real = rows.Y[TARGET].reshape(len(rows), self.t_out, OUT)
        return gen[..., SHAPE:].astype(np.float64), real[..., SHAPE:].astype(np.float64)

    def appropriate(self, rows: Rows) -> np.ndarray:
        """(N, N): the appropriate real reactions of each row, within its test session."""
        a = np.zeros((len(rows), len(rows)), bool)
        for g in np.unique(rows.groups):
            idx = np.flatnonzero(rows.groups == g)
            d = rows.extra["desc"][idx].astype(np.float64)
            thr = R.quantile_threshold(d, self.quantile) if len(idx) > 1 else 0.0
            a[np.ix_(idx, idx)] = R.appropriateness(d, thr, self.max_appropriate)
        return a

    def _per_row(self, truth: Rows, pred: dict) -> dict[str, np.ndarray]:
        """fr_dist and fr_corr per row, the appropriate matrix and the generated reactions
        (`gen`, float64) of these predictions, kept for the latest (truth, predictions): evaluation
        scores them and then asks row_stat for the same (the DTWs are most of its time)."""
        got = self._scored
        if got is not None and got[0] is truth and got[1] is pred[TARGET]:
            return got[2]
        gen, real = self._seqs(truth, pred)
        app = self.appropriate(truth)
        per = {"fr_dist": R.fr_dist(gen, real, app, per_input=True),
               "fr_corr": R.fr_corr(gen, real, app, per_input=True), "app": app, "gen": gen}
        self._scored = (truth, pred[TARGET], per)
        return per

    def score(self, truth: Rows, pred: dict, ref) -> dict[str, float]:
        per = self._per_row(truth, pred)
        gen, app = per["gen"], per["app"]
        s = {"fr_corr": float(np.mean(per["fr_corr"])), "fr_dist": float(np.mean(per["fr_dist"])),
             "fr_div": R.fr_div(gen) if gen.shape[1] > 1 else 0.0,
             "fr_dvs": R.fr_dvs(gen), "fr_var": R.fr_var(gen),
             "nme": self._nme(truth, pred), "n_appropriate": float(R.n_appropriate(app).mean())}
        syn = R.synchrony_lags(gen, truth.extra["speaker"].astype(np.float64), self.max_lag)
        if np.isfinite(syn).any():              # a reaction that never moves has no lag
            s["fr_syn"] = float(np.nanmean(np.abs(syn)))
        return s

    def _nme(self, truth: Rows, pred: dict, batch: int = 32) -> float:
        """Mean NME over every frame of the K reactions (shapes rebuilt `batch` rows at a time)."""
        gen = np.asarray(pred[TARGET]).reshape(len(truth), -1, self.t_out, OUT)
        real = truth.Y[TARGET].reshape(len(truth), self.t_out, OUT)
        per = [np.empty(0)]
        for lo in range(0, len(truth), batch):
            ref = truth.extra["ref"][lo:lo + batch, None, None, :SHAPE].astype(np.float64)
            g = gen[lo:lo + batch, ..., :SHAPE].astype(np.float64)
            t = np.broadcast_to(real[lo:lo + batch, None, :, :SHAPE] + ref, g.shape)
            per.append(L.row_nme((g + ref).reshape(-1, 68, 2), t.reshape(-1, 68, 2)))
        return float(np.concatenate(per).mean())

    def row_stat(self, metric: str, truth: Rows, pred: dict):
        return (self._per_row(truth, pred)[metric],), np.mean

    def selection_value(self, truth: Rows, pred: dict) -> float:
        return float(np.mean(self.row_stat("fr_dist", truth, pred)[0][0]))

    def baselines(self, train: Rows, test: Rows, ref, seed: int = 0) -> dict:
        """Every baseline gives K reactions (the deterministic ones repeat theirs)."""
        n, k = len(test), self.k
        ytr = train.Y[TARGET]
        rep = lambda y: np.repeat(y[:, None, :], k, axis=1).reshape(len(y), -1)  # noqa: E731
        seqs = ytr.reshape(len(train), self.t_out, OUT)
        rng = np.random.default_rng([seed, n])
        nn = nearest_rows(train, test, ref, self.inputs)
        out = {"mime": rep(test.extra["mime"].reshape(n, -1)),
               "train_mean_sequence": rep(np.repeat(ytr.mean(0)[None], n, 0)),
               "train_mean_frame": rep(np.tile(seqs.mean((0, 1)), (n, self.t_out))),
               "random": ytr[rng.integers(0, len(train), size=(n, k))].reshape(n, -1),
               "nearest_neighbour": rep(ytr[nn]),
               "still": np.zeros((n, k * self.t_out * OUT), np.float32)}
        return {name: {TARGET: v.astype(np.float32)} for name, v in out.items()}

    def report_extra(self, rows: Rows) -> dict:
        return {"reaction": {
            "windows": (["listening"] if self.t_listen else []) +
                       (["replying"] if self.t_out > self.t_listen else []),
            "frames": {"rate": self.fps, "listening": self.t_listen,
                       "replying": self.t_out - self.t_listen},
            "reactions_per_input": self.k, "notes": self.notes,
            "scored_on": list(MEASURES),
            "appropriate": f"own reaction and those of the same test session whose speaker "
                           f"descriptor is within the {self.quantile} quantile of the session's "
                           f"pairwise distances, at most {self.max_appropriate} (its own and "
                           f"the nearest; empathic.scoring.reaction.appropriateness)",
            "fr_corr_fr_dist": "mean per reaction over the K (REACT sums over its 10)",
            "fr_syn": f"mean |lag| in frames of the peak cross-correlation with the speaker's "
                      f"measures within +-{self.max_lag} frames; left out where no reaction "
                      f"moves (still, train_mean_frame)"}}

    def figure_rows(self, n: int) -> np.ndarray:
        return spread_rows(n, self.figure_pairs)

    def figures(self, out_dir: Path, results: list[FoldResult], best: str) -> None:
        if not self.figure_pairs:
            return
        from ...scoring.plots_reaction import reaction_series
        real = np.concatenate([r.test.Y[TARGET] for r in results]).reshape(-1, self.t_out, OUT)
        pred = np.concatenate([r.pred[best][TARGET] for r in results]).reshape(
            len(real), -1, self.t_out, OUT)
        ids = np.concatenate([r.test.ids for r in results])     # the figure_rows rows
        reaction_series(out_dir / "reaction_test_pairs.png", real[..., SHAPE:],
                        pred[..., SHAPE:], list(ids), list(MEASURES), self.fps, self.t_listen)


TASK = ReactionTask
