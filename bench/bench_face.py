"""Benchmark of the face extractor (extract@face) on a sample dialogue video.

    python bench/bench_face.py                    # sample corpus of data.root, else a tiny one
    python bench/bench_face.py --root DIR --dialogs 2 --workers 2

Prints throughput in SOURCE frames per second (video time inside the utterance spans x the
video's frame rate; subsampling to features.face.fps counts every source frame), the split per
step (decode, detect, landmarks, descriptor) from an instrumented in-process run, a comparison
of the two trackers, the wall clock on `--workers` processes, and an estimate for the full
IEMOCAP (~1.3 M source frames). CPU seconds are printed beside wall seconds: on a shared machine
wall time is pessimistic, CPU time is what the extractor costs.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from empathic import params as P  # noqa: E402
from empathic.extractors import face  # noqa: E402

IEMOCAP_SOURCE_FRAMES = 1.3e6


def sample_utterances(root: Path | None, dialogs: int) -> tuple[Path, pd.DataFrame]:
    """Utterances of the first `dialogs` dialogues of a sample corpus (generated if needed)."""
    if root is None:
        try:
            root = Path(P.get(P.load(), "data.root"))
        except Exception:  # noqa: BLE001 - no params here: generate below
            root = None
    if root is None or not (root / "sample_truth.csv").is_file():
        from empathic.corpora.sample import generate
        root = Path(tempfile.mkdtemp(prefix="bench_face_")) / "IEMOCAP_full_release"
        print(f"generating a small sample corpus in {root} ...", flush=True)
        small = {"sessions": 3, "dialogs_per_session": 1, "turns_per_dialog": 12}
        generate(root, {**P.get(P.load(), "sample"), **small}, workers=2)
    truth = pd.read_csv(root / "sample_truth.csv")
    truth["video_side"] = truth["side"].map({"L": "left", "R": "right"})
    keep = list(dict.fromkeys(truth["dialog"]))[:dialogs]
    return root, truth[truth["dialog"].isin(keep)].reset_index(drop=True)


def source_frames(root: Path, utts: pd.DataFrame) -> float:
    """Frames of the source videos inside the utterance spans (at each video's own rate)."""
    import av
    total = 0.0
    for video, part in utts.groupby("video"):
        with av.open(str(root / video)) as c:
            fps = float(c.streams.video[0].average_rate)
        total += float(((part["end"] - part["start"]) * fps).sum())
    return total


class Timers:
    """Wall and CPU seconds per step, through wrappers around the extractor's building blocks."""

    def __init__(self):
        self.wall = defaultdict(float)
        self.cpu = defaultdict(float)

    def wrap(self, name: str, fn):
        def timed(*a, **kw):
            w, c = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **kw)
            finally:
                self.wall[name] += time.perf_counter() - w
                self.cpu[name] += time.process_time() - c
        return timed


def instrumented_run(root: Path, utts: pd.DataFrame, section: dict) -> Timers:
    """One in-process run with every step timed (worker start-up excluded: step "video" is the
    time inside the per-video worker function, "assemble" the main-side assembly)."""
    import dlib
    t = Timers()
    predictor = dlib.shape_predictor
    patches = [
        (face, "process_video", t.wrap("video", face.process_video)),
        (face.FaceTracker, "detect", t.wrap("detect", face.FaceTracker.detect)),
        (dlib, "shape_predictor", lambda path: t.wrap("landmarks", predictor(path))),
        (dlib, "get_face_chip", t.wrap("descriptor", dlib.get_face_chip)),
        (face, "_hog", t.wrap("descriptor", face._hog)),
        (face.FaceExtractor, "_assemble", t.wrap("assemble", face.FaceExtractor._assemble)),
    ]
    saved = [(obj, name, getattr(obj, name)) for obj, name, _ in patches]
    for obj, name, new in patches:
        setattr(obj, name, new)
    try:
        face.FaceExtractor(section, root=root, workers=1, progress=False).extract(utts)
    finally:
        for obj, name, old in saved:
            setattr(obj, name, old)
    return t


def decode_only(root: Path, utts: pd.DataFrame) -> tuple[float, float, int]:
    """Decode every video to its last needed frame, as the extractor does; (wall, cpu, frames)."""
    import av
    w, c, n = time.perf_counter(), time.process_time(), 0
    for video, g in utts.groupby("video", sort=True):
        last = int(g["end"].max() * 30) + 1
        with av.open(str(root / video)) as cont:
            stream = cont.streams.video[0]
            stream.codec_context.thread_count = 1
            for i, frame in enumerate(cont.decode(stream)):
                face._luma(frame)
                n += 1
                if i >= last:
                    break
    return time.perf_counter() - w, time.process_time() - c, n


def parallel_run(root: Path, utts: pd.DataFrame, section: dict, workers: int) -> tuple[float, float]:
    """Wall seconds of the extractor on `workers` processes, and of starting such a pool alone
    (forkserver, imports, dlib models), which a full corpus pays once."""
    from empathic.parallel import pmap
    cfg = face.FaceConfig.from_params(section)
    w = time.perf_counter()
    pmap(len, [[0]] * workers, workers, progress=False, initializer=face._init_worker,
         initargs=(cfg, str(face.predictor_path())))
    start_up = time.perf_counter() - w
    w = time.perf_counter()
    face.FaceExtractor(section, root=root, workers=workers, progress=False).extract(utts)
    return time.perf_counter() - w, start_up


def report(label: str, src: float, seconds: float, note: str) -> None:
    print(f"  {label:<34s} {seconds:7.2f} s  {src / seconds:8.1f} source frames/s  ({note})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, help="a sample corpus root (with sample_truth.csv)")
    ap.add_argument("--dialogs", type=int, default=1, help="dialogues to process (default 1)")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    section = dict(P.get(P.load(Path(__file__).resolve().parents[1] / "params.yaml"),
                         "features.face"))
    root, utts = sample_utterances(a.root, a.dialogs)
    src = source_frames(root, utts)
    cfg = face.FaceConfig.from_params(section)
    secs = float((utts["end"] - utts["start"]).sum())
    print(f"{len(utts)} utterances in {utts['video'].nunique()} video(s), {src:.0f} source frames "
          f"({secs:.1f} s), processed at {cfg.fps:g} fps; params {section}")

    dw, dc, dn = decode_only(root, utts)
    print(f"decode only: {dn} frames, {dw / dn * 1e3:.2f} ms/frame wall, {dc / dn * 1e3:.2f} "
          f"ms/frame cpu")
    per_core = {}
    for track in ("landmarks", "correlation"):
        t = instrumented_run(root, utts, {**section, "track": track})
        inner = ("detect", "landmarks", "descriptor")
        steps = {"decode+rest": {k: d["video"] - sum(d[s] for s in inner) for k, d in
                                 (("cpu", t.cpu), ("wall", t.wall))}}
        steps.update({s: {"cpu": t.cpu[s], "wall": t.wall[s]} for s in (*inner, "assemble")})
        cpu, wall = (t.cpu["video"] + t.cpu["assemble"]), (t.wall["video"] + t.wall["assemble"])
        print(f"track={track}: one process, start-up excluded")
        report("wall", src, wall, "shared machine")
        report("cpu", src, cpu, "CPU time")
        for k, v in steps.items():
            print(f"    {k:<12s} {v['cpu']:6.2f} s cpu  {v['cpu'] / cpu:5.1%}  "
                  f"({v['wall']:6.2f} s wall)")
        per_core[track] = src / cpu
    wall, start_up = parallel_run(root, utts, section, a.workers)
    steady = max(wall - start_up, 1e-9)
    print(f"track={cfg.track}: {a.workers} worker processes")
    report("wall incl. worker start-up", src, wall, f"start-up alone {start_up:.1f} s")
    report("wall minus start-up", src, steady, "shared machine")
    best = per_core[cfg.track] * a.workers
    print(f"CPU-time throughput x {a.workers} cores: {best:.0f} source frames/s "
          f"(target >= 150 on 2 cores)")
    print(f"full IEMOCAP (~{IEMOCAP_SOURCE_FRAMES / 1e6:.1f} M source frames) on {a.workers} "
          f"cores: {IEMOCAP_SOURCE_FRAMES / best / 3600:.2f} h at the CPU-time rate, "
          f"{IEMOCAP_SOURCE_FRAMES / (src / steady) / 3600:.2f} h at the wall rate measured here")
    return 0


if __name__ == "__main__":
    sys.exit(main())
