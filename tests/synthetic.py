"""Synthetic pairs tables and feature files with a learnable empathic link (tests, benches).

Every utterance has a latent state z (8-d). A prompt's z is random; the response's z is a fixed
nonlinear map of it plus noise, so the prompt's features predict the response's. Each
modality's pooled vector is a fixed random projection of z plus a speaker offset and noise;
landmarks are the extractor's canonical 68-point face (facegeom.CANONICAL: the aligned frame,
unit inter-ocular distance) deformed along z, with pooled columns lm_mean_{x,y}NN,
lm_std_{x,y}NN and a few extras (280 in all), named as the face extractor names them. Emotion labels
and valence/arousal/dominance also follow z, for the classification tasks.

    corpus = generate(n_pairs=10_000, sessions=5)
    write(corpus, root)      # root/data/pairs/{utterances,pairs}.csv, folds.json; root/features/*.h5
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from empathic import store
from empathic.atomic import write_csv, write_json
from empathic.extractors.facegeom import CANONICAL
from empathic.folds import make_folds
from empathic.tables import UTTERANCE_COLUMNS

DIMS = {"text": 384, "audio": 168, "video": 1024, "landmarks": 280}
LATENT = 8
EMOTIONS = ("neu", "hap", "sad", "ang")
PAIRS_PER_DIALOG = 20


@dataclass
class Corpus:
    utterances: pd.DataFrame
    pairs: pd.DataFrame
    folds: dict
    features: dict[str, store.Features]


def _landmark_names() -> list[str]:
    names = [f"lm_mean_{a}{p:02d}" for a in "xy" for p in range(68)]
    names += [f"lm_std_{a}{p:02d}" for a in "xy" for p in range(68)]
    return names + [f"lm_extra_{i:02d}" for i in range(DIMS["landmarks"] - len(names))]


def generate(n_pairs: int = 1000, sessions: int = 4, dims: dict[str, int] | None = None,
             seed: int = 0, noise: float = 0.5, fail: float = 0.0) -> Corpus:
    """A corpus of `n_pairs` F->M pairs over `sessions` sessions (2 speakers each).

    `fail`: share of utterances whose features fail, per modality (ok=False, NaN vectors).
    """
    dims = {**DIMS, **(dims or {})}
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(LATENT, LATENT)) / np.sqrt(LATENT)   # the empathic link
    n_utt = 2 * n_pairs
    sess_of_pair = np.arange(n_pairs) * sessions // n_pairs
    k = np.arange(n_pairs) - np.searchsorted(sess_of_pair, sess_of_pair)   # index within session
    dialog = k // PAIRS_PER_DIALOG
    snames = [f"Ses{s + 1:02d}" for s in sess_of_pair]
    dnames = [f"{s}_d{d:02d}" for s, d in zip(snames, dialog)]
    z_a = rng.normal(size=(n_pairs, LATENT))
    z_b = 1.5 * np.tanh(z_a @ mix) + 0.4 * rng.normal(size=(n_pairs, LATENT))
    z = np.empty((n_utt, LATENT))
    z[0::2], z[1::2] = z_a, z_b
    speaker = np.tile(["F", "M"], n_pairs)
    sess = np.repeat(snames, 2)
    spk_index = np.repeat(sess_of_pair, 2) * 2 + (speaker == "M")
    ids = np.array([f"{d}_{g}{i:03d}" for d, kk in zip(dnames, k)
                    for g, i in (("F", 2 * (kk % PAIRS_PER_DIALOG)),
                                 ("M", 2 * (kk % PAIRS_PER_DIALOG) + 1))], dtype=object)
    start = np.tile([0.0, 2.5], n_pairs) + np.repeat((k % PAIRS_PER_DIALOG) * 5.0, 2)
    emotion = np.array(EMOTIONS)[np.argmax(z[:, :4], axis=1)]
    vad = np.clip(3 + z[:, 4:7], 1, 5).round(1)
    utts = pd.DataFrame({
        "utt_id": ids, "corpus": "synthetic", "session": sess, "dialog": np.repeat(dnames, 2),
        "speaker": [f"{s}_{g}" for s, g in zip(sess, speaker)], "gender": speaker,
        "start": start, "end": start + 2.0, "text": "synthetic utterance", "emotion": emotion,
        "valence": vad[:, 0], "arousal": vad[:, 1], "dominance": vad[:, 2],
        "wav": "", "video": "", "video_side": ""})[UTTERANCE_COLUMNS]
    pairs = pd.DataFrame({
        "pair_id": [f"{d}_p{kk % PAIRS_PER_DIALOG:03d}" for d, kk in zip(dnames, k)],
        "session": snames, "dialog": dnames, "prompt_id": ids[0::2], "response_id": ids[1::2],
        "prompt_speaker": utts["speaker"].to_numpy()[0::2],
        "response_speaker": utts["speaker"].to_numpy()[1::2], "gap": 0.5})
    feats = {}
    for m, d in dims.items():
        if m == "landmarks":
            basis = rng.normal(size=(LATENT, 136)) * 0.012
            spk = rng.normal(size=(2 * sessions, 136)) * 0.02
            pts = CANONICAL.reshape(1, 68, 2) + (z @ basis + spk[spk_index]).reshape(-1, 68, 2)
            pts += rng.normal(size=pts.shape) * 0.01 * noise
            std = np.abs(rng.normal(size=(n_utt, 136))) * 0.01
            extra = rng.normal(size=(n_utt, d - 272))
            x = np.concatenate([pts[:, :, 0], pts[:, :, 1], std, extra], axis=1)
            names = _landmark_names()
        else:
            w = rng.normal(size=(LATENT, d)) / np.sqrt(LATENT)
            spk = rng.normal(size=(2 * sessions, d)) * 0.3
            x = z @ w + spk[spk_index] + noise * rng.normal(size=(n_utt, d))
            names = [f"{m}_{i:04d}" for i in range(d)]
        x = x.astype(np.float32)
        ok = rng.random(n_utt) >= fail
        x[~ok] = np.nan
        feats[m] = store.Features(m, ids, ok, x, names, attrs={"extractor": "synthetic",
                                                               "extractor_version": "1"})
    folds = make_folds(snames, "loso-session", 1)
    return Corpus(utts, pairs, folds, feats)


def write(corpus: Corpus, root: str | Path) -> None:
    """root/data/pairs/{utterances.csv,pairs.csv,folds.json} and root/features/<modality>.h5."""
    root = Path(root)
    write_csv(root / "data/pairs/utterances.csv", corpus.utterances)
    write_csv(root / "data/pairs/pairs.csv", corpus.pairs)
    write_json(root / "data/pairs/folds.json", corpus.folds)
    for m, f in corpus.features.items():
        store.write(root / f"features/{m}.h5", f)
        failed = pd.DataFrame({"utt_id": f.ids[~f.ok], "reason": "synthetic failure"})
        write_csv(root / f"features/{m}.failures.csv", failed)
