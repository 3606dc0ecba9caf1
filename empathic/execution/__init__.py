"""One executor seam for every parallel loop: a local process pool or a Dask cluster.

    from empathic.execution import from_params
    with from_params(prm, "features", paths={"data.root": root}) as ex:
        out = ex.map(fn, items, desc="face", unit="video", initializer=init, initargs=(cfg,))

``map(fn, items, *, desc, unit, progress, initializer, initargs, chunksize, resources)`` returns
``[fn(x) for x in items]`` in input order, whatever runs it and in whatever order tasks finish,
so the caller (the client) writes every output itself and files are byte-identical for any
executor and worker count. ``imap(..., window=None)`` yields the same results one by one as
they complete, in input order, with at most ``window`` batches (default 2 x workers) submitted
and not yet yielded: a caller that writes each result as it comes (stages.extract) holds at
most ``window * chunksize`` of them, whatever the corpus size.

- ``fn``, ``initializer``: picklable module-level functions (Dask pickles them by reference, so
  every worker must import the same repository code); ``items``, ``initargs`` and results:
  picklable values (arrays, dataclasses, bytes).
- ``initializer(*initargs)`` runs once per worker process before its first item (to load a
  model once: dlib, MiniLM), and again only when the same initializer comes with other args.
- ``chunksize``: items per task (batches of utterances): the pool's imap chunks, or the items
  one Dask task runs; never changes the results.
- ``resources``: Dask resources each task needs, e.g. ``{"GPU": 1}`` (workers announce theirs
  with ``dask worker --resources GPU=1``, local-cluster workers with ``dask.resources``);
  ``ex.resources_for(device)`` gives ``{"GPU": 1}`` for ``cuda`` on Dask, else None. The pool
  ignores them. Training maps its (fold, seed) units this way (``training.executor``) and writes
  the checkpoint bytes and curves the units return.

Params: ``<section>.executor`` (``features`` or ``tasks``): ``processes`` (the default; a pool
of ``<section>.workers`` processes, 0 = all cores, 1 = in this process) or ``dask``; the
top-level ``dask`` section, shared: ``address`` (null: start a local cluster of processes on
this machine; ``tcp://host:8786``: a running scheduler), ``n_workers`` (local cluster; 0 =
``<section>.workers``), ``timeout_s`` (to reach the scheduler), ``retries`` (a task whose worker
died or that raised is run again), ``resources`` (what each local-cluster worker announces).

On Dask (``empathic/execution/dask_cluster.py``): one thread per worker (workers hold one model each);
before mapping, every worker and the scheduler (which unpickles task graphs) are checked to run
this repository's code, and every worker to see each path in ``paths`` (an error names the
path, the param and the worker); the progress bar follows
completed tasks; the dashboard link is printed; a worker killed mid-task is survived (the
scheduler reruns its tasks elsewhere, ``retries`` times for a task that raised); an object that
every (tuple) item holds, the very same one (a task, a feature table), is sent to each worker
once instead of once per task.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
from collections import deque
from typing import Callable


from ..config import params as P
from .base import Executor, _bar, batches, run_batch

KINDS = ("processes", "dask")
SECTIONS = ("features", "training")


def from_params(prm: dict, section: str, *, paths: dict | None = None) -> "Executor":
    """`<section>.executor` (features / training) and the shared `dask` section.

    paths: {param name: path} every Dask worker must see (e.g. {"data.root": root}).
    """
    if section not in SECTIONS:
        raise ValueError(f"section must be one of {SECTIONS}, not {section!r}")
    from ..config.check import check
    own = {k: v for k, v in (P.get(prm, section, {}) or {}).items() if k in ("executor", "workers")}
    check({section: own, **({"dask": prm["dask"]} if "dask" in prm else {})}, P.PARAMS_FILE)
    kind = P.get(prm, f"{section}.executor", "processes")   # the schema's choices and ranges
    workers = P.workers(prm, f"{section}.workers")
    if kind == "processes":
        return ProcessExecutor(workers)
    d = P.section(prm, "dask")
    from .dask_cluster import DaskExecutor
    return DaskExecutor(address=d.address, n_workers=d.n_workers or workers,
                        timeout_s=float(d.timeout_s), retries=d.retries,
                        resources={str(k): v for k, v in d.resources.items()},
                        paths=dict(paths or {}))


def limit_threads(n: int = 1) -> None:
    """Keep a worker process to `n` BLAS/torch threads so workers don't oversubscribe cores."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    torch = sys.modules.get("torch")     # only if this process uses it: importing costs seconds
    if torch is not None:
        torch.set_num_threads(n)


class ProcessExecutor(Executor):
    """A local pool (forkserver) of `workers` processes; 1 (or one item) runs in this process."""

    kind = "processes"

    def __init__(self, workers: int = 1):
        self.workers = max(int(workers), 1)

    def imap(self, fn, items, *, desc="", unit="it", progress=True, initializer=None,
             initargs=(), chunksize=1, resources=None, window=None):
        items = list(items)
        with _bar(len(items), desc, unit, progress) as bar:
            if self.workers <= 1 or len(items) <= 1:
                if initializer:
                    initializer(*initargs)
                for x in items:
                    r = fn(x)
                    bar.update(1)
                    yield r
                return
            todo = iter(batches(items, chunksize))
            ctx = mp.get_context("forkserver" if os.name == "posix" else "spawn")
            with ctx.Pool(min(self.workers, len(items)), initializer=_pool_worker_init,
                          initargs=(initializer, initargs)) as pool:
                pending: deque = deque()

                def submit() -> None:
                    batch = next(todo, None)
                    if batch is not None:
                        pending.append(pool.apply_async(run_batch, (fn, batch)))
                for _ in range(self.in_flight(window)):
                    submit()
                while pending:
                    part = pending.popleft().get()       # the oldest batch: input order
                    submit()
                    for r in part:
                        bar.update(1)
                        yield r
                    del part
                # Let the workers exit on their own (leaving `with` terminates them): a worker
                # killed runs no exit handlers, so what it registered (tqdm's lock, a semaphore
                # only it unlinks; temporary folders) would be reported leaked or left behind.
                pool.close()
                pool.join()


def _pool_worker_init(initializer: Callable | None, initargs: tuple) -> None:
    """A pool worker leaves interruptions to the parent: Ctrl-C (SIGINT to the whole process
    group) is ignored here and the parent terminates the pool (SIGTERM: a quiet exit, no
    traceback); on Linux a worker also dies with the process that forked it, so a parent killed
    outright (SIGKILL) leaves no worker running on."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))   # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if initializer is not None:
        initializer(*initargs)
