"""Entry-point helper: every stage turns EmpathicError into one line and exit status 2.

An interruption (Ctrl-C, or SIGTERM from `kill`, DVC or a scheduler) also ends the stage with
one line: SIGTERM is turned into KeyboardInterrupt in this process, so `with` blocks unwind
(worker pools are terminated, temporary files removed, outputs left as they were) and the
exit status is 128 + the signal number (130 for SIGINT, 143 for SIGTERM).

A full disk (or quota, or file-size limit) is one line too: outputs written through
empathic.atomic say which output and how much space is free (DiskFull, an EmpathicError); any
other write that meets one names the file the OSError names.
"""
from __future__ import annotations

import signal
import sys
from typing import Callable

from .errors import EmpathicError


def count(text: str) -> int:
    """argparse type of a command-line count: a whole number >= 0."""
    import argparse
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, not {text!r}")
    return n


class Interrupted(KeyboardInterrupt):
    """SIGTERM (or another terminating signal) arrived."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise(signum, _frame):
    signal.signal(signum, signal.SIG_IGN)      # a second signal must not interrupt the cleanup
    raise Interrupted(signum)


def run(main: Callable[[], int | None]) -> None:
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _raise)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _raise)
    try:
        rc = main()
    except EmpathicError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except OSError as e:
        from .atomic import NO_ROOM, disk_full
        if e.errno not in NO_ROOM:
            raise
        print(f"error: {disk_full(e.filename or 'an output', e)}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt as e:
        signum = e.signum if isinstance(e, Interrupted) else signal.SIGINT
        print(f"interrupted ({signal.Signals(signum).name}): stopped; no output was "
              "half-written", file=sys.stderr)
        sys.exit(128 + signum)
    sys.exit(rc or 0)
