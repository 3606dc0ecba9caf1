"""extract@ssl on the tiny sample with tiny randomly initialised encoders of every family
(wav2vec2, HuBERT, WavLM, Whisper), saved as checkpoints and loaded through the real path."""
from __future__ import annotations

import json
import shutil

import h5py
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

import ssl_models
from conftest import make_project, run_stage
from empathic import store


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("ssl_models")
    return {f: ssl_models.build(f, base / f) for f in ssl_models.FAMILIES}


def project(tmp_path, tiny, **overrides):
    d = make_project(tmp_path, tiny.root, **{"features.workers": 2, **overrides})
    shutil.copytree(tiny.dir / "data", d / "data")
    return d


def extract(d, *extra, check=True):
    return run_stage(["stages.extract", "ssl", "--no-progress", *extra], cwd=d, check=check)


@pytest.mark.parametrize("family", ssl_models.FAMILIES)
def test_each_family_through_the_extractor(family, models, tiny_project, tmp_path):
    d = project(tmp_path, tiny_project, **{"features.ssl.model": str(models[family]),
                                           "features.ssl.layers": "all" if family != "wavlm"
                                           else 1, "features.ssl.frame_rate": 10})
    extract(d)
    f = store.read(d / "features/ssl.h5")
    utts = tiny_project.utterances
    assert list(f.ids) == list(utts["utt_id"])
    assert f.ok.all()
    assert f.pooled.shape == (len(utts), 2 * ssl_models.HIDDEN)
    assert f.pooled_names[0] == "ssl_mean_000" and f.pooled_names[-1] == "ssl_std_031"
    assert np.isfinite(f.pooled).all() and (f.pooled[:, ssl_models.HIDDEN:] > 0).all()
    assert f.attrs["frame_rate"] == 10 and f.modality == "ssl"
    assert f.attrs["extractor"] == "ssl"
    dur = (utts["end"] - utts["start"]).to_numpy()
    n = np.array([len(x) for x in f.frames])
    # 10 frames a second of audio (the wav is the utterance span, give or take its padding)
    assert np.all(np.abs(n - dur * 10) <= 3), list(zip(n, dur))
    assert all(x.shape[1] == ssl_models.HIDDEN for x in f.frames)
    # the frames are bins of the same representation the pooled mean summarises
    assert np.corrcoef(f.frames[0].mean(0), f.pooled[0, :ssl_models.HIDDEN])[0, 1] > 0.9


def test_deterministic_failures_and_long_audio(models, tiny_project, tmp_path):
    """Byte-identical across runs and worker counts; a broken and a missing wav are NaN rows
    with reasons; an utterance longer than chunk_s is encoded in chunks."""
    utts = tiny_project.utterances.copy()
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    utts.loc[1, "wav"] = str(bad)
    utts.loc[2, "wav"] = str(tmp_path / "missing.wav")
    table = tmp_path / "utterances.csv"
    utts.to_csv(table, index=False)
    common = {"features.ssl.model": str(models["wavlm"]), "features.ssl.chunk_s": 1,
              "features.ssl.max_failed_fraction": 0.5}
    files = []
    for i, workers in enumerate((1, 2)):
        d = project(tmp_path / f"p{i}", tiny_project, **common, **{"features.workers": workers})
        extract(d, "--utterances", str(table))
        files.append((d / "features/ssl.h5").read_bytes())
    assert files[0] == files[1]
    f = store.read(d / "features/ssl.h5")
    assert not f.ok[1] and not f.ok[2] and f.ok[[0, *range(3, len(f.ok))]].all()
    assert np.isnan(f.pooled[[1, 2]]).all() and len(f.frames[1]) == 0
    fails = pd.read_csv(d / "features/ssl.failures.csv")
    reasons = dict(zip(fails["utt_id"], fails["reason"]))
    assert reasons[utts.loc[1, "utt_id"]].startswith("unreadable wav")
    assert reasons[utts.loc[2, "utt_id"]].startswith("missing wav")
    # chunk_s 1: every utterance (> 1 s) was cut, and the frames still span it
    dur = (utts["end"] - utts["start"]).to_numpy()
    n = np.array([len(x) for x in f.frames])
    assert dur[0] > 1.5 and np.all(np.abs(n[f.ok] - dur[f.ok] * 10) <= 3)


def test_not_configured_and_bad_params(models, tiny_project, tmp_path):
    d = project(tmp_path / "none", tiny_project)          # the default: model null
    out = extract(d).stdout
    assert "no SSL speech model configured" in out
    with h5py.File(d / "features/ssl.h5") as h:
        assert not h["ok"][:].any()
    fails = pd.read_csv(d / "features/ssl.failures.csv")
    assert len(fails) == len(tiny_project.utterances)
    d = project(tmp_path / "layers", tiny_project, **{"features.ssl.model": str(models["hubert"]),
                                                      "features.ssl.layers": 7})
    p = extract(d, check=False)
    assert p.returncode == 2 and "features.ssl.layers" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    d = project(tmp_path / "nomodel", tiny_project,
                **{"features.ssl.model": str(tmp_path / "no_such_model")})
    p = extract(d, check=False)
    assert p.returncode == 2 and "features.ssl.model" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_ssl_as_a_task_input(models, tiny_project, tmp_path):
    """ssl is a task input like any other: train and evaluate the dimensional task on it, and
    predict computes it for a new recording."""
    d = project(tmp_path, tiny_project, **{
        "features.ssl.model": str(models["whisper"]),
        "tasks.dimensional.inputs": ["ssl"], "tasks.dimensional.epochs": 3,
        "tasks.dimensional.hidden": 16})
    extract(d)
    run_stage(["stages.train", "dimensional", "--no-progress"], cwd=d)
    run_stage(["stages.evaluate", "dimensional"], cwd=d)
    m = json.loads((d / "metrics/dimensional/report.json").read_text())
    assert m["models"], m
    ccc = [v["mean"] for k, v in next(iter(m["models"].values())).items() if k.startswith("ccc_")]
    assert ccc and all(np.isfinite(ccc))
    # predict runs the ssl extractor on a new recording's segments for a model that needs it
    from test_predict import SR, mixed_track
    truth = tiny_project.truth
    rows = truth[truth["dialog"] == sorted(truth["dialog"].unique())[0]].sort_values("start")
    wav = tmp_path / "track.wav"
    sf.write(wav, mixed_track(rows, tiny_project.root, int((rows["end"].max() + 1) * SR)), SR)
    tr = tmp_path / "turns.csv"
    rows[["start", "end", "text"]].to_csv(tr, index=False)
    video = tiny_project.root / rows.iloc[0]["video"]
    run_stage(["stages.predict", "--no-progress", "--video", str(video), "--audio", str(wav),
               "--transcript", str(tr), "--tasks", "dimensional", "--no-png", "--out",
               str(tmp_path / "pred")], cwd=d)
    seg = pd.read_csv(tmp_path / "pred/segments.csv", keep_default_na=False)
    assert len(seg) == len(rows) and seg["modalities"].str.contains("ssl").all()
    assert seg["valence"].astype(float).notna().all()
