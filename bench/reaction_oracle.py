"""Listener-reaction headroom on the sample (used by bench/sample_difficulty.py).

For each pair (prompt by A, response by B) the target is B's face while A speaks (the listening
window, at features.face.fps): three measures as displacement from B's own median face over all
of B's listening frames, in units of B's outer inter-ocular distance: mouth-corner lift, brow
raise, mouth opening. B's face is found by the face extractor's own code on B's half of the
frame (one more face pass over the prompts' spans). Predictors, leave-one-session-out:

- still: B's reference face (zero displacement);
- train_mean_sequence: the mean training target at each time from the prompt's start;
- mime: A's own measures over the prompt (displacement from A's median face), as REACT's mime;
- oracle: knows the generator's truth of A's display (sample_display.csv `display`, A's
  portrayed emotion): ridge regression of the target on A's true display curve at lags 0-2 s
  x one-hot emotion, fitted on the training sessions.

Scores: per-frame MSE (pooled over test frames; lower is better) and CCC per measure.
"""
from __future__ import annotations

import multiprocessing as mp

import numpy as np
import pandas as pd

LAGS_S = (0.0, 0.3, 0.6, 0.9, 1.2, 1.6, 2.0)
EMOS = ("neu", "hap", "exc", "sad", "ang", "fru")
MEASURES = ("corner_lift", "brow_raise", "mouth_open")


def measures(points: np.ndarray) -> np.ndarray:
    """(T, 68, 2) points -> (T, 3): corner lift, brow raise, mouth opening (per outer IOD)."""
    iod = np.linalg.norm(points[:, 36] - points[:, 45], axis=1)[:, None]
    eyes = points[:, 36:48, 1].mean(axis=1, keepdims=True)
    mouth_mid = points[:, [62, 66], 1].mean(axis=1, keepdims=True)
    lift = mouth_mid - points[:, [48, 54], 1].mean(axis=1, keepdims=True)
    brow = eyes - points[:, 17:27, 1].mean(axis=1, keepdims=True)
    opening = points[:, 66, 1:2] - points[:, 62, 1:2]
    return np.hstack([lift, brow, opening]) / iod


def _listener_faces(root, utt: pd.DataFrame, pairs: pd.DataFrame, face_section: dict,
                    workers: int) -> dict:
    from empathic.extractors import face as F
    cfg = F.FaceConfig.from_params(face_section)
    by_id = utt.set_index("utt_id")
    jobs: dict[str, list] = {}
    keys: dict[str, list] = {}
    for p in pairs.itertuples():
        a = by_id.loc[p.prompt_id]
        other = {"left": "right", "right": "left"}[a["video_side"]]
        jobs.setdefault(a["video"], []).append(F.Span(len(jobs.get(a["video"], [])), other,
                                                      float(a["start"]), float(a["end"])))
        keys.setdefault(a["video"], []).append(p.pair_id)
    videos = sorted(jobs)
    with mp.get_context("spawn").Pool(workers, F._init_worker, (cfg,)) as pool:
        outs = pool.map(F.process_video, [(str(root / v), jobs[v]) for v in videos])
    found = {}
    for v, res in zip(videos, outs):
        for k, o in zip(keys[v], res):
            found[k] = o
    return found


def _resample(times: np.ndarray, x: np.ndarray, grid: np.ndarray) -> np.ndarray:
    if len(times) < 2:
        return np.full((len(grid), x.shape[1]), np.nan)
    return np.stack([np.interp(grid, times, x[:, j], left=np.nan, right=np.nan)
                     for j in range(x.shape[1])], axis=1)


def ccc(a: np.ndarray, b: np.ndarray) -> float:
    ma, mb = a.mean(), b.mean()
    return float(2 * np.mean((a - ma) * (b - mb)) / (a.var() + b.var() + (ma - mb) ** 2 + 1e-12))


def headroom(root, utt, pairs, truth, landmarks, face_section: dict, workers: int) -> dict:
    """Print and return the listening-window scores of the predictors above."""
    fps = float(face_section["fps"])
    disp = pd.read_csv(root / "sample_display.csv", keep_default_na=False)
    disp = {k: g for k, g in disp.groupby(["dialog", "actor"])}
    faces = _listener_faces(root, utt, pairs, face_section, workers)
    by_id = utt.set_index("utt_id")
    row = {u: i for i, u in enumerate(landmarks.ids)}
    rows = []
    for p in pairs.itertuples():
        a, o = by_id.loc[p.prompt_id], faces[p.pair_id]
        if len(o.points) < 2:
            continue
        grid = np.arange(0, float(a["end"]) - float(a["start"]), 1 / fps)
        tgt = _resample(o.times.ravel().astype(float), measures(o.points.astype(float)), grid)
        i = row[p.prompt_id]
        pts = landmarks.extra["points"][i] if landmarks.ok[i] else np.zeros((0, 68, 2))
        mime = (_resample(landmarks.extra["times"][i].ravel().astype(float), measures(pts), grid)
                if len(pts) > 1 else np.full_like(tgt, np.nan))
        d = disp[(a["dialog"], a["gender"])]
        t = d["time"].to_numpy(float)
        curve = d["display"].to_numpy(float)
        emo = np.array(EMOS) == truth.loc[p.prompt_id, "emotion"]
        lagged = np.stack([np.interp(float(a["start"]) + grid - lag, t, curve)
                           for lag in LAGS_S], axis=1)
        x = (lagged[:, :, None] * emo[None, None]).reshape(len(grid), -1)
        rows.append(dict(pair=p.pair_id, session=p.session, listener=p.response_speaker,
                         dialog=a["dialog"], grid=grid, tgt=tgt, mime=mime, x=x))
    # reference faces: each listener's median over their listening frames (per dialogue actor)
    ref: dict = {}
    for r in rows:
        ref.setdefault((r["dialog"], r["listener"]), []).append(r["tgt"])
    ref = {k: np.nanmedian(np.vstack(v), axis=0) for k, v in ref.items()}
    for r in rows:
        r["tgt"] = r["tgt"] - ref[(r["dialog"], r["listener"])]
        r["mime"] = r["mime"] - np.nanmedian(r["mime"], axis=0)
    sess = np.array([r["session"] for r in rows])
    preds: dict[str, list] = {k: [] for k in ("still", "train_mean_sequence", "mime", "oracle")}
    truth_all = []
    for s in np.unique(sess):
        tr = [r for r in rows if r["session"] != s]
        te = [r for r in rows if r["session"] == s]
        n_max = max(len(r["grid"]) for r in rows)
        acc = np.zeros((n_max, 3))
        cnt = np.zeros((n_max, 3))
        for r in tr:
            ok = np.isfinite(r["tgt"])
            acc[:len(r["tgt"])] += np.where(ok, r["tgt"], 0)
            cnt[:len(r["tgt"])] += ok
        mean_seq = acc / np.maximum(cnt, 1)
        X = np.vstack([r["x"] for r in tr])
        Y = np.vstack([r["tgt"] for r in tr])
        ok = np.isfinite(Y).all(axis=1)
        X1 = np.hstack([X[ok], np.ones((ok.sum(), 1))])
        W = np.linalg.solve(X1.T @ X1 + 1e-2 * np.eye(X1.shape[1]), X1.T @ Y[ok])
        for r in te:
            n = len(r["tgt"])
            truth_all.append(r["tgt"])
            preds["still"].append(np.zeros((n, 3)))
            preds["train_mean_sequence"].append(mean_seq[:n])
            preds["mime"].append(np.nan_to_num(r["mime"]))
            preds["oracle"].append(np.hstack([r["x"], np.ones((n, 1))]) @ W)
    Y = np.vstack(truth_all)
    ok = np.isfinite(Y).all(axis=1)
    out = {}
    print(f"\nlistener reactions: {len(rows)} pairs with the listener's face, {ok.sum()} frames "
          f"at {fps:g} fps (target: {', '.join(MEASURES)}, displacement / IOD)")
    print("  predictor               MSE x1e4   CCC " + " / ".join(MEASURES))
    for k, v in preds.items():
        P = np.vstack(v)[ok]
        mse = float(np.mean((P - Y[ok]) ** 2))
        cc = [ccc(P[:, j], Y[ok, j]) for j in range(3)]
        out[k] = dict(mse=mse, ccc=cc)
        print(f"  {k:<22} {mse * 1e4:9.3f}   " + " / ".join(f"{c:+.3f}" for c in cc))
    best = min(("still", "train_mean_sequence", "mime"), key=lambda k: out[k]["mse"])
    gain = (out[best]["mse"] - out["oracle"]["mse"]) / out[best]["mse"]
    print(f"  oracle MSE {gain:.1%} below the best naive baseline ({best})")
    out["headroom"] = gain
    return out
