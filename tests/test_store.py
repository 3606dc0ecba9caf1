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
