"""Stage sample: generate a built-in sample corpus in a real corpus layout.

    python -m stages.sample            # writes <sample.out>/IEMOCAP_full_release
    python -m stages.sample kemdy19    # writes <sample.out>/KEMDy19
    python -m stages.sample kemdy20    # writes <sample.out>/KEMDy20

Reads params `sample.*` (sizes, seed, frame size; see empathic.corpora.sample.generate; the
KEMDy layouts read `sample.kemdy.*` and `sample.seed`) and `features.workers` (processes; never
changes the output). The folder is built beside the target and renamed into place, so an
interrupted run leaves the old corpus (or nothing).
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from empathic import cli
from empathic.config import params as P
from empathic.atomic import atomic_path
from empathic.corpora.sample import generate
from empathic.corpora.sample.kemdy import generate_kemdy, kemdy_config
from empathic.corpora import RELEASE_FOLDERS

FOLDERS = RELEASE_FOLDERS


FILE_TIME_NS = 946_684_800 * 10**9       # 2000-01-01 UTC: every generated file's mtime


def fixed_times(root: Path) -> None:
    """Give every generated file one fixed modification time: the media manifests of `pairs`
    record size and mtime, so the same params then give the same manifests (and dvc.lock) on
    every machine and clone, not the time the sample happened to be written."""
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink():
            os.utime(p, ns=(FILE_TIME_NS, FILE_TIME_NS))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m stages.sample", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("layout", nargs="?", default="iemocap", choices=sorted(FOLDERS),
                    help="corpus layout to generate (default: iemocap)")
    ap.add_argument("--workers", type=cli.count, default=None,
                    help="processes (default: params features.workers; 0 = all cores)")
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)

    prm = P.load()
    s = P.section(prm, "sample")          # every key and range checked once, by the schema
    if a.layout != "iemocap":
        kcfg = kemdy_config(a.layout, s.seed, s.kemdy)
    out = Path(s.out) / FOLDERS[a.layout]
    workers = P.cores(a.workers) if a.workers is not None else P.workers(prm)
    t0 = time.perf_counter()
    with atomic_path(out) as tmp:
        if a.layout == "iemocap":
            summary = generate(tmp, s, workers=workers, progress=not a.no_progress)
            extra = f", {summary['video_seconds']} s video ({summary['frames']} frames)"
        else:
            summary = generate_kemdy(tmp, kcfg, workers=workers, progress=not a.no_progress)
            extra = f"; quirks: {'; '.join(summary['quirks']) or 'none'}"
        fixed_times(tmp)
    print(f"sample {a.layout}: {summary['sessions']} sessions, {summary['dialogues']} "
          f"dialogues, {summary['utterances']} utterances, {summary['audio_seconds']} s speech"
          f"{extra} -> {out} in "
          f"{time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    cli.run(main)
