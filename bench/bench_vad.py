"""Benchmark of voice activity detection in predict: the Silero VAD network against the energy
rule, scored against the true turn times of the sample corpus.

    python bench/bench_vad.py [--root data/sample/IEMOCAP_full_release] [--tolerance 0.2]

Without --root (or when it does not exist) a small sample corpus is generated into a temporary
folder with the params.yaml `sample` section (3 sessions x 2 dialogues x 12 turns). Each
dialogue's audio is its `dialog/wav/<dialog>.wav` mixed to mono when the corpus has one, else
its utterance wavs added at their true start times. Two references:

- turns: every utterance's [start, end] (the EmoEvaluation times). Overlapping turns and turns
  that follow within a short pause cannot be told apart by any voice activity detector, so
  recall against turns has a ceiling below 1;
- speech regions: the turns merged where they overlap or are less than --min-gap apart (what a
  perfect detector with that min-gap would find).

A detected segment matches a reference segment when both its start and its end are within
--tolerance seconds (one-to-one, greedy in time order); precision = matched / detected, recall =
matched / reference. Frame F1 is the speech / non-speech agreement on 10 ms frames. Printed per
method, with the detector's speed in seconds of audio per second.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[1] / ".numba_cache"))

import numpy as np  # noqa: E402

from empathic.config import params as P  # noqa: E402
from empathic.corpora.iemocap import read_iemocap  # noqa: E402
from empathic.extractors.audio import load_audio  # noqa: E402
from empathic.predict.segments import VadConfig, detect_speech  # noqa: E402

SR = 16000


def corpus(root: str | None, tmp: Path) -> Path:
    if root and Path(root).is_dir():
        return Path(root)
    from empathic.corpora.sample import generate
    cfg = dict(P.load()["sample"])
    cfg.update(sessions=3, dialogs_per_session=2, turns_per_dialog=12)
    out = tmp / "IEMOCAP_full_release"
    print(f"generating a sample corpus (3 sessions x 2 dialogues x 12 turns) in {out} ...")
    generate(out, cfg, workers=os.cpu_count() or 1, progress=False)
    return out


def dialogue_audio(root: Path, rows) -> np.ndarray:
    dialog = rows.iloc[0]["dialog"]
    session = rows.iloc[0]["wav"].split("/")[0]
    wav = root / session / "dialog" / "wav" / f"{dialog}.wav"
    if wav.is_file():
        return load_audio(wav, SR).astype(np.float32)
    n = int((rows["end"].max() + 1.0) * SR)
    x = np.zeros(n, np.float32)
    for _, u in rows.iterrows():
        y = load_audio(root / u["wav"], SR).astype(np.float32)
        a = int(round(u["start"] * SR))
        y = y[:max(0, n - a)]
        x[a:a + len(y)] += y
    return np.clip(x, -1, 1)


def merge(spans: list[tuple[float, float]], min_gap: float) -> list[tuple[float, float]]:
    out: list[list[float]] = []
    for a, b in sorted(spans):
        if out and a - out[-1][1] < min_gap:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def match(det, ref, tol: float) -> int:
    used, hits = set(), 0
    for a, b in det:
        for j, (c, d) in enumerate(ref):
            if j not in used and abs(a - c) <= tol and abs(b - d) <= tol:
                used.add(j)
                hits += 1
                break
    return hits


def frames(spans, n: int) -> np.ndarray:
    m = np.zeros(n, bool)
    for a, b in spans:
        m[int(a * 100):int(np.ceil(b * 100))] = True
    return m


def prf(tp: float, n_det: float, n_ref: float) -> tuple[float, float, float]:
    p = tp / n_det if n_det else 0.0
    r = tp / n_ref if n_ref else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default="data/sample/IEMOCAP_full_release")
    ap.add_argument("--tolerance", type=float, default=0.2)
    ap.add_argument("--min-gap", type=float, default=VadConfig.min_gap)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = corpus(a.root, Path(tmp))
        utts = read_iemocap(root)
        dialogs = [(d, g.sort_values("start")) for d, g in utts.groupby("dialog", sort=True)]
        audio = {d: dialogue_audio(root, g) for d, g in dialogs}
    total_s = sum(len(x) for x in audio.values()) / SR
    overlap = sum(int((g["start"].to_numpy()[1:] < g["end"].cummax().to_numpy()[:-1]).sum())
                  for _, g in dialogs)
    print(f"{len(dialogs)} dialogues, {len(utts)} turns ({overlap} start before the previous "
          f"ends), {total_s:.0f} s of audio; tolerance {a.tolerance} s, min-gap {a.min_gap} s\n")
    print(f"{'method':8} {'reference':15} {'ref':>5} {'det':>5} {'P':>6} {'R':>6} {'F1':>6} "
          f"{'frame F1':>9} {'x real time':>12}")
    for method in ("silero", "energy"):
        cfg = VadConfig(method=method, min_gap=a.min_gap)
        detect_speech(np.zeros(SR, np.float32), SR, cfg)           # load the model once
        t0 = time.perf_counter()
        det = {d: [(s.start, s.end) for s in detect_speech(audio[d], SR, cfg)] for d, _ in dialogs}
        speed = total_s / (time.perf_counter() - t0)
        for ref_name in ("turns", "speech regions"):
            tp = n_det = n_ref = 0
            fr_tp = fr_det = fr_ref = 0
            for d, g in dialogs:
                turns = list(zip(g["start"], g["end"]))
                ref = turns if ref_name == "turns" else merge(turns, a.min_gap)
                tp += match(det[d], ref, a.tolerance)
                n_det, n_ref = n_det + len(det[d]), n_ref + len(ref)
                n = len(audio[d]) // 160 + 1
                fd, fref = frames(det[d], n), frames(ref, n)
                fr_tp, fr_det, fr_ref = fr_tp + (fd & fref).sum(), fr_det + fd.sum(), fr_ref + fref.sum()
            p, r, f = prf(tp, n_det, n_ref)
            ff = prf(fr_tp, fr_det, fr_ref)[2]
            print(f"{method:8} {ref_name:15} {n_ref:5d} {n_det:5d} {p:6.3f} {r:6.3f} {f:6.3f} "
                  f"{ff:9.3f} {speed:11.0f}x")


if __name__ == "__main__":
    main()
