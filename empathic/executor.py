"""One executor seam for every parallel loop: a local process pool or a Dask cluster.

    from empathic.executor import Executor
    with Executor.from_params(prm, "features", paths={"data.root": root}) as ex:
        out = ex.map(fn, items, desc="face", unit="video", initializer=init, initargs=(cfg,))

``map(fn, items, *, desc, unit, progress, initializer, initargs, chunksize, resources)`` returns
``[fn(x) for x in items]`` in input order, whatever runs it and in whatever order tasks finish,
so the caller (the client) writes every output itself and files are byte-identical for any
executor and worker count.

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
  ignores them. Training maps ``train_unit`` over (fold, seed, model) units this way and writes
  the checkpoint bytes and curves the units return.

Params: ``<section>.executor`` (``features`` or ``tasks``): ``processes`` (the default; a pool
of ``<section>.workers`` processes, 0 = all cores, 1 = in this process) or ``dask``; the
top-level ``dask`` section, shared: ``address`` (null: start a local cluster of processes on
this machine; ``tcp://host:8786``: a running scheduler), ``n_workers`` (local cluster; 0 =
``<section>.workers``), ``timeout_s`` (to reach the scheduler), ``retries`` (a task whose worker
died or that raised is run again), ``resources`` (what each local-cluster worker announces).

On Dask: one thread per worker (workers hold one model each); before mapping, every worker is
checked to run this repository's code and to see each path in ``paths`` (an error names the
path, the param and the worker); the progress bar follows completed tasks; the dashboard link
is printed; a worker killed mid-task is survived (the scheduler reruns its tasks elsewhere).
"""
from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import pickle
import socket
import sys
import threading
from pathlib import Path
from typing import Callable, Sequence

from tqdm import tqdm

from . import params as P
from .errors import EmpathicError, ParamError

KINDS = ("processes", "dask")
SECTIONS = ("features", "tasks")


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

    @staticmethod
    def from_params(prm: dict, section: str, *, paths: dict | None = None) -> "Executor":
        """`<section>.executor` (features / tasks) and the shared `dask` section.

        paths: {param name: path} every Dask worker must see (e.g. {"data.root": root}).
        """
        if section not in SECTIONS:
            raise ValueError(f"section must be one of {SECTIONS}, not {section!r}")
        kind = P.choice(prm, f"{section}.executor", KINDS, "processes")
        workers = P.workers(prm, f"{section}.workers")
        if kind == "processes":
            return ProcessExecutor(workers)
        address = P.get(prm, "dask.address")
        if address is not None and (not isinstance(address, str) or not address.strip()):
            raise ParamError(f"param 'dask.address' is {address!r}; expected null (start a local "
                             "cluster) or a scheduler address such as tcp://host:8786")
        resources = P.get(prm, "dask.resources") or {}
        if not isinstance(resources, dict) or any(
                isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0
                for v in resources.values()):
            raise ParamError(f"param 'dask.resources' is {resources!r}; expected a mapping such as "
                             "{GPU: 1}")
        return DaskExecutor(
            address=address,
            n_workers=P.number(prm, "dask.n_workers", lo=0, integer=True) or workers,
            timeout_s=P.number(prm, "dask.timeout_s", lo=0.1, hi=600),
            retries=P.number(prm, "dask.retries", lo=0, hi=100, integer=True),
            resources={str(k): v for k, v in resources.items()}, paths=dict(paths or {}))


def limit_threads(n: int = 1) -> None:
    """Keep a worker process to `n` BLAS/torch threads so workers don't oversubscribe cores."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    torch = sys.modules.get("torch")     # only if this process uses it: importing costs seconds
    if torch is not None:
        torch.set_num_threads(n)


def _bar(n: int, desc: str, unit: str, progress: bool) -> tqdm:
    return tqdm(total=n, desc=desc, unit=unit, disable=not progress, mininterval=1.0,
                dynamic_ncols=True)


class ProcessExecutor(Executor):
    """A local pool (forkserver) of `workers` processes; 1 (or one item) runs in this process."""

    kind = "processes"

    def __init__(self, workers: int = 1):
        self.workers = max(int(workers), 1)

    def map(self, fn, items, *, desc="", unit="it", progress=True, initializer=None, initargs=(),
            chunksize=1, resources=None) -> list:
        items = list(items)
        bar = _bar(len(items), desc, unit, progress)
        with bar:
            if self.workers <= 1 or len(items) <= 1:
                if initializer:
                    initializer(*initargs)
                out = []
                for x in items:
                    out.append(fn(x))
                    bar.update(1)
                return out
            ctx = mp.get_context("forkserver" if os.name == "posix" else "spawn")
            with ctx.Pool(min(self.workers, len(items)), initializer=initializer,
                          initargs=initargs) as pool:
                out = []
                for r in pool.imap(fn, items, chunksize=max(int(chunksize), 1)):
                    out.append(r)
                    bar.update(1)
                return out


# ---------------------------------------------------------------------------------------------
# Worker side (Dask): an initializer cache per process, the batch runner and the probe.

_READY: dict[str, str] = {}          # initializer name -> token of the args it last ran with
_LOCK = threading.Lock()


class _Box:
    """An opaque holder: Dask must not look inside items for keys or task tuples."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def _run_batch(batch: _Box, job: _Box) -> list:
    fn, initializer, initargs, token = job.value
    if initializer is not None:
        name = f"{initializer.__module__}.{initializer.__qualname__}"
        with _LOCK:
            if _READY.get(name) != token:
                initializer(*initargs)
                _READY[name] = token
    return [fn(x) for x in batch.value]


def code_version() -> str:
    """A hash of this package's source files: client and workers must run the same code."""
    h = hashlib.sha256()
    base = Path(__file__).resolve().parent
    for f in sorted(base.rglob("*.py")):
        h.update(str(f.relative_to(base)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def _probe(paths: dict) -> dict:
    """What the client must know about a worker before it maps anything onto it."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "cwd": os.getcwd(),
            "code": code_version(), "missing": {k: str(v) for k, v in paths.items()
                                                if not Path(v).exists()}}


class DaskExecutor(Executor):
    """Tasks on a Dask cluster: a running scheduler (`address`) or a local cluster (None)."""

    kind = "dask"

    def __init__(self, address: str | None = None, n_workers: int = 2, timeout_s: float = 5,
                 retries: int = 2, resources: dict | None = None, paths: dict | None = None,
                 announce: bool = True):
        self.address, self.n_workers, self.timeout_s = address, max(int(n_workers), 1), timeout_s
        self.retries, self.resources, self.paths = retries, dict(resources or {}), dict(paths or {})
        self.announce = announce
        self.cluster = self.client = None

    def __enter__(self) -> "DaskExecutor":
        self.start()
        return self

    def start(self) -> None:
        if self.client is not None:
            return
        from distributed import Client, LocalCluster
        if self.address is None:
            self.cluster = LocalCluster(n_workers=self.n_workers, threads_per_worker=1,
                                        processes=True, dashboard_address=":0",
                                        resources=self.resources or None)
            self.client = Client(self.cluster)
            where = f"a local cluster of {self.n_workers} worker processes (dask.address: null)"
        else:
            try:
                self.client = Client(self.address, timeout=f"{self.timeout_s}s")
            except (OSError, TimeoutError) as e:
                raise EmpathicError(
                    f"cannot reach the Dask scheduler at dask.address={self.address!r} within "
                    f"{self.timeout_s:g} s (dask.timeout_s): {str(e).splitlines()[0] if str(e) else type(e).__name__}"
                    "; start it with `dask scheduler`, or set dask.address: null for a local "
                    "cluster") from None
            where = f"the scheduler at dask.address={self.address}"
        try:
            self._check_workers()
        except BaseException:
            self.close()
            raise
        if self.announce:
            print(f"dask: {self.workers} worker(s) on {where}; dashboard "
                  f"{self.client.dashboard_link}", file=sys.stderr, flush=True)

    def _check_workers(self) -> None:
        info = self.client.scheduler_info(n_workers=-1)["workers"]
        if not info:
            try:
                self.client.wait_for_workers(1, timeout=self.timeout_s)
            except (OSError, TimeoutError):
                raise EmpathicError(f"the Dask scheduler at dask.address={self.address!r} has no "
                                    f"workers (waited {self.timeout_s:g} s, dask.timeout_s); "
                                    "start some with `dask worker <address>`") from None
            info = self.client.scheduler_info(n_workers=-1)["workers"]
        self.workers = len(info)
        try:
            probes = self.client.run(_probe, self.paths)
        except Exception as e:  # noqa: BLE001 - an import or unpickling error on the worker
            raise EmpathicError(
                f"Dask workers cannot run this repository's code ({type(e).__name__}: "
                f"{str(e).splitlines()[0] if str(e) else ''}); start each worker from a checkout "
                "of the repository (PYTHONPATH=<checkout>) in the same environment") from None
        mine = code_version()
        for addr, p in sorted(probes.items()):
            for param, path in sorted(p["missing"].items()):
                raise EmpathicError(
                    f"Dask worker {addr} (host {p['host']}, cwd {p['cwd']}) cannot see {param}="
                    f"{path}: put it on a path every worker sees (the same absolute path) and set "
                    f"{param} to it")
            if p["code"] != mine:
                raise EmpathicError(
                    f"Dask worker {addr} (host {p['host']}, cwd {p['cwd']}) runs other code of "
                    f"the empathic package than this client (hash {p['code']} != {mine}); update "
                    "its checkout and restart it")
        many = {a: w.get("nthreads", 1) for a, w in info.items() if w.get("nthreads", 1) > 1}
        if many and self.announce:
            print(f"dask: warning: worker(s) {sorted(many)} run several threads; start them with "
                  "--nthreads 1 (one model and one BLAS thread per process)", file=sys.stderr)

    def close(self) -> None:
        client, cluster, self.client, self.cluster = self.client, self.cluster, None, None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    def resources_for(self, device: str) -> dict | None:
        return {"GPU": 1} if device == "cuda" else None

    def _check_resources(self, resources: dict) -> None:
        info = self.client.scheduler_info(n_workers=-1)["workers"]
        if not any(all(w.get("resources", {}).get(k, 0) >= v for k, v in resources.items())
                   for w in info.values()):
            raise EmpathicError(
                f"no Dask worker announces the resources {resources} these tasks need: start "
                f"GPU workers with `dask worker <address> --resources GPU=1`, or give a local "
                f"cluster's workers dask.resources")

    def map(self, fn, items, *, desc="", unit="it", progress=True, initializer=None, initargs=(),
            chunksize=1, resources=None) -> list:
        from distributed import as_completed
        self.start()
        items = list(items)
        if not items:
            return []
        if resources:
            self._check_resources(resources)
        k = max(int(chunksize), 1)
        batches = [items[i:i + k] for i in range(0, len(items), k)]
        token = hashlib.sha256(pickle.dumps(initargs)).hexdigest() if initializer else ""
        tag = f"{desc or getattr(fn, '__name__', 'task')}-{os.urandom(4).hex()}"
        job = _Box((fn, initializer, initargs, token))
        futures = self.client.map(_run_batch, [_Box(b) for b in batches], job=job,
                                  key=[f"{tag}-{i}" for i in range(len(batches))],
                                  retries=self.retries, resources=resources or None, pure=False)
        sizes = {f.key: len(b) for f, b in zip(futures, batches)}
        try:
            with _bar(len(items), desc, unit, progress) as bar:
                for f in as_completed(futures):
                    if f.status == "error":
                        f.result()              # raises the task's own exception
                    bar.update(sizes[f.key])
            return [r for part in self.client.gather(futures) for r in part]
        except Exception as e:
            self.client.cancel(futures)
            if type(e).__name__ == "KilledWorker":
                raise EmpathicError(f"{desc or 'dask'}: a task's workers died repeatedly ({e}); "
                                    "see the workers' logs (memory?)") from None
            raise
