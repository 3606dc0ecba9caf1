"""CPU milliseconds per processed frame of the face pass, by phase (one process, in-process).

    python bench/face_phases.py                              # data.root's sample, 1 dialogue
    python bench/face_phases.py --root DIR --dialogs 2       # another corpus root
    python bench/face_phases.py --profile                    # also cProfile's top functions
    python bench/face_phases.py --set detect_every=6         # another features.face setting:
                                                             # its cost and how far its landmarks
                                                             # move from the params' own

Runs the worker function (face.process_video) on every video of the first `--dialogs`
dialogues with `features.face` of params.yaml (model loading excluded) and times, in CPU
seconds (time.process_time: a shared machine's load does not count), each step through wrappers
around the extractor's building blocks:

- detect: FaceTracker.detect (the dlib HOG detector and its scale search, resizes included);
- landmarks: the dlib 68-point shape predictor calls;
- track: the rest of FaceTracker.step (points to numpy, the box for the next frame);
- chip: dlib.get_face_chip; hog: the HOG of the chip (face._hog);
- decode+loop: the rest of process_video (decoding every source frame up to the last one
  needed, the luma planes and crops, the per-frame bookkeeping).

A processed frame is one frame of one utterance at features.face.fps (with `listener: true`
two faces are tracked on it: the speaker's and the listener's). Prints ms per processed frame
and each phase's share, and how many source frames were decoded. With `--set key=value`
(features.face keys, repeatable) the params' run is followed by the changed one, and the change
is measured: processed frames with a face in each, and on the frames with a face in both the
distance of the 68 points from the params' own (mean over the points, in inter-ocular
distances: median and 95th percentile), for the speaker and the listener.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from empathic.config import params as P  # noqa: E402
from empathic.extractors import face  # noqa: E402
from empathic.extractors import facegeom as G  # noqa: E402

PHASES = ("decode+loop", "detect", "landmarks", "track", "chip", "hog")


def jobs_of(root: Path, dialogs: int, listener: bool) -> list[tuple[str, list[face.Span]]]:
    """(video path, spans) of the first `dialogs` dialogues of a sample corpus."""
    truth = pd.read_csv(root / "sample_truth.csv")
    truth["video_side"] = truth["side"].map({"L": "left", "R": "right"})
    keep = list(dict.fromkeys(truth["dialog"]))[:dialogs]
    utts = truth[truth["dialog"].isin(keep)].reset_index(drop=True)
    jobs: dict[str, list[face.Span]] = {}
    for i, (v, side, a, b) in enumerate(zip(utts["video"], utts["video_side"], utts["start"],
                                            utts["end"])):
        other = face.LISTENER_SIDE.get(side) if listener else None
        jobs.setdefault(str(root / v), []).append(face.Span(i, side, float(a), float(b), other))
    return list(jobs.items())


class Clock:
    """CPU seconds per named step; `wrap` times a callable under a name."""

    def __init__(self):
        self.cpu = defaultdict(float)
        self.calls = defaultdict(int)

    def wrap(self, name: str, fn):
        def timed(*a, **kw):
            c = time.process_time()
            try:
                return fn(*a, **kw)
            finally:
                self.cpu[name] += time.process_time() - c
                self.calls[name] += 1
        return timed


def run(jobs, cfg: face.FaceConfig, profile: bool) -> tuple[Clock, int, int, list]:
    """Every job through process_video with the steps timed; (clock, processed, decoded,
    the SpanOuts)."""
    import dlib
    face._init_worker(cfg)
    clock = Clock()
    face._W["predictor"] = clock.wrap("landmarks", face._W["predictor"])
    patches = [(G.FaceTracker, "detect"), (G.FaceTracker, "step"),
               (dlib, "get_face_chip"), (face, "_hog")]
    names = {"detect": "detect", "step": "step", "get_face_chip": "chip", "_hog": "hog"}
    saved = [(obj, n, getattr(obj, n)) for obj, n in patches]
    for obj, n, fn in saved:
        setattr(obj, n, clock.wrap(names[n], fn))
    prof = cProfile.Profile() if profile else None
    processed, outs = 0, []
    try:
        c = time.process_time()
        if prof:
            prof.enable()
        for job in jobs:
            outs += face.process_video(job)
            processed += sum(o.n_frames for o in outs[-len(job[1]):])
        if prof:
            prof.disable()
        clock.cpu["total"] = time.process_time() - c
    finally:
        for obj, n, fn in saved:
            setattr(obj, n, fn)
    if prof:
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)
    return clock, processed, decoded_frames(jobs, cfg), outs


def decoded_frames(jobs, cfg: face.FaceConfig) -> int:
    """Source frames up to the last one any span needs (what decoding from the start reads)."""
    import av
    n = 0
    for path, spans in jobs:
        with av.open(path) as c:
            vfps = float(c.streams.video[0].average_rate)
        n += 1 + max(int(face.frame_indices(s.start, s.end, cfg.fps, vfps)[-1]) for s in spans)
    return n


def report(clock: Clock, proc: int, dec: int, njobs: int, root: Path, cfg) -> None:
    cpu = clock.cpu
    inner = cpu["chip"] + cpu["hog"] + cpu["step"]
    phases = {"decode+loop": cpu["total"] - inner, "detect": cpu["detect"],
              "landmarks": cpu["landmarks"], "track": cpu["step"] - cpu["detect"] -
              cpu["landmarks"], "chip": cpu["chip"], "hog": cpu["hog"]}
    print(f"{root}: {njobs} video(s), {dec} source frames decoded, {proc} processed at "
          f"{cfg.fps:g} fps (listener {cfg.listener}); {clock.calls['detect']} detections, "
          f"{clock.calls['landmarks']} landmark fits")
    print(f"  {'phase':<12s} {'ms/frame':>8s} {'share':>6s}")
    for k in PHASES:
        print(f"  {k:<12s} {phases[k] / proc * 1e3:8.3f} {phases[k] / cpu['total']:6.1%}")
    print(f"  {'total':<12s} {cpu['total'] / proc * 1e3:8.3f}   CPU ms per processed frame "
          f"({cpu['total']:.2f} s)")


def moved(base: list, other: list, proc: int) -> None:
    """How far the changed params' points are from the params' own (see the module doc)."""
    for who in ("speaker", "listener"):
        if who == "listener" and any(o.listener is None for o in base + other):
            print("  listener: not tracked in one of the two runs")
            continue
        found = [0, 0]
        dist = []
        for a, b in zip(base, other):
            pa, pb = (a.points, b.points) if who == "speaker" else (a.listener, b.listener)
            if pa is None or pb is None:
                continue
            ka = {round(float(t), 4): p for t, p in zip(a.times, pa) if np.isfinite(p).all()}
            kb = {round(float(t), 4): p for t, p in zip(b.times, pb) if np.isfinite(p).all()}
            found[0], found[1] = found[0] + len(ka), found[1] + len(kb)
            for t in ka.keys() & kb.keys():
                iod = np.linalg.norm(ka[t][G.EYE_R].mean(0) - ka[t][G.EYE_L].mean(0))
                dist.append(np.linalg.norm(ka[t] - kb[t], axis=1).mean() / iod)
        q = np.percentile(dist, [50, 95]) if dist else [np.nan, np.nan]
        print(f"  {who}: face in {found[0] / proc:.1%} -> {found[1] / proc:.1%} of processed "
              f"frames; points moved by {q[0]:.4f} (median), {q[1]:.4f} (95th pct) IOD")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, help="a sample corpus root (default: data.root)")
    ap.add_argument("--dialogs", type=int, default=1, help="dialogues to process (default 1)")
    ap.add_argument("--profile", action="store_true", help="also print cProfile's top 15")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a changed features.face setting (repeatable)")
    a = ap.parse_args()
    prm = P.load(Path(__file__).resolve().parents[1] / "params.yaml")
    root = a.root or Path(P.get(prm, "data.root"))
    section = dict(P.get(prm, "features.face"))
    cfg = face.FaceConfig.from_params(section)
    jobs = jobs_of(root, a.dialogs, cfg.listener)
    clock, proc, dec, outs = run(jobs, cfg, a.profile)
    report(clock, proc, dec, len(jobs), root, cfg)
    if a.set:
        changed = {**section, **{k: yaml.safe_load(v) for k, v in
                                 (kv.split("=", 1) for kv in a.set)}}
        print(f"changed: {', '.join(a.set)}")
        ccfg = face.FaceConfig.from_params(changed)
        if ccfg.listener != cfg.listener:
            jobs = jobs_of(root, a.dialogs, ccfg.listener)
        clock, proc, dec, other = run(jobs, ccfg, a.profile)
        report(clock, proc, dec, len(jobs), root, ccfg)
        moved(outs, other, proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
