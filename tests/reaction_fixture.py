"""A small corpus with frame-level faces of both actors and a learnable listener reaction.

Dialogues alternate F and M turns (3 s, 0.3 s apart). Each turn the speaker's face moves (mouth
with a speech envelope that is also the audio's loudness, brows and mouth corners with the turn's
display); the listener, filmed on the other half the whole time, mirrors the speaker's display
0.5 s later at half strength and nods with the speaker's loudness peaks; the reply starts from
where the listener's face was. Written in the face extractor's layout: landmarks.h5 frames (the
extractor's 143 columns), `points_norm` and `times`, and the listener's `listener_frames` /
`listener_points_norm`; audio.h5 frames at 100 Hz (25 columns); text.h5 pooled vectors.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from empathic import store
from empathic.atomic import write_csv, write_json
from empathic.extractors.facegeom import CANONICAL
from empathic.folds import make_folds
from empathic.tables import UTTERANCE_COLUMNS

MEAS = ["mouth_open", "mouth_width", "mouth_corner", "brow_height", "eye_open", "head_roll",
        "face_size"]
FRAME_NAMES = [f"{a}{p:02d}" for p in range(68) for a in "xy"] + MEAS
FPS, TURN_S, GAP_S = 10, 3.0, 0.3


def _face(rng, meas: np.ndarray) -> np.ndarray:
    """(T, 68, 2) aligned points moved by the measures (mouth opening, corners, brows)."""
    pts = np.repeat(CANONICAL[None], len(meas), axis=0).copy()
    pts[:, 48:68, 1] += meas[:, [0]] * np.linspace(-0.5, 0.5, 20)[None]
    pts[:, [48, 54], 1] -= meas[:, [2]]
    pts[:, 17:27, 1] -= meas[:, [3]]
    return pts + rng.normal(scale=0.003, size=pts.shape)


def generate(sessions: int = 4, dialogs: int = 2, turns: int = 12, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    rows, lm, lis, au, tx = [], [], [], [], []
    t = np.arange(int(TURN_S * FPS)) / FPS
    ta = np.arange(int(TURN_S * 100)) / 100
    for s in range(sessions):
        sess = f"Ses{s + 1:02d}"
        for d in range(dialogs):
            dialog = f"{sess}F_impro{d:02d}"
            listener_state = np.zeros(len(MEAS))
            for k in range(turns):
                g = "FM"[k % 2]
                start = k * (TURN_S + GAP_S)
                display = rng.normal(size=3) * np.array([0.06, 0.05, 0.05])
                env = np.clip(np.sin(np.pi * (ta * rng.uniform(1.5, 3.0)
                                              + rng.uniform())), 0, None)
                env_f = np.interp(t, ta, env)
                own = np.zeros((len(t), len(MEAS)))
                own[:, 0] = 0.25 * env_f + listener_state[0] * np.exp(-t)
                own[:, 2] = display[1] + listener_state[2] * np.exp(-t)
                own[:, 3] = display[2] + listener_state[3] * np.exp(-t)
                own[:, 6] = 1.0
                own += rng.normal(scale=0.01, size=own.shape)
                lag = int(0.5 * FPS)
                mirror = np.zeros_like(own)
                mirror[lag:, 2:4] = 0.5 * own[:-lag, 2:4]
                mirror[:, 3] += 0.04 * (env_f > 0.8)                    # brow flashes on peaks
                mirror[:, 6] = 1.0
                mirror += rng.normal(scale=0.01, size=mirror.shape)
                listener_state = mirror[-1]
                utt = f"{dialog}_{g}{k:03d}"
                rows.append({"utt_id": utt, "corpus": "synthetic", "session": sess,
                             "dialog": dialog, "speaker": f"{sess}_{g}", "gender": g,
                             "start": start, "end": start + TURN_S, "text": "x", "emotion": "neu",
                             "valence": 3.0, "arousal": 3.0, "dominance": 3.0, "wav": "",
                             "video": "", "video_side": "left" if g == "F" else "right"})
                lm.append((np.c_[_face(rng, own).reshape(len(t), -1), own], _face(rng, own)))
                lis.append((np.c_[_face(rng, mirror).reshape(len(t), -1), mirror],
                            _face(rng, mirror)))
                audio = rng.normal(scale=0.1, size=(len(ta), 25))
                audio[:, 0] = env
                au.append(audio)
                tx.append(np.r_[display, rng.normal(size=5)])
    utts = pd.DataFrame(rows)[UTTERANCE_COLUMNS]
    p = utts.iloc[:-1].reset_index(drop=True)
    q = utts.iloc[1:].reset_index(drop=True)
    same = (p["dialog"].to_numpy() == q["dialog"].to_numpy()) & (p["gender"] == "F").to_numpy()
    pairs = pd.DataFrame({"pair_id": [f"{a}_p" for a in p["utt_id"][same]],
                          "session": p["session"][same].to_numpy(),
                          "dialog": p["dialog"][same].to_numpy(),
                          "prompt_id": p["utt_id"][same].to_numpy(),
                          "response_id": q["utt_id"][same].to_numpy(),
                          "prompt_speaker": p["speaker"][same].to_numpy(),
                          "response_speaker": q["speaker"][same].to_numpy(), "gap": GAP_S})
    return {"utts": utts, "pairs": pairs, "lm": lm, "lis": lis, "audio": au, "text": tx,
            "folds": make_folds(sorted(set(utts["session"])), "loso-session", 1)}


def write(c: dict, root: str | Path, listener: bool = True) -> None:
    root = Path(root)
    ids = c["utts"]["utt_id"].to_numpy()
    ok = np.ones(len(ids), bool)
    write_csv(root / "data/pairs/utterances.csv", c["utts"])
    write_csv(root / "data/pairs/pairs.csv", c["pairs"])
    write_json(root / "data/pairs/folds.json", c["folds"])
    times = [(np.arange(len(f)) / FPS).reshape(-1, 1) for f, _ in c["lm"]]
    extra = {"points_norm": [p for _, p in c["lm"]], "times": times}
    if listener:
        extra.update(listener_frames=[f for f, _ in c["lis"]],
                     listener_points_norm=[p for _, p in c["lis"]])
    feats = {
        "landmarks": store.Features("landmarks", ids, ok, np.stack([f.mean(0) for f, _ in c["lm"]]),
                                    [f"mean_{x}" for x in FRAME_NAMES], [f for f, _ in c["lm"]],
                                    FRAME_NAMES, extra, {"frame_rate": float(FPS)}),
        "audio": store.Features("audio", ids, ok, np.stack([a.mean(0) for a in c["audio"]]),
                                [f"a{i}" for i in range(25)], c["audio"],
                                [f"lld{i}" for i in range(25)], {}, {"frame_rate": 100}),
        "text": store.Features("text", ids, ok, np.stack(c["text"]),
                               [f"t{i}" for i in range(8)]),
    }
    for m, f in feats.items():
        store.write(root / f"features/{m}.h5", f)
        write_csv(root / f"features/{m}.failures.csv", pd.DataFrame({"utt_id": [], "reason": []}))
