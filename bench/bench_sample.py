"""Benchmark: generate the sample corpus at the params.yaml size; print wall time and sizes.

    python bench/bench_sample.py [--workers N] [--params params.yaml]

Writes to a temporary folder (not data/). The budget is 90 s on 2 cores at the default size.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from empathic.config import params as P  # noqa: E402
from empathic.corpora.sample import generate  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--params", default="params.yaml")
    a = ap.parse_args()
    cfg = P.get(P.load(a.params), "sample")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        s = generate(Path(tmp) / "IEMOCAP_full_release", cfg, workers=a.workers, progress=False)
        wall = time.perf_counter() - t0
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"sample corpus: {s['sessions']} sessions, {s['dialogues']} dialogues, "
          f"{s['utterances']} utterances, {s['audio_seconds']} s speech, "
          f"{s['video_seconds']} s video ({s['frames']} frames)")
    print(f"wall {wall:.1f} s with {a.workers} workers on {os.cpu_count()} cores "
          f"(load average {load:.1f}; {s['frames'] / wall:.0f} frames/s)")
    print(f"cpu {s['cpu_seconds']:.1f} s in the dialogue jobs: about "
          f"{s['cpu_seconds'] / 2:.0f} s of wall time on 2 idle cores, plus worker start-up")


if __name__ == "__main__":
    main()
