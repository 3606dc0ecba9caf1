"""Streaming extraction: the executor's imap yields in input order with a bounded number of
batches in flight (pool and Dask), and the extract stage's streamed files are the bytes of the
whole-at-once write of the same features; an error mid-stream leaves the old outputs and no
temporary."""
from __future__ import annotations

import os

import dask_jobs
import numpy as np
import pytest
from conftest import make_project, run_stage
from test_store_stream import reference_image

from empathic import extractors, store
from empathic.execution import ProcessExecutor
from empathic.execution.dask_cluster import DaskExecutor
from stages.extract import output_paths, write_outputs


def started(marks) -> list[int]:
    return sorted(int(p.split("-")[1]) for p in os.listdir(marks))


def check_imap(ex, tmp_path, window: int, chunksize: int) -> None:
    items = [(x, str(tmp_path)) for x in range(12)]
    out = []
    for r in ex.imap(dask_jobs.slow_first, items, progress=False, window=window,
                     chunksize=chunksize):
        batch = len(out) // chunksize
        # no unit beyond the `window` batches after this one has started
        assert max(started(tmp_path)) < (batch + window + 1) * chunksize
        out.append(r)
    assert out == [x * 10 for x in range(12)]


@pytest.mark.parametrize("window,chunksize", [(2, 1), (3, 2)])
def test_pool_imap_keeps_order_and_bounds_the_units_in_flight(window, chunksize, tmp_path):
    check_imap(ProcessExecutor(2), tmp_path, window, chunksize)


def test_dask_imap_keeps_order_and_bounds_the_units_in_flight(dask_cluster, tmp_path):
    with DaskExecutor(dask_cluster.scheduler_address, announce=False) as ex:
        check_imap(ex, tmp_path, 2, 1)
        with pytest.raises(RuntimeError, match="unit 5 failed"):
            list(ex.imap(dask_jobs.boom_at_5, range(9), progress=False))


def small_features(m: str, n: int, seed: int) -> store.Features:
    rng = np.random.default_rng(seed)
    return store.Features(m, [f"u{i}" for i in range(n)], np.ones(n, bool),
                          rng.random((n, 3)), ["a", "b", "c"],
                          frames=[rng.random((4, 2)) for _ in range(n)], frame_names=["x", "y"])


def test_an_error_mid_stream_leaves_the_old_outputs_and_no_temporary(tmp_path):
    """Rows of two modalities come from a pool; unit 5 fails after others were written."""
    out = tmp_path / "features"
    out.mkdir()
    for p in output_paths(["video", "landmarks"], out):
        p.write_text(f"old {p.name}")
    new = {m: small_features(m, 9, k) for k, m in enumerate(["video", "landmarks"])}
    heads = {m: store.head_of(f) for m, f in new.items()}
    rows = {m: dict(store.rows_of(f)) for m, f in new.items()}
    units = ProcessExecutor(2).imap(dask_jobs.boom_at_5, range(9), progress=False)
    stream = extractors.Stream(heads, ((i, {m: rows[m][i] for m in rows}) for i in units))
    with pytest.raises(RuntimeError, match="unit 5 failed"):
        write_outputs(stream, new["video"].ids, out)
    assert sorted(os.listdir(out)) == sorted(p.name for p in output_paths(new, out))
    assert all(p.read_text() == f"old {p.name}" for p in output_paths(new, out))
    tallies = write_outputs(extractors.stream_of(
        {m: extractors.Result(f) for m, f in new.items()}), new["video"].ids, out)
    assert {m: (t.n, t.failed) for m, t in tallies.items()} == {"video": (9, 0),
                                                                "landmarks": (9, 0)}
    for m, f in new.items():
        assert (out / f"{m}.h5").read_bytes() == reference_image(f)
    assert sorted(os.listdir(out)) == sorted(p.name for p in output_paths(new, out))


@pytest.mark.parametrize("name,extractor", [("audio", "AudioExtractor"),
                                            ("face", "FaceExtractor")])
def test_stage_streams_the_whole_write_bytes(name, extractor, tiny_project, tmp_path):
    """The stage on 2 workers (units complete out of order, rows streamed) writes the bytes
    the whole-at-once writer makes of the extractor's collected features (1 worker)."""
    import importlib
    proj = make_project(tmp_path / "proj", tiny_project.root, **{"features.workers": 2})
    run_stage(["stages.extract", name, "--no-progress", "--out", str(tmp_path / "out"),
               "--utterances", str(tiny_project.dir / "data/pairs/utterances.csv")], cwd=proj)
    cls = getattr(importlib.import_module(f"empathic.extractors.{name}"), extractor)
    section = tiny_project.params()["features"][name]
    res = cls(section, root=tiny_project.root, workers=1, progress=False).extract(
        tiny_project.utterances)
    for m, r in res.items():
        r.features.attrs.update(extractor=name, extractor_version=cls.version,
                                params=__import__("json").dumps(section, sort_keys=True))
        assert (tmp_path / "out" / f"{m}.h5").read_bytes() == reference_image(r.features), m
    assert not [p for p in os.listdir(tmp_path / "out") if p.startswith(".")]
