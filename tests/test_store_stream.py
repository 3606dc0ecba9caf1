"""Feature files written from streamed rows (empathic/store_writer.py) are byte-identical to the
whole-at-once write of the same features (the in-memory HDF5 image the store wrote before,
kept here as the reference), whatever order the rows come in and however small the bands; a
failure mid-stream leaves nothing behind; a full disk while HDF5 writes is one line."""
import json
import random

import h5py
import numpy as np
import pytest
from test_disk_full import WRITE_FEATURES, one_error_line, run_limited

from empathic import store, store_writer
from empathic.store_writer import FeatureWriter


def reference_image(feats: store.Features) -> bytes:
    """The bytes store.write produced before streaming: the file built whole in memory."""
    def ds(f, name, data, dtype=None):
        kw = {"track_times": False}
        arr = np.asarray(data) if dtype is None else data
        if dtype is None and isinstance(arr, np.ndarray) and arr.ndim >= 1 and arr.size > 4096:
            kw.update(chunks=True, compression="gzip", compression_opts=4, shuffle=True)
        f.create_dataset(name, data=data, dtype=dtype, **kw)

    def cat(seqs, tail):
        seqs = [np.asarray(s, np.float32).reshape((-1,) + tail) for s in seqs]
        return np.concatenate(seqs) if seqs else np.zeros((0,) + tail, np.float32)

    def offsets(seqs):
        return np.concatenate([[0], np.cumsum([len(s) for s in seqs])]).astype(np.int64)

    with h5py.File("ref.h5", "w", driver="core", backing_store=False, block_size=16 << 20,
                   libver=("earliest", "v110"), track_order=False) as f:
        ds(f, "ids", [str(x) for x in feats.ids], dtype=store.STR)
        ds(f, "ok", feats.ok)
        ds(f, "pooled", feats.pooled.astype(np.float32))
        ds(f, "pooled_names", list(feats.pooled_names), dtype=store.STR)
        off = None
        if feats.frames is not None:
            off = offsets(feats.frames)
            ds(f, "frames", cat(feats.frames, (len(feats.frame_names),)))
            ds(f, "frame_names", list(feats.frame_names), dtype=store.STR)
        for name, seqs in sorted(feats.extra.items()):
            off = offsets(seqs)
            ds(f, name, cat(seqs, store._tail(seqs)))
        if off is not None:
            ds(f, "offsets", off)
        attrs = {"modality": feats.modality, **feats.attrs}
        for k in sorted(attrs):
            v = attrs[k]
            f.attrs[k] = json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v
        f.flush()
        return f.id.get_file_image()


def landmarks_like(n: int, seed: int = 0, max_t: int = 40) -> store.Features:
    """Ragged frames and extras, failed rows (NaN, no frames), big enough to be chunked."""
    rng = np.random.default_rng(seed)
    ok = rng.random(n) > 0.1
    t = np.where(ok, rng.integers(0, max_t, n), 0)
    pooled = rng.random((n, 37)).astype(np.float32)
    pooled[~ok] = np.nan
    frames = [rng.random((k, 12)).astype(np.float32) for k in t]
    return store.Features(
        "landmarks", [f"u{i:05d}" for i in range(n)], ok, pooled, [f"p{i}" for i in range(37)],
        frames=frames, frame_names=[f"f{i}" for i in range(12)],
        extra={"points": [rng.random((k, 68, 2)) * 500 for k in t],
               "times": [np.arange(k, dtype=np.float32).reshape(-1, 1) / 10 for k in t]},
        attrs={"frame_rate": 10.0, "params": {"fps": 10}, "extractor": "test"})


def stream_write(path, feats, order, band_bytes=None, monkeypatch=None):
    if band_bytes:
        monkeypatch.setattr(store_writer, "BAND_BYTES", band_bytes)
    rows = dict(store.rows_of(feats))
    w = FeatureWriter(path, store.head_of(feats), feats.ids)
    try:
        for i in order:
            w.add(i, rows[i])
        w.finish()
    finally:
        w.close()


@pytest.mark.parametrize("n", [3, 700, 5000])          # 5000: `ok` is chunked too
def test_streamed_rows_in_any_order_give_the_whole_write_bytes(n, tmp_path, monkeypatch):
    feats = landmarks_like(n)
    ref = reference_image(feats)
    store.write(tmp_path / "w.h5", feats)
    assert (tmp_path / "w.h5").read_bytes() == ref
    order = list(range(n))
    random.Random(1).shuffle(order)                     # out-of-order completion
    stream_write(tmp_path / "s.h5", feats, order, band_bytes=1, monkeypatch=monkeypatch)
    assert (tmp_path / "s.h5").read_bytes() == ref       # one chunk row per band
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.h5", "w.h5"]   # no spills left


def test_an_optional_array_no_row_has_is_left_out_and_filled_where_some_have_it(tmp_path):
    head = store.Head("landmarks", ["a"], {"points": (2,), "listener": (2,)},
                      optional=frozenset({"listener"}))
    rows = [store.Row(np.ones(1), {"points": np.ones((3, 2))}),
            store.Row(np.full(1, np.nan), {"points": np.zeros((0, 2))}, "no face")]
    for with_listener in (False, True):
        if with_listener:
            rows[0].seqs["listener"] = np.full((3, 2), 7.0)
        w = FeatureWriter(tmp_path / "x.h5", head, ["u0", "u1"])
        for i, r in enumerate(rows):
            w.add(i, r)
        w.finish()
        f = store.read(tmp_path / "x.h5")
        assert ("listener" in f.extra) == with_listener
        mem, reasons = store.collect(head, ["u0", "u1"], enumerate(rows))
        assert ("listener" in mem.extra) == with_listener and reasons == {"u1": "no face"}
        assert f.ok.tolist() == mem.ok.tolist() == [True, False]


def test_a_row_that_breaks_the_head_is_refused(tmp_path):
    head = store.Head("audio", ["a", "b"], {"frames": (3,)}, ["x", "y", "z"])
    w = FeatureWriter(tmp_path / "x.h5", head, ["u0"])
    try:
        with pytest.raises(ValueError, match="NaN, never zeros"):
            w.add(0, store.Row(np.zeros(2), {"frames": np.zeros((0, 3))}, "failed"))
        with pytest.raises(ValueError, match="never written"):
            w.finish()
    finally:
        w.close()
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_while_hdf5_writes_is_one_line_no_crash(tmp_path):
    """Each spill (pooled 4.6 MiB, frames 3.8 MiB) fits under the 6 MiB per-file limit, the
    HDF5 file (~8 MiB) does not: HDF5's own write fails, and is one line (no exit 139)."""
    (tmp_path / "features").mkdir()
    old = tmp_path / "features/text.h5"
    old.write_bytes(b"the previous features")
    line = one_error_line(run_limited(["-c", WRITE_FEATURES], tmp_path, 6 << 20))
    assert "features/text.h5" in line and "File too large" in line
    assert old.read_bytes() == b"the previous features"
    assert [p.name for p in (tmp_path / "features").iterdir()] == ["text.h5"]
