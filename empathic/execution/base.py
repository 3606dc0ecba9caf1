"""The executor interface every parallel loop uses (empathic.execution opens one from params).

`Executor.map` returns ``[fn(x) for x in items]`` in input order; the local pool
(empathic.execution.ProcessExecutor) and the Dask cluster (empathic.execution.dask_cluster.DaskExecutor)
implement it.
"""
from __future__ import annotations

from typing import Callable, Sequence

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
        raise NotImplementedError

    def resources_for(self, device: str) -> dict | None:
        """Dask resources a training unit on `device` asks for (None: any worker)."""
        return None


def _bar(n: int, desc: str, unit: str, progress: bool) -> tqdm:
    return tqdm(total=n, desc=desc, unit=unit, disable=not progress, mininterval=1.0,
                dynamic_ncols=True)
