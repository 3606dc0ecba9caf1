"""The executor interface every parallel loop uses (empathic.execution opens one from params).

`Executor.imap` yields ``fn(x)`` for each item in input order, as the units of work complete,
with at most `window` batches (of `chunksize` items) submitted and not yet yielded: the caller
holds at most ``window * chunksize`` results however long the input. `Executor.map` is
``list(imap(...))``. The local pool (empathic.execution.ProcessExecutor) and the Dask cluster
(empathic.execution.dask_cluster.DaskExecutor) implement `imap`.
"""
from __future__ import annotations

from typing import Callable, Iterator, Sequence

from tqdm import tqdm


class Executor:
    """Ordered map over items; a context manager (a Dask executor holds a client)."""

    kind = ""
    workers = 1

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        pass

    def map(self, fn: Callable, items: Sequence, *, desc: str = "", unit: str = "it",
            progress: bool = True, initializer: Callable | None = None, initargs: tuple = (),
            chunksize: int = 1, resources: dict | None = None) -> list:
        return list(self.imap(fn, items, desc=desc, unit=unit, progress=progress,
                              initializer=initializer, initargs=initargs, chunksize=chunksize,
                              resources=resources))

    def imap(self, fn: Callable, items: Sequence, *, desc: str = "", unit: str = "it",
             progress: bool = True, initializer: Callable | None = None, initargs: tuple = (),
             chunksize: int = 1, resources: dict | None = None,
             window: int | None = None) -> Iterator:
        """fn(x) for x in items, in input order; `window` batches in flight (default
        2 x workers). Close the iterator (or exhaust it) to stop the work."""
        raise NotImplementedError

    def in_flight(self, window: int | None) -> int:
        """Batches in flight: `window`, default two per worker (one running, one queued)."""
        return max(int(window or 2 * self.workers), 1)

    def resources_for(self, device: str) -> dict | None:
        """Dask resources a training unit on `device` asks for (None: any worker)."""
        return None


def batches(items: list, chunksize: int) -> list[list]:
    k = max(int(chunksize), 1)
    return [items[i:i + k] for i in range(0, len(items), k)]


def run_batch(fn: Callable, batch: list) -> list:
    """One unit of work on a pool worker: fn over a batch of items."""
    return [fn(x) for x in batch]


def _bar(n: int, desc: str, unit: str, progress: bool) -> tqdm:
    return tqdm(total=n, desc=desc, unit=unit, disable=not progress, mininterval=1.0,
                dynamic_ncols=True)
