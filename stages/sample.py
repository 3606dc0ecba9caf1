"""Stage sample: generate the built-in sample corpus in the real IEMOCAP layout.

    python -m stages.sample            # writes <sample.out>/IEMOCAP_full_release

Reads params `sample.*` (sizes, seed, frame size; see empathic.corpora.sample.generate) and
`features.workers` (processes; never changes the output). The folder is built beside the target
and renamed into place, so an interrupted run leaves the old corpus (or nothing).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from empathic import cli, params as P
from empathic.atomic import atomic_path
from empathic.corpora.sample import generate, validate
from empathic.errors import ParamError


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m stages.sample", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=None,
                    help="processes (default: params features.workers; 0 = all cores)")
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)

    prm = P.load()
    cfg = P.get(prm, "sample")
    if not isinstance(cfg, dict):
        raise ParamError("param 'sample' must be a mapping")
    validate(cfg)
    out = Path(str(P.get(prm, "sample.out"))) / "IEMOCAP_full_release"
    workers = P.workers({"w": a.workers}, "w") if a.workers is not None else P.workers(prm)
    t0 = time.perf_counter()
    with atomic_path(out) as tmp:
        s = generate(tmp, cfg, workers=workers, progress=not a.no_progress)
    print(f"sample: {s['sessions']} sessions, {s['dialogues']} dialogues, {s['utterances']} "
          f"utterances, {s['audio_seconds']} s speech, {s['video_seconds']} s video "
          f"({s['frames']} frames) -> {out} in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    cli.run(main)
