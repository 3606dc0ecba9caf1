"""Ordered parallel map over items with a progress bar (processes; one worker = in-process).

Workers get a per-process initializer (to load a model once) and results come back in input
order, so outputs are deterministic whatever `workers` is.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import sys
from typing import Callable, Sequence, TypeVar

from tqdm import tqdm

T = TypeVar("T")
R = TypeVar("R")


def pmap(fn: Callable[[T], R], items: Sequence[T], workers: int, desc: str = "",
         progress: bool = True, initializer: Callable | None = None, initargs: tuple = (),
         chunksize: int = 1, unit: str = "it") -> list[R]:
    """Map `fn` over `items` on `workers` processes, keeping input order.

    `fn` and `initializer` must be picklable module-level functions. With workers <= 1 (or a
    single item) everything runs in this process, which keeps tracebacks simple.
    """
    items = list(items)
    bar = dict(total=len(items), desc=desc, unit=unit, disable=not progress, mininterval=1.0,
               dynamic_ncols=True)
    if workers <= 1 or len(items) <= 1:
        if initializer:
            initializer(*initargs)
        return [fn(x) for x in tqdm(items, **bar)]
    ctx = mp.get_context("forkserver" if os.name == "posix" else "spawn")
    with ctx.Pool(min(workers, len(items)), initializer=initializer, initargs=initargs) as pool:
        return list(tqdm(pool.imap(fn, items, chunksize=chunksize), **bar))


def limit_threads(n: int = 1) -> None:
    """Keep each worker process to `n` BLAS/torch threads so workers don't oversubscribe cores."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    torch = sys.modules.get("torch")     # only if this process uses it: importing costs seconds
    if torch is not None:
        torch.set_num_threads(n)
