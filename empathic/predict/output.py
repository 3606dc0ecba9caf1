"""The output folder as one set: segments.csv and the PNGs / MP4s it names, replaced together.

A run writes its set into a fresh temporary folder beside ``--out`` and only then puts it in
place of the old folder (`atomic.replace_together`: the swap runs with SIGINT / SIGTERM held,
and a journal lets the next start finish a swap that SIGKILL cut short). So an interrupted run
leaves the old set or the new one, never new PNGs beside an old segments.csv.
"""
from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Iterator

from ..atomic import recover, replace_together
from ..errors import EmpathicError

OURS = re.compile(r"segments\.csv|segment_\d{3,}\.png|reaction_\d{3,}\.(png|mp4)")


def prepare(out: Path, log=print) -> None:
    """Finish or clear what an interrupted earlier run left beside `out`, and check that `out`
    holds nothing but predict's outputs (the folder is replaced whole)."""
    for line in recover([out]):
        log(f"predict: {line} (left by an interrupted run)")
    if not out.exists():
        return
    if not out.is_dir():
        raise EmpathicError(f"--out {out} is a file; give a folder")
    other = sorted(p.name for p in out.iterdir() if not OURS.fullmatch(p.name))
    if other:
        raise EmpathicError(f"--out {out} holds files predict did not write ({', '.join(other[:3])}"
                            f"{', ...' if len(other) > 3 else ''}); predict replaces the folder "
                            f"whole: give a new or empty folder")


@contextlib.contextmanager
def output_set(out: Path) -> Iterator[Path]:
    """Yield an empty temporary folder; on success it replaces `out` (old set or new set)."""
    with replace_together([out]) as (tmp,):
        tmp.mkdir()
        yield tmp
