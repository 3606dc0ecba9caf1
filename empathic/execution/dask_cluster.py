"""The Dask side of the executor seam (see empathic/execution/__init__.py for the API and the params).

The client starts or reaches the cluster, checks every worker (same code, paths visible) and
maps batches of items as tasks (`imap`: at most `window` of them submitted and not yet
yielded, results in input order); on the workers, `_run_batch` runs an initializer once per
process (keyed by its args) and the function over its batch. Items are boxed so Dask never
reads them as task specs; an object every (tuple) item shares is scattered to the workers once.
"""
from __future__ import annotations

import hashlib
import os
import socket
import sys
import threading
from pathlib import Path

from ..errors import EmpathicError
from .base import Executor, _bar, batches


_READY: dict[str, str] = {}          # initializer name -> token of the args it last ran with
_LOCK = threading.Lock()


class _Box:
    """An opaque holder: Dask must not look inside items for keys or task tuples."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


class _Ref:
    """Stands for the `j`-th shared object inside an item (see `_common`)."""

    __slots__ = ("j",)

    def __init__(self, j: int):
        self.j = j


_PLAIN = (str, bytes, int, float, bool, type(None))


def _common(items: list) -> list[int]:
    """Positions where every (tuple) item holds one and the same object (a task, a feature
    table): Dask sends it to the workers once, not once per task."""
    if len(items) < 2 or not all(isinstance(x, tuple) and len(x) == len(items[0]) for x in items):
        return []
    return [j for j, v in enumerate(items[0])
            if not isinstance(v, _PLAIN) and all(x[j] is v for x in items)]


def _run_batch(batch: _Box, job: _Box, shared: list = ()) -> list:
    fn, initializer, initargs, token = job.value
    if initializer is not None:
        name = f"{initializer.__module__}.{initializer.__qualname__}"
        with _LOCK:
            if _READY.get(name) != token:
                initializer(*initargs)
                _READY[name] = token
    if shared:
        return [fn(tuple(shared[v.j] if isinstance(v, _Ref) else v for v in x))
                for x in batch.value]
    return [fn(x) for x in batch.value]


def _first_line(e: BaseException) -> str:
    return str(e).splitlines()[0] if str(e) else type(e).__name__


def code_version() -> str:
    """A hash of this package's source files: client and workers must run the same code."""
    h = hashlib.sha256()
    base = Path(__file__).resolve().parents[1]      # the whole empathic package
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
                    f"{self.timeout_s:g} s (dask.timeout_s): {_first_line(e)}; start it with "
                    "`dask scheduler`, or set dask.address: null for a local cluster") from None
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
                f"{_first_line(e)}); start each worker from a checkout "
                "of the repository (PYTHONPATH=<checkout>) in the same environment") from None
        try:        # the scheduler unpickles task graphs: it needs the same code as well
            probes["scheduler"] = self.client.run_on_scheduler(_probe, {})
        except Exception as e:  # noqa: BLE001 - an import or unpickling error on the scheduler
            raise EmpathicError(
                f"the Dask scheduler at dask.address={self.address!r} cannot run this "
                f"repository's code ({type(e).__name__}: {_first_line(e)}); start it like the "
                "workers: from a checkout, PYTHONPATH=<checkout> dask scheduler") from None
        mine = code_version()
        for addr, p in sorted(probes.items()):
            for param, path in sorted(p["missing"].items()):
                raise EmpathicError(
                    f"Dask worker {addr} (host {p['host']}, cwd {p['cwd']}) cannot see {param}="
                    f"{path}: put it on a path every worker sees (the same absolute path) and set "
                    f"{param} to it")
            if p["code"] != mine:
                raise EmpathicError(
                    f"Dask {addr if addr == 'scheduler' else 'worker ' + addr} (host "
                    f"{p['host']}, cwd {p['cwd']}) runs other code of "
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

    def imap(self, fn, items, *, desc="", unit="it", progress=True, initializer=None,
             initargs=(), chunksize=1, resources=None, window=None):
        from distributed import as_completed
        self.start()
        items = list(items)
        if not items:
            return
        if resources:
            self._check_resources(resources)
        common, shared = _common(items), []
        if common:      # on every worker (a worker lost does not lose them), once per map
            shared = self.client.scatter([items[0][j] for j in common], broadcast=True,
                                         hash=False)
            refs = {j: _Ref(i) for i, j in enumerate(common)}
            items = [tuple(refs.get(j, v) for j, v in enumerate(x)) for x in items]
        parts = batches(items, chunksize)
        import cloudpickle
        token = hashlib.sha256(cloudpickle.dumps(initargs)).hexdigest() if initializer else ""
        tag = f"{desc or getattr(fn, '__name__', 'task')}-{os.urandom(4).hex()}"
        job = _Box((fn, initializer, initargs, token))
        futures: dict[int, object] = {}          # batch index -> future, submitted, not yielded
        index: dict[str, int] = {}               # key -> batch index, until it completes

        def submit(i: int) -> None:
            if i < len(parts):
                futures[i] = self.client.submit(
                    _run_batch, _Box(parts[i]), job=job, shared=shared, key=f"{tag}-{i}",
                    retries=self.retries, resources=resources or None, pure=False)
                index[futures[i].key] = i
                done.add(futures[i])
        done = as_completed()
        ahead = self.in_flight(window)
        for i in range(ahead):
            submit(i)
        ready: dict[int, list] = {}
        head = 0
        try:
            with _bar(len(items), desc, unit, progress) as bar:
                for f in done:
                    ready[index.pop(f.key)] = f.result()    # a task's own exception raises
                    while head in ready:        # input order; then one more batch in flight
                        part = ready.pop(head)
                        del futures[head]
                        submit(head + ahead)
                        head += 1
                        for r in part:
                            bar.update(1)
                            yield r
        except Exception as e:
            if type(e).__name__ == "KilledWorker":
                raise EmpathicError(f"{desc or 'dask'}: a task's workers died repeatedly ({e}); "
                                    "see the workers' logs (memory?)") from None
            raise
        finally:                        # an error, or the caller stopped early
            self.client.cancel(list(futures.values()))
