"""The HDF5 feature store: contract, NaN rule, ragged frames, determinism, atomic writes."""
import hashlib

import h5py
import numpy as np
import pytest

from empathic import store
from empathic.atomic import atomic_path
from empathic.errors import EmpathicError


def _feats(ok=(True, False, True)):
    n = len(ok)
    pooled = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    pooled[~np.array(ok)] = np.nan
    frames = [np.full((i + 1, 2), i, np.float32) if k else np.zeros((0, 2), np.float32)
              for i, k in enumerate(ok)]
    pts = [np.full((len(f), 68, 2), 1.5, np.float32) for f in frames]
    return store.Features("landmarks", [f"u{i}" for i in range(n)], ok, pooled, ["a", "b", "c"],
                          frames=frames, frame_names=["f0", "f1"], extra={"points": pts},
                          attrs={"extractor": "test", "params": {"k": 1}, "frame_rate": 10.0})


def test_round_trip(tmp_path):
    p = tmp_path / "x.h5"
    store.write(p, _feats())
    f = store.read(p)
    assert list(f.ids) == ["u0", "u1", "u2"]
    assert f.ok.tolist() == [True, False, True]
    assert np.isnan(f.pooled[1]).all() and f.pooled[2, 0] == 6
    assert [len(x) for x in f.frames] == [1, 0, 3]
    assert f.extra["points"][2].shape == (3, 68, 2)
    assert f.attrs["params"] == {"k": 1} and f.attrs["extractor"] == "test"
    with h5py.File(p) as h:
        assert h["offsets"][()].tolist() == [0, 1, 1, 4]
        assert h["ids"].dtype.kind == "O" and h["pooled"].dtype == np.float32


def test_failed_rows_must_be_nan():
    with pytest.raises(ValueError, match="NaN"):
        store.Features("text", ["a"], [False], np.zeros((1, 2)), ["x", "y"])


def test_byte_identical(tmp_path):
    digests = []
    for name in ("a.h5", "b.h5"):
        store.write(tmp_path / name, _feats())
        digests.append(hashlib.sha256((tmp_path / name).read_bytes()).hexdigest())
    assert digests[0] == digests[1]


def test_atomic_write_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_read_missing_file_is_clear(tmp_path):
    with pytest.raises(EmpathicError, match="dvc repro"):
        store.read(tmp_path / "nope.h5")


def _ragged(tmp_path, times: bool):
    """40 rows of 0-30 frames (random values, some NaN frames, failed and empty rows)."""
    rng = np.random.default_rng(7)
    n, ok = 40, np.ones(40, bool)
    ok[[3, 17]] = False
    frames, extra = [], {"points_norm": [], **({"times": []} if times else {})}
    for i in range(n):
        t = int(rng.integers(0, 31)) if ok[i] else 0
        x = rng.normal(size=(t, 3)).astype(np.float32)
        if t > 4:
            x[2] = np.nan
        frames.append(x)
        extra["points_norm"].append(rng.normal(size=(t, 68, 2)).astype(np.float32))
        if times:
            extra["times"].append(np.sort(rng.uniform(0, 3, size=(t, 1))).astype(np.float32))
    pooled = rng.normal(size=(n, 2)).astype(np.float32)
    pooled[~ok] = np.nan
    f = store.Features("landmarks", [f"u{i:02d}" for i in range(n)], ok, pooled, ["p", "q"],
                       frames=frames, frame_names=["a", "b", "c"], extra=extra,
                       attrs={"extractor": "t", "frame_rate": 10.0})
    store.write(tmp_path / "x.h5", f)
    return tmp_path / "x.h5"


@pytest.mark.parametrize("times", [True, False])
def test_frame_stats_in_blocks_are_those_of_the_whole_file(tmp_path, times):
    """store.frame_stats reads a block of frames at a time: any block size gives the statistics
    of the frames held whole (the rule of stages' cut_overlap: frames before the cut)."""
    path = _ragged(tmp_path, times)
    whole = store.read(path)
    t_all = store.frame_times(whole)
    rng = np.random.default_rng(1)
    ids = [f"u{i:02d}" for i in rng.permutation(40)] + ["u05", "u05", "nope", "u03"]
    cut = np.r_[rng.uniform(-0.5, 3.5, size=len(ids) - 2), np.inf, 1.0]
    want = np.full((len(ids), 6), np.nan, np.float32)
    for r, u in enumerate(ids):
        i = whole.index().get(u, -1)
        if i >= 0 and whole.ok[i]:
            want[r] = store.frame_mean_std(whole.frames[i][t_all[i] < cut[r]], 3)
    for block in (1, 7, 50, 1 << 18):
        v, present, ok, names = store.frame_stats(path, ids, cut, block_frames=block)
        assert np.array_equal(v, want, equal_nan=True), block
        assert present.tolist() == [u != "nope" for u in ids]
        assert np.array_equal(ok, np.isfinite(want).all(1))
        assert names == ["a_mean", "b_mean", "c_mean", "a_std", "b_std", "c_std"]
    assert not ok[ids.index("u03")] and ok.sum() > 20


def test_read_only_the_arrays_asked_for(tmp_path):
    path = _ragged(tmp_path, times=True)
    f = store.read(path, extra=("times",))
    assert set(f.extra) == {"times"} and len(f.frames) == 40
    assert store.array_names(path) == {"frames", "points_norm", "times"}
    whole = store.read(path)
    got = store.read_sequences(path, "points_norm")
    assert all(np.array_equal(a, b) for a, b in zip(got, whole.extra["points_norm"]))
    assert store.read_sequences(path, "nothing") is None
    assert store.read_sequences(path, "ok") is None
    with pytest.raises(EmpathicError, match="not found"):
        store.frame_stats(tmp_path / "none.h5", ["u00"], np.array([1.0]))
