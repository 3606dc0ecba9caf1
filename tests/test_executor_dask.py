"""The executor seam on a real local Dask cluster (2 worker processes, fixture `dask_cluster`).

The stage `python -m stages.extract` runs for real with `features.executor: dask` pointed at
the cluster, and its files are compared byte for byte with the `processes` executor's; a worker
killed during the face pass changes nothing; an unreachable scheduler is one line naming
dask.address; a worker that cannot see data.root, or a task that needs a resource no worker
has, is one clear error.
"""
from __future__ import annotations

import filecmp
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import dask_jobs
from conftest import make_project, run_stage, stage_env
from empathic.execution.dask_cluster import DaskExecutor
from empathic.errors import EmpathicError
from empathic.execution import ProcessExecutor, from_params

OUTPUTS = {"text": ["text"], "audio": ["audio"], "face": ["video", "landmarks"]}
SMALL = {"features.text.batch_size": 8}      # several text tasks on the tiny corpus


def project(tiny, base: Path, **overrides) -> Path:
    return make_project(base, tiny.root, **{**SMALL, **overrides})


def extract(name: str, proj: Path, out: Path, tiny) -> subprocess.CompletedProcess:
    return run_stage(["stages.extract", name, "--no-progress", "--out", str(out),
                      "--utterances", str(tiny.dir / "data/pairs/utterances.csv")], cwd=proj)


def same_files(name: str, a: Path, b: Path) -> None:
    for m in OUTPUTS[name]:
        for f in (f"{m}.h5", f"{m}.failures.csv"):
            assert filecmp.cmp(a / f, b / f, shallow=False), f"{f} differs"


@pytest.fixture(scope="module")
def baseline(tiny_project, tmp_path_factory):
    """The `processes` executor's files, per extractor, made on demand. One worker (in the
    stage's process): the Dask runs have two, so the files also hold for any worker count."""
    base = tmp_path_factory.mktemp("processes")
    proj = project(tiny_project, base / "proj", **{"features.workers": 1})
    made = {}

    def get(name: str) -> Path:
        if name not in made:
            extract(name, proj, base / name, tiny_project)
            made[name] = base / name
        return made[name]
    return get


def dask_project(tiny, base: Path, cluster, **overrides) -> Path:
    return project(tiny, base, **{"features.executor": "dask",
                                  "dask.address": cluster.scheduler_address, **overrides})


@pytest.mark.parametrize("name", ["text", "audio", "face"])
def test_dask_files_are_byte_identical_to_processes(name, tiny_project, baseline, dask_cluster,
                                                    tmp_path):
    proj = dask_project(tiny_project, tmp_path / "proj", dask_cluster)
    p = extract(name, proj, tmp_path / "out", tiny_project)
    assert "dashboard http" in p.stderr and "2 worker(s)" in p.stderr
    same_files(name, baseline(name), tmp_path / "out")


def test_a_worker_killed_during_the_face_pass_changes_nothing(tiny_project, baseline,
                                                              dask_cluster, tmp_path):
    from distributed import Client
    want = baseline("face")
    proj = dask_project(tiny_project, tmp_path / "proj", dask_cluster)
    cmd = [sys.executable, "-m", "stages.extract", "face", "--no-progress", "--out",
           str(tmp_path / "out"), "--utterances", str(tiny_project.dir / "data/pairs/utterances.csv")]
    with Client(dask_cluster.scheduler_address) as client:
        pids = client.run(os.getpid)
        proc = subprocess.Popen(cmd, cwd=proj, env=stage_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        killed = None
        while killed is None and proc.poll() is None:
            busy = [w for w, keys in client.processing().items()
                    if any(str(k).startswith("face-") for k in keys)]
            if busy:
                killed = busy[0]
                os.kill(pids[killed], signal.SIGKILL)      # mid-task: its tasks are lost
            time.sleep(0.01)
        out, err = proc.communicate(timeout=300)
        assert killed is not None, "the stage ended before any face task was seen"
        assert proc.returncode == 0, err
        client.wait_for_workers(2, timeout=120)              # the nanny restarts it
    same_files("face", want, tmp_path / "out")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_scheduler_is_one_line_naming_the_param(tiny_project, tmp_path):
    address = f"tcp://127.0.0.1:{free_port()}"
    proj = project(tiny_project, tmp_path / "proj", **{"features.executor": "dask",
                                                       "dask.address": address,
                                                       "dask.timeout_s": 1})
    p = run_stage(["stages.extract", "text", "--no-progress", "--out", str(tmp_path / "out"),
                   "--utterances", str(tiny_project.dir / "data/pairs/utterances.csv")],
                  cwd=proj, check=False)
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert p.returncode == 2, p.stderr
    assert len(lines) == 1 and lines[0].startswith("error:"), p.stderr
    assert f"dask.address='{address}'" in lines[0]
    assert not (tmp_path / "out" / "text.h5").exists()


def test_a_worker_that_cannot_see_the_corpus_is_named(dask_cluster, tmp_path):
    missing = tmp_path / "not_mounted" / "IEMOCAP_full_release"
    ex = DaskExecutor(dask_cluster.scheduler_address, paths={"data.root": missing},
                      announce=False)
    with pytest.raises(EmpathicError) as e:
        with ex:
            pass
    msg = str(e.value)
    assert f"data.root={missing}" in msg and "Dask worker tcp://" in msg
    assert ex.client is None                                  # closed on the way out


def test_map_keeps_order_batches_and_loads_once_per_worker(dask_cluster):
    items = list(range(23))
    with DaskExecutor(dask_cluster.scheduler_address, announce=False) as ex:
        assert ex.workers == 2
        out = ex.map(dask_jobs.square, items, chunksize=3, progress=False,
                     initializer=dask_jobs.init, initargs=("a",))
        again = ex.map(dask_jobs.square, items, chunksize=3, progress=False,
                       initializer=dask_jobs.init, initargs=("a",))
        other = ex.map(dask_jobs.square, items[:4], progress=False,
                       initializer=dask_jobs.init, initargs=("b",))
        tuples = ex.map(dask_jobs.call_tuple, [(len, "abc"), (max, 1, 2)], progress=False)
        table = np.arange(60.0).reshape(12, 5)           # one object in every item: sent once
        rows = ex.map(dask_jobs.pick_row, [(table, i) for i in range(12)], progress=False)
        assert ex.resources_for("cuda") == {"GPU": 1} and ex.resources_for("auto") is None
        with pytest.raises(EmpathicError, match="GPU=1"):
            ex.map(dask_jobs.square, items, resources={"GPU": 1}, progress=False)
    local = ProcessExecutor(1).map(dask_jobs.square, items, progress=False)
    assert [o[0] for o in out] == [o[0] for o in local] == [x * x for x in items]
    inits = {}
    for _, pid, label, n in out + again:
        assert label == "a"
        inits.setdefault(pid, set()).add(n)
    assert all(len(s) == 1 for s in inits.values())          # no second load in a process
    assert all(label == "b" for _, _, label, _ in other)     # other args: loaded again
    assert tuples == [(len, "abc"), (max, 1, 2)]
    assert [r[0] for r in rows] == [float(table[i].sum()) for i in range(12)]
    seen = {}
    for _, pid, obj in rows:
        seen.setdefault(pid, set()).add(obj)
    assert all(len(ids) == 1 for ids in seen.values())       # one copy per worker process


def test_params_pick_the_executor(tmp_path):
    prm = {"features": {"workers": 3}, "dask": {"address": None, "n_workers": 0, "timeout_s": 5,
                                                "retries": 2, "resources": {"GPU": 1}}}
    ex = from_params(prm, "features")
    assert isinstance(ex, ProcessExecutor) and ex.workers == 3
    prm["features"]["executor"] = "dask"
    ex = from_params(prm, "features", paths={"data.root": tmp_path})
    assert isinstance(ex, DaskExecutor) and ex.n_workers == 3 and ex.client is None
    assert ex.resources == {"GPU": 1} and ex.retries == 2
    prm["features"]["executor"] = "spark"
    with pytest.raises(EmpathicError, match="features.executor"):
        from_params(prm, "features")
    prm["features"]["executor"] = "dask"
    prm["dask"]["address"] = ""
    with pytest.raises(EmpathicError, match="dask.address"):
        from_params(prm, "features")


def test_a_task_that_kills_its_worker_runs_again(dask_cluster, tmp_path):
    marker = str(tmp_path / "died")
    with DaskExecutor(dask_cluster.scheduler_address, announce=False) as ex:
        out = ex.map(dask_jobs.die_once, [(marker, i) for i in range(6)], progress=False)
        ex.client.wait_for_workers(2, timeout=120)            # the nanny restarts it
    assert out == [i + 1 for i in range(6)] and os.path.exists(marker)


def test_a_scheduler_without_workers_is_one_clear_error():
    from distributed import LocalCluster
    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as empty:
        ex = DaskExecutor(empty.scheduler_address, timeout_s=0.5, announce=False)
        with pytest.raises(EmpathicError, match="has no workers"):
            ex.start()
    assert ex.client is None
