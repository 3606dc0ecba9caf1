"""Task `response`: from speaker A's utterance predict partner B's response vectors.

Rows are the pairs of pairs.csv. Inputs: the prompt's pooled features of `tasks.response.inputs`.
Targets (`tasks.response.targets`, modality -> loss weight): the response's pooled vector of that
modality, except `landmarks`, whose target is the response's mean aligned 68-point shape (136
values, x00 y00 x01 y01 ...). A pair is dropped (and counted by reason) when any of these is
missing or not ok, or when the prompt lacks a target modality (the mirror baseline needs it), so
the model and every baseline are scored on the same rows.

Metrics per target modality t: t_mse and t_cosine in the target's training-standardised space
(z-scores fitted on the fold's training rows, so every dimension counts alike; predicting the
training mean is the zero vector there and scores cosine exactly 0); for landmarks also the
standard inter-ocular nme (outer eye corners), nme_nonrigid, nme_eye_centres, pck_05 and pck_10
on the utterance-averaged aligned shape (empathic.scoring.landmarks), and impro_* figures on
pairs of improvised dialogues (in scripted ones the script fixes the reply's words).
Baselines: train_mean, mirror (B's vector = A's own), nearest_neighbour (the response of the
training prompt nearest in the scaled input space, each modality weighted equally).

Two questions, two targets (`reference: true`): `fusion` predicts B's absolute face, which mixes
identity (whose face) with expression (what it does); `fusion_displacement` predicts B's change
from B's own reference face (the mean of B's earlier turns in the same dialogue, observed
history) and adds the reference back, so it answers "how does B's face respond?". Both are
scored in absolute units beside `own_reference` (B's reference itself: identity, no response),
and `expr_cosine` scores every predictor's direction of change from that reference.

`cut_overlap` (default on): where the response starts before the prompt ends, prompt inputs
with frames (audio, video, landmarks, ssl) are the mean and std of the frames before the
response's start (for every pair, so the representation is uniform), and the mirror baseline
uses the same frames; the prompt's text is not cut (transcripts have no word times).
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ...scoring import landmarks as L
from ...scoring.regression import cosine, mse
from ..checkpoint import Predictor
from ..data import FeatureBank, Rows, Tables, keep_ok, landmark_columns, nearest_rows
from ..task import FoldResult, ModelSpec, Task, spread_rows
from ..utterances import dialog_key, improvised_mask, keep_improvised_flag

LOSSES = {"mse": {"mse": 1.0, "cosine": 0.0}, "cosine": {"mse": 0.0, "cosine": 1.0}}
REF = "ref/landmarks"            # the responder's reference face (extra per row)
DISPLACEMENT = "fusion_displacement"


def _weights(value) -> dict[str, float]:
    """The schema's list (weight 1 each) or mapping name -> weight as a mapping of floats."""
    return {v: 1.0 for v in value} if isinstance(value, list) else \
        {k: float(w) for k, w in value.items()}


class ResponseTask(Task):
    name = "response"

    def __init__(self, prm: dict):
        super().__init__(prm)
        self.targets = _weights(self.p.targets)
        lm = "landmarks" in self.targets
        self.selection = ("nme", False) if lm else (f"{next(iter(self.targets))}_mse", False)
        self.comparisons = {"nme": False, "nme_nonrigid": False} if lm else \
            {f"{t}_mse": False for t in self.targets}
        loss = self.p.loss
        self.loss_weights = (LOSSES[loss] if isinstance(loss, str) else
                             {"mse": float(loss.mse), "cosine": float(loss.cosine)})
        self.figure_pairs = self.p.figure_pairs
        self.cut_overlap = self.p.cut_overlap
        self.reference = self.p.reference and "landmarks" in self.targets

    # -- data ----------------------------------------------------------------------------------
    def skip_reason(self, bank: FeatureBank) -> str | None:
        """Also skipped when the corpus lacks a target modality (KEMDy: no landmarks)."""
        absent = {t: r for t in self.targets if (r := bank.unavailable(t))}
        if absent:
            return "; ".join(f"target {t} unavailable ({r})" for t, r in absent.items())
        return super().skip_reason(bank)

    @staticmethod
    def target_lookup(bank: FeatureBank, modality: str, utt_ids):
        """((values, present, ok), names) of a target modality for the given utterances."""
        if modality == "landmarks":
            cols, names = landmark_columns(bank.names("landmarks"))
            return bank.lookup("landmarks", utt_ids, cols), names
        return bank.lookup(modality, utt_ids), bank.names(modality)

    def assemble(self, tables: Tables, bank: FeatureBank) -> Rows:
        pairs = tables.pairs
        prompt = pairs["prompt_id"].astype(str).to_numpy()
        response = pairs["response_id"].astype(str).to_numpy()
        X, Y, extra, x_names, y_names, checks = {}, {}, {}, {}, {}, []
        cut = self.cut_times(tables)
        for m in self.inputs:
            if cut is not None and bank.has_frames(m):
                X[m], present, ok, x_names[m] = bank.frame_stats(m, prompt, cut)
                checks += [(f"prompt {m} missing", present),
                           (f"prompt {m}: no frame before the response starts", ok)]
                continue
            X[m], present, ok = bank.lookup(m, prompt)
            x_names[m] = bank.names(m)
            checks += [(f"prompt {m} missing", present), (f"prompt {m} not ok", ok)]
        for t in self.targets:
            (Y[t], present, ok), y_names[t] = self.target_lookup(bank, t, response)
            checks += [(f"response {t} missing", present), (f"response {t} not ok", ok)]
            if cut is not None and t == "landmarks" and bank.has_frames(t):
                v, present, ok, names = bank.frame_stats(t, prompt, cut)
                cols = [names.index(f"{a}{p:02d}_mean") for p in range(68) for a in "xy"]
                extra[f"mirror/{t}"] = v[:, cols]
            else:
                (extra[f"mirror/{t}"], present, ok), _ = self.target_lookup(bank, t, prompt)
            checks += [(f"prompt {t} missing (mirror baseline)", present),
                       (f"prompt {t} not ok (mirror baseline)", ok)]
        if self.reference:
            extra[REF], has = self.references(tables, bank)
            checks.append(("responder has no earlier turn in the dialogue (no reference face)", has))
        keep, dropped = keep_ok(checks, len(pairs))
        extra["dialog_key"] = dialog_key(pairs)
        impro = improvised_mask(pairs)
        if impro is not None:
            extra["impro"] = impro
        rows = Rows(pairs["pair_id"].astype(str).to_numpy(), pairs["session"].astype(str).to_numpy(),
                    X, Y, x_names, y_names, extra, dropped, len(pairs))
        return keep_improvised_flag(rows.take(keep))

    def cut_times(self, tables: Tables) -> np.ndarray | None:
        """Seconds from each prompt's start to its response's start where the response starts
        before the prompt ends (inf elsewhere); None when `cut_overlap` is off."""
        if not self.cut_overlap:
            return None
        start = tables.utterances.set_index("utt_id")["start"]
        p = start.reindex(tables.pairs["prompt_id"].astype(str)).to_numpy(np.float64)
        r = start.reindex(tables.pairs["response_id"].astype(str)).to_numpy(np.float64)
        overlap = tables.pairs["gap"].to_numpy(np.float64) < 0
        return np.where(overlap, r - p, np.inf)

    def references(self, tables: Tables, bank: FeatureBank) -> tuple[np.ndarray, np.ndarray]:
        """Each responder's reference face: the mean aligned shape of their own turns in the
        same dialogue that started before the prompt (observed history, legitimate at test
        time); NaN and False where there is none."""
        u = tables.utterances.reset_index(drop=True)
        (shape, _, ok), _ = self.target_lookup(bank, "landmarks", u["utt_id"].astype(str))
        by = {}
        for i, (d, spk, t) in enumerate(zip(u["dialog"].astype(str), u["speaker"].astype(str),
                                            u["start"].to_numpy(np.float64))):
            if ok[i]:
                by.setdefault((d, spk), []).append((t, i))
        where = dict(zip(u["utt_id"].astype(str), range(len(u))))
        ref = np.full((len(tables.pairs), 136), np.nan, np.float32)
        for r, (p, q) in enumerate(zip(tables.pairs["prompt_id"].astype(str),
                                       tables.pairs["response_id"].astype(str))):
            ip, iq = where.get(p), where.get(q)
            if ip is None or iq is None:
                continue
            start = u.at[ip, "start"]
            earlier = [i for t, i in by.get((str(u.at[iq, "dialog"]), str(u.at[iq, "speaker"])), [])
                       if t < start]
            if earlier:
                ref[r] = shape[earlier].mean(axis=0)
        return ref, np.isfinite(ref).all(axis=1)

    def models(self, rows: Rows) -> list[ModelSpec]:
        specs = [ModelSpec("fusion", tuple(self.inputs))]
        if self.reference:
            specs.append(ModelSpec(DISPLACEMENT, tuple(self.inputs)))
        return specs

    def extra_comparisons(self, best: str, names: list[str]) -> list[tuple[str, str]]:
        return [(best, n) for n in ("fusion", DISPLACEMENT) if n in names and n != best]

    def model_rows(self, spec: ModelSpec, rows: Rows) -> Rows:
        """The displacement model learns the response's offset from the responder's reference."""
        if spec.name != DISPLACEMENT:
            return rows
        out = rows.take(np.arange(len(rows)))
        out.Y = {**rows.Y, "landmarks": rows.Y["landmarks"] - rows.extra[REF]}
        return out

    def model_predictions(self, spec: ModelSpec, rows: Rows, pred: dict) -> dict:
        if spec.name != DISPLACEMENT:
            return pred
        return {**pred, "landmarks": pred["landmarks"] + rows.extra[REF]}

    def report_extra(self, rows: Rows) -> dict:
        if not self.cut_overlap:
            return {"cut_overlap": "off: prompt features cover the whole prompt, also after the "
                                   "response started"}
        return {"cut_overlap": "prompt inputs with frames (audio, video, landmarks, ssl) are the "
                               "mean and std of the frames before the response starts; text is "
                               "not cut (no word times)"}

    # -- objective -----------------------------------------------------------------------------
    def objective(self, train: Rows):
        return self.loss

    def loss(self, out: dict[str, torch.Tensor], y: dict[str, torch.Tensor]) -> torch.Tensor:
        wm, wc = self.loss_weights["mse"], self.loss_weights["cosine"]
        total = torch.zeros((), device=next(iter(out.values())).device)
        for t, w in self.targets.items():
            if wm:
                total = total + w * wm * F.mse_loss(out[t], y[t])
            if wc:
                total = total + w * wc * (1 - F.cosine_similarity(out[t], y[t], dim=1).mean())
        return total

    # -- evaluation ----------------------------------------------------------------------------
    def score(self, truth: Rows, pred: dict[str, np.ndarray], ref: Predictor) -> dict[str, float]:
        s = self._score(truth, pred, ref)
        m = truth.extra.get("impro")
        if m is not None and m.any():
            s.update({f"impro_{k}": v for k, v in
                      self._score(truth.take(m), {t: p[m] for t, p in pred.items()}, ref).items()})
        return s

    def _score(self, truth: Rows, pred: dict[str, np.ndarray], ref: Predictor) -> dict[str, float]:
        s = {}
        for t in (t for t in self.targets if t in pred):   # own_reference has landmarks only
            sc = ref.target_scalers[t]
            zt, zp = sc.transform(truth.Y[t]), sc.transform(pred[t])
            s[f"{t}_mse"] = mse(zp, zt)
            s[f"{t}_cosine"] = cosine(zp, zt)
            if t == "landmarks":
                s["nme"] = L.nme(pred[t], truth.Y[t])
                s["nme_nonrigid"] = L.nme_nonrigid(pred[t], truth.Y[t])
                s["nme_eye_centres"] = L.nme_eye_centres(pred[t], truth.Y[t])
                s["pck_05"] = L.pck(pred[t], truth.Y[t], 0.05)
                s["pck_10"] = L.pck(pred[t], truth.Y[t], 0.10)
                if REF in truth.extra:        # the expression: the change from B's own face
                    own = truth.extra[REF]
                    s["expr_cosine"] = cosine(pred[t] - own, truth.Y[t] - own)
        return s

    def selection_value(self, truth: Rows, pred: dict[str, np.ndarray]) -> float:
        if "landmarks" in self.targets:
            return L.nme(pred["landmarks"], truth.Y["landmarks"])
        t = next(iter(self.targets))
        return mse(pred[t], truth.Y[t])

    def row_stat(self, metric: str, truth: Rows, pred: dict[str, np.ndarray]):
        if metric.startswith("nme"):
            pts = L.NONRIGID if metric == "nme_nonrigid" else None
            return (L.row_nme(pred["landmarks"], truth.Y["landmarks"], pts),), np.mean
        t = metric.removesuffix("_mse")
        return (np.mean((np.asarray(pred[t], np.float64) - truth.Y[t]) ** 2, axis=1),), np.mean

    def baselines(self, train: Rows, test: Rows, ref: Predictor, seed: int = 0) -> dict:
        """train_mean is the training rows' mean exactly as the target scaler holds it (zero in
        the standardised space, so its cosine is 0, not rounding noise)."""
        n = len(test)
        nn_idx = nearest_rows(train, test, ref, self.inputs)
        return {
            "train_mean": {t: np.repeat(ref.target_scalers[t].mean[None].astype(np.float32), n,
                                        axis=0) for t in self.targets},
            "mirror": {t: test.extra[f"mirror/{t}"] for t in self.targets},
            "nearest_neighbour": {t: train.Y[t][nn_idx] for t in self.targets},
            **({"own_reference": {"landmarks": test.extra[REF]}} if REF in test.extra else {}),
        }


    def figure_rows(self, n: int) -> np.ndarray:
        return spread_rows(n, self.figure_pairs)

    def figures(self, out_dir: Path, results: list[FoldResult], best: str) -> None:
        if "landmarks" not in self.targets or not self.figure_pairs:
            return
        true = np.concatenate([r.test.Y["landmarks"] for r in results])
        pred = np.concatenate([r.pred[best]["landmarks"] for r in results])
        ids = np.concatenate([r.test.ids for r in results])     # the figure_rows rows
        overlay_grid(out_dir / "landmarks_test_pairs.png", true, pred, list(ids))


def overlay_grid(path: Path, true: np.ndarray, pred: np.ndarray, titles: list[str]) -> None:
    """PNG grid: each pair's true (black) and predicted (red) response landmarks overlaid."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t, p = L.as_points(true), L.as_points(pred)
    cols = min(4, len(t))
    rows = int(np.ceil(len(t) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.8 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    for ax, ti, pi, title in zip(axes.ravel(), t, p, titles):
        for shape, colour, label in ((ti, "black", "true"), (pi, "tab:red", "predicted")):
            for k, (a, b, closed) in enumerate(L.PARTS):
                seg = shape[a:b]
                if closed:
                    seg = np.vstack([seg, seg[:1]])
                ax.plot(seg[:, 0], seg[:, 1], color=colour, lw=1,
                        label=label if k == 0 else None)
        ax.set_aspect("equal")
        ax.invert_yaxis()
        ax.set_title("\n".join(textwrap.wrap(title, 24)), fontsize=6)
    axes.ravel()[0].legend(fontsize=6, loc="lower left")
    fig.suptitle("response landmarks: true vs predicted (aligned frame, test pairs)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90, metadata={"Software": None})
    plt.close(fig)


TASK = ResponseTask
