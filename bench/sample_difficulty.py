"""How hard is the sample corpus? Simple probes, leave-one-session-out, printed (not a test).

    python bench/sample_difficulty.py [--project .] [--features features] [--pairs data/pairs]

Needs the pipeline run up to extraction on the sample (stages sample, pairs, extract@text,
extract@audio, extract@face). Each fold's probe is fitted on the four other sessions and scored on
the held-out one (4 classes: neu, hap incl. exc, ang, sad; UA = mean per-class recall, pooled over
the test folds' predictions, and the mean and range over folds):

- each modality alone and all together: standardised pooled features (NaN rows imputed with the
  training mean), multinomial logistic regression with balanced class weights;
- the best single pooled column of any modality: nearest class mean in 1-D;
- utterance duration alone (1-D logistic regression);
- the share of distinct improvised sentences that also occur in another session;
- the label noise: consensus label != portrayed emotion (sample_truth.csv), and xxx share;
- response task: NME of the male response's utterance-averaged aligned landmarks (lm_mean_*),
  normalised per pair by the true shape's outer eye corners (points 36, 45), for train_mean and
  for an oracle that knows the prompt's portrayed emotion (mean training response per prompt
  emotion).

Aims (issue #10): each modality UA in [0.45, 0.75]; all >= best single + 0.05; best column
<= 0.55; duration <= 0.35; improvised sentences seen elsewhere <= 10 %; oracle NME >= 15 % below
train_mean.
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from empathic.config import params as P  # noqa: E402
from empathic.store import read_pooled  # noqa: E402

CLASSES = ["neu", "hap", "ang", "sad"]
MERGE = {"exc": "hap"}
MODALITIES = ["text", "audio", "video", "landmarks"]


def ua(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean([np.mean(p[y == c] == c) for c in np.unique(y)]))


def logreg_probe(X: np.ndarray, y: np.ndarray, sess: np.ndarray) -> tuple[float, list[float]]:
    from sklearn.linear_model import LogisticRegression
    pred = np.empty(len(y), dtype=object)
    per = []
    for s in np.unique(sess):
        tr, te = sess != s, sess == s
        mu = np.nanmean(X[tr], axis=0)
        mu = np.where(np.isfinite(mu), mu, 0)
        Xi = np.where(np.isfinite(X), X, mu)
        sd = Xi[tr].std(axis=0)
        sd[sd == 0] = 1
        Z = (Xi - Xi[tr].mean(axis=0)) / sd
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = LogisticRegression(max_iter=300, C=0.5, class_weight="balanced")
            m.fit(Z[tr], y[tr])
        pred[te] = m.predict(Z[te])
        per.append(ua(y[te], pred[te]))
    return ua(y, pred), per


def best_column(X: np.ndarray, names: list[str], y: np.ndarray, sess: np.ndarray):
    """UA of the 1-D nearest-class-mean rule on every column, pooled over folds; the best."""
    classes = np.unique(y)
    correct = np.zeros((len(classes), X.shape[1]))
    counts = np.array([np.sum(y == c) for c in classes])
    for s in np.unique(sess):
        tr, te = sess != s, sess == s
        mu = np.nanmean(X[tr], axis=0)
        Xi = np.where(np.isfinite(X), X, mu)
        means = np.stack([Xi[tr & (y == c)].mean(axis=0) for c in classes])   # (C, D)
        d = np.abs(Xi[te][:, None, :] - means[None])                           # (n, C, D)
        pred = d.argmin(axis=1)                                                # (n, D)
        yt = np.searchsorted(classes, y[te])
        for k in range(len(classes)):
            correct[k] += (pred[yt == k] == k).sum(axis=0)
    uas = (correct / counts[:, None]).mean(axis=0)
    j = int(np.nanargmax(uas))
    return float(uas[j]), names[j]


def nme(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    p, t = pred.reshape(len(pred), 2, 68), true.reshape(len(true), 2, 68)
    err = np.sqrt(((p - t) ** 2).sum(axis=1)).mean(axis=1)
    iod = np.sqrt(((t[:, :, 36] - t[:, :, 45]) ** 2).sum(axis=1))
    return err / iod


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--project", default=".", help="project folder (params.yaml, data/, features/)")
    ap.add_argument("--features", default="features")
    ap.add_argument("--pairs", default="data/pairs")
    a = ap.parse_args()
    proj = Path(a.project)
    prm = P.load(proj / "params.yaml")
    root = proj / str(P.get(prm, "data.root"))
    utt = pd.read_csv(proj / a.pairs / "utterances.csv", keep_default_na=False)
    truth = pd.read_csv(root / "sample_truth.csv", keep_default_na=False).set_index("utt_id")
    feats = {m: read_pooled(proj / a.features / f"{m}.h5") for m in MODALITIES}
    for m, f in feats.items():
        assert list(f.ids) == utt["utt_id"].tolist(), f"{m}.h5 ids differ from utterances.csv"
    lab = utt["emotion"].replace(MERGE)
    keep = lab.isin(CLASSES).to_numpy()
    y, sess = lab[keep].to_numpy(), utt["session"][keep].to_numpy()
    print(f"sample: {len(utt)} utterances, {keep.sum()} of the 4 classes; per test fold: "
          + ", ".join(f"{s} {n}" for s, n in pd.Series(sess).value_counts().sort_index().items()))
    print("class counts: " + ", ".join(f"{c} {int((y == c).sum())}" for c in CLASSES))

    print("\nprobe (logistic regression, LOSO)          UA pooled   per fold (min-max)")
    res = {}
    for m in MODALITIES + ["all"]:
        X = (np.hstack([feats[k].pooled[keep] for k in MODALITIES]) if m == "all"
             else feats[m].pooled[keep]).astype(np.float64)
        u, per = logreg_probe(X, y, sess)
        res[m] = u
        print(f"  {m:<40} {u:8.3f}   {min(per):.3f}-{max(per):.3f}")
    impro = (truth.loc[utt["utt_id"][keep], "kind"] == "impro").to_numpy()
    u, _ = logreg_probe(feats["text"].pooled[keep][impro].astype(np.float64), y[impro],
                        sess[impro])
    print(f"  {'text, improvised turns only':<40} {u:8.3f}")
    dur = (utt["end"].astype(float) - utt["start"].astype(float)).to_numpy()[keep, None]
    u_dur, _ = logreg_probe(dur, y, sess)
    print(f"  {'duration alone':<40} {u_dur:8.3f}")

    best = (0.0, "")
    for m in MODALITIES:
        X = feats[m].pooled[keep].astype(np.float64)
        best = max(best, best_column(X, [f"{m}:{n}" for n in feats[m].pooled_names], y, sess))
    print(f"\nbest single pooled column (nearest class mean): UA {best[0]:.3f} ({best[1]})")

    imp = truth[truth["kind"] == "impro"]
    sents = imp.groupby("session")["text"].apply(set)
    seen = [sum(any(t in sents[o] for o in sents.index if o != s) for t in sents[s])
            for s in sents.index]
    share = sum(seen) / sum(len(v) for v in sents)
    per_utt = np.mean([any(r.text in sents[o] for o in sents.index if o != r.session)
                       for r in imp.itertuples()])
    print(f"improvised sentences seen in another session: {share:.1%} of distinct sentences "
          f"({per_utt:.1%} of improvised turns)")
    noise = (truth["consensus"] != truth["emotion"]).mean()
    print(f"label noise: consensus != portrayed in {noise:.1%} of turns "
          f"(xxx {np.mean(truth['consensus'] == 'xxx'):.1%})")

    pairs = pd.read_csv(proj / a.pairs / "pairs.csv", keep_default_na=False)
    lm = feats["landmarks"]
    cols = [lm.pooled_names.index(f"lm_mean_x{i:02d}") for i in range(68)]
    cols += [lm.pooled_names.index(f"lm_mean_y{i:02d}") for i in range(68)]
    row = {u: i for i, u in enumerate(lm.ids)}
    R = np.stack([lm.pooled[row[r], cols] for r in pairs["response_id"]]).astype(np.float64)
    ok = np.isfinite(R).all(axis=1)
    pe = truth.loc[pairs["prompt_id"], "emotion"].to_numpy()
    ps = pairs["session"].to_numpy()
    e_mean, e_orc, per = [], [], []
    for s in np.unique(ps):
        tr, te = ok & (ps != s), ok & (ps == s)
        mean = R[tr].mean(axis=0)
        orc = np.stack([R[tr & (pe == e)].mean(axis=0) if (tr & (pe == e)).any() else mean
                        for e in pe[te]])
        e_mean += list(nme(np.repeat(mean[None], te.sum(), 0), R[te]))
        e_orc += list(nme(orc, R[te]))
        per.append(int(te.sum()))
    m0, m1 = float(np.mean(e_mean)), float(np.mean(e_orc))
    print(f"\nresponse pairs: {ok.sum()} with landmarks (per test fold {per})")
    print(f"  NME train_mean {m0:.4f}   prompt-emotion oracle {m1:.4f}   "
          f"({(m0 - m1) / m0:.1%} below train_mean)")
    aims = {"modalities in [0.45, 0.75]": all(0.45 <= res[m] <= 0.75 for m in MODALITIES),
            "all >= best single + 0.05": res["all"] >= max(res[m] for m in MODALITIES) + 0.05,
            "best column <= 0.55": best[0] <= 0.55, "duration <= 0.35": u_dur <= 0.35,
            "improvised seen elsewhere <= 10 %": share <= 0.10,
            "oracle >= 15 % below train_mean": (m0 - m1) / m0 >= 0.15}
    print("\naims: " + json.dumps({k: bool(v) for k, v in aims.items()}, indent=1))


if __name__ == "__main__":
    main()
