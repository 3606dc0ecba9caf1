"""Compatibility layer: `pmap` is the local process pool of :mod:`empathic.executor`.

New code takes an :class:`empathic.executor.Executor` (`empathic.executor.from_params`) instead, so it can also run
on a Dask cluster.
"""
from __future__ import annotations

from typing import Callable, Sequence

from .executor import ProcessExecutor, limit_threads

__all__ = ["pmap", "limit_threads"]


def pmap(fn: Callable, items: Sequence, workers: int, desc: str = "", progress: bool = True,
         initializer: Callable | None = None, initargs: tuple = (), chunksize: int = 1,
         unit: str = "it") -> list:
    """Map `fn` over `items` on `workers` processes, keeping input order (1: in this process)."""
    return ProcessExecutor(workers).map(fn, items, desc=desc, unit=unit, progress=progress,
                                        initializer=initializer, initargs=initargs,
                                        chunksize=chunksize)
