"""Atomic outputs: write to a temporary sibling, then rename over the target.

An interrupted stage leaves the old file (or nothing), never a half-written one. A full disk
(ENOSPC, a quota: EDQUOT, a file-size limit: EFBIG) while an output is written is one
`DiskFull` error naming the output and the free space; the temporary is removed and the old
output stays.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from .errors import EmpathicError

NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


class DiskFull(EmpathicError):
    """No room to write an output (disk full, quota or file-size limit)."""


def _mib(n: int) -> str:
    return f"{n / 2 ** 20:.1f} MiB"


def disk_full(targets, err: OSError, need: int | None = None,
              at_least: bool = False) -> DiskFull:
    """The one-line error for `err` (an OSError in NO_ROOM) while writing `targets` (a path or
    a list of paths written together); `need` bytes (`at_least`: a lower bound)."""
    targets = [Path(t) for t in (targets if isinstance(targets, (list, tuple)) else [targets])]
    target = ", ".join(map(str, targets))
    folder = next((p for p in targets[0].parents if p.is_dir()), Path("."))
    try:
        free = f"{_mib(shutil.disk_usage(folder).free)} free in {folder}"
    except OSError:
        free = f"free space in {folder} unknown"
    what = os.strerror(err.errno) if err.errno else str(err)
    needed = f"{'at least ' if at_least else ''}{_mib(need)} needed, " if need else ""
    return DiskFull(f"cannot write {target}: {what} ({needed}{free}); the previous output is "
                    "kept: free some space and rerun")


@contextlib.contextmanager
def room_for(targets, need: int | None = None, at_least: bool = False) -> Iterator[None]:
    """Turn a full disk inside the block into DiskFull naming `targets` (and `need` bytes)."""
    try:
        yield
    except OSError as e:
        if e.errno in NO_ROOM:
            raise disk_full(targets, e, need, at_least) from None
        raise


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success rename it to `target`.

    Works for files and directories. On error the temporary path is removed.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    os.unlink(tmp)
    tmp = Path(tmp)
    try:
        with room_for(target):
            yield tmp
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink()


def write_text(target: str | os.PathLike, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(target: str | os.PathLike, obj, indent: int = 2) -> None:
    write_text(target, json.dumps(obj, indent=indent, sort_keys=False, allow_nan=False) + "\n")


def write_csv(target: str | os.PathLike, df) -> None:
    """Write a pandas DataFrame as CSV atomically (no index, '\\n' line ends)."""
    with atomic_path(target) as tmp:
        df.to_csv(tmp, index=False, lineterminator="\n")


# -- several outputs replaced together -------------------------------------------------------
JOURNAL_SUFFIX = ".replace-journal"


def _tmp_beside(target: Path) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    os.unlink(tmp)
    return Path(tmp)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _journal_path(targets: list[Path]) -> Path:
    return targets[0].parent / f".{targets[0].name}{JOURNAL_SUFFIX}"


@contextlib.contextmanager
def _signals_held():
    """SIGINT / SIGTERM wait (are delivered afterwards) while the renames run."""
    import signal
    held = {signal.SIGINT, signal.SIGTERM}
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (AttributeError, ValueError):       # no sigmask here, or not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


@contextlib.contextmanager
def replace_together(targets) -> Iterator[list[Path]]:
    """Yield a temporary path beside each target; on success all targets are replaced.

    Either every target keeps its old content or every one has the new content: the temporary
    files are written first; a journal naming them is then written (the commit point) and the
    renames run with SIGINT/SIGTERM held; the journal goes last. A process killed (SIGKILL)
    between two renames leaves the journal, and `recover` (run by the next start) finishes the
    renames. On an error or interruption before the commit point the temporaries are removed
    and the targets are untouched. Files or directories.
    """
    targets = [Path(t) for t in targets]
    if not targets or len({t.resolve() for t in targets}) != len(targets):
        raise ValueError("replace_together needs distinct targets")
    for t in targets:
        t.parent.mkdir(parents=True, exist_ok=True)
    tmps = [_tmp_beside(t) for t in targets]
    journal = _journal_path(targets)
    try:
        with room_for(targets):
            yield tmps
        missing = [str(t) for t in tmps if not t.exists()]
        if missing:
            raise FileNotFoundError(f"replace_together: nothing written to {missing}")
        entries = [[os.path.relpath(t, journal.parent), os.path.relpath(g, journal.parent)]
                   for t, g in zip(tmps, targets)]
        with _signals_held():
            write_text(journal, json.dumps(entries) + "\n")
            for tmp, target in zip(tmps, targets):
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                os.replace(tmp, target)
            journal.unlink()
    finally:
        for tmp in tmps:
            _remove(tmp)


def recover(targets) -> list[str]:
    """Finish a replace that a killed process left half done, then remove stale temporaries.

    For these targets: a journal left by `replace_together` is rolled forward (its remaining
    renames run: the new outputs were complete when it was written); temporary siblings of
    earlier crashes (``.<name>.*.tmp``, at any nesting) are removed. Returns what was done, one
    line per action (empty when nothing was left over).
    """
    targets = [Path(t) for t in targets]
    done = []
    names = {t.name for t in targets}
    for folder in sorted({t.parent for t in targets}):
        if not folder.is_dir():
            continue
        for journal in sorted(folder.glob(f".*{JOURNAL_SUFFIX}")):
            try:
                entries = json.loads(journal.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                entries = None                  # torn journal: its renames never started
            if entries is not None and not any(Path(g).name in names for _, g in entries):
                continue
            for tmp, target in entries or []:
                tmp, target = folder / tmp, folder / target
                if tmp.exists():
                    if target.is_dir() and not target.is_symlink():
                        shutil.rmtree(target)
                    os.replace(tmp, target)
                    done.append(f"completed the interrupted replace of {target}")
            journal.unlink()
        for p in sorted(folder.iterdir()):
            if p.name.startswith(".") and p.name.endswith(".tmp") and any(
                    f"{n}." in p.name for n in names):
                _remove(p)
                done.append(f"removed stale temporary {p}")
    return done
