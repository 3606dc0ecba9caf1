"""stages.predict on a dialogue of the generated sample corpus, with models trained here.

conftest's session fixture `trained` (shared with test_predict_layout.py and
test_predict_reaction.py) trains tiny models (3 epochs; emotion 30) in a project of its own on the
`tiny_project` corpus: response on audio+video+landmarks, emotion with text/audio/video/early
members (soft and hard votes), and dimensional on text+audio, so one run exercises the text-free
fallbacks. The test video is the sample dialogue's video stream with its utterance wavs mixed in at
their true times (muxed with PyAV); the truth comes from the generator's sample_truth.csv.
"""
from __future__ import annotations

import hashlib
import json
import os
import pathlib
import signal
import subprocess
import sys

import av
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml

from conftest import run_stage, stage_env
from predict_media import SR, mixed_track, mux
from empathic import predict as PR
from test_interrupt import _terminal_signals, wait_for

@pytest.fixture(scope="module")
def dialogue(trained, tmp_path_factory):
    """(project dir, truth rows of one dialogue, muxed video, silent video, wav of the track)."""
    d, tiny = trained
    truth = tiny.truth
    name = sorted(truth["dialog"].unique())[0]
    rows = truth[truth["dialog"] == name].sort_values("start").reset_index(drop=True)
    avi = tiny.root / rows.loc[0, "video"]
    with av.open(str(avi)) as c:
        n = int(float(c.duration / 1e6) * SR)
    x = mixed_track(rows, tiny.root, n)
    tmp = tmp_path_factory.mktemp("predict_media")
    mux(avi, x, tmp / f"{name}.mkv")
    silent = tmp / f"{name}_silent.mkv"        # the video stream alone
    mux(avi, None, silent)
    sf.write(tmp / f"{name}.wav", x, SR, subtype="PCM_16")
    return d, rows, tmp / f"{name}.mkv", silent, tmp / f"{name}.wav"


def predict(cwd, *args, check=True):
    return run_stage(["stages.predict", "--no-progress", *map(str, args)], cwd=cwd, check=check)


def transcript(truth: pd.DataFrame, path) -> pathlib.Path:
    """The dialogue's IEMOCAP transcription lines (plus a non-speech line predict skips)."""
    lines = [f"{u.utt_id} [{u.start:08.4f}-{u.end:08.4f}]: {u.text}" for u in truth.itertuples()]
    path.write_text("\n".join(lines[:2] + ["F: [LAUGHTER]"] + lines[2:]) + "\n")
    return path


def overlaps(a0, a1, b0, b1) -> bool:
    return min(a1, b1) - max(a0, b0) > 0


def test_video_with_audio_track_vad_and_auto_side(dialogue, tmp_path):
    d, truth, video, _, _ = dialogue
    predict(d, "--video", video, "--out", tmp_path / "out", "--min-gap", 0.15, "--asr", "none")
    seg = pd.read_csv(tmp_path / "out/segments.csv", keep_default_na=False)
    assert len(seg) >= 3
    # every true utterance is covered by a detected segment and vice versa
    for _, u in truth.iterrows():
        assert any(overlaps(u.start, u.end, s.start, s.end) for s in seg.itertuples()), u.utt_id
    for s in seg.itertuples():
        assert any(overlaps(u.start, u.end, s.start, s.end) for u in truth.itertuples()), s
    # no transcript: no text; the text-needing dimensional model is reported, not run
    assert not seg["modalities"].str.contains("text").any()
    assert seg["notes"].str.contains("tasks.dimensional.inputs").all()
    assert "valence" not in seg or seg["valence"].eq("").all()
    probs = seg[[c for c in seg if c.startswith("prob_")]].astype(float).to_numpy()
    assert probs.shape[1] == 4 and np.allclose(probs.sum(axis=1), 1, atol=1e-3)
    with_face = seg["modalities"].str.contains("landmarks")
    assert with_face.mean() > 0.8
    assert seg.loc[with_face, "listener_landmarks"].astype(str).eq("True").all()
    # auto side: the half of the true speaker, for segments that hold one speaker's turn only
    # (voice activity cannot split turns that overlap or follow within --min-gap)
    side = {"L": "left", "R": "right"}
    checked = 0
    for s in seg[with_face].itertuples():
        who = [u for u in truth.itertuples() if overlaps(u.start, u.end, s.start, s.end)]
        if len(who) == 1:
            checked += 1
            assert s.side == side[who[0].side], (s.segment, who[0].utt_id)
    assert checked >= 2
    assert all((tmp_path / "out" / p).is_file() for p in seg["png"])


@pytest.mark.parametrize("source", ["muxed", "sample_avi"])
def test_no_flags_gives_complete_rows(dialogue, tmp_path, source):
    """A video with its audio track and nothing else: voice activity finds the segments, the
    packaged recogniser gives them text, so every task runs where a face is visible. Both on the
    video with the utterance wavs muxed in and on the sample's own avi (its dialogue track)."""
    d, truth, video, _, _ = dialogue
    if source == "sample_avi":
        video = pathlib.Path(truth.loc[0, "video"])
        root = pathlib.Path(yaml.safe_load((d / "params.yaml").read_text())["data"]["root"])
        video = root / video
        with av.open(str(video)) as c:
            if not c.streams.audio:
                pytest.skip("this sample's avi has no audio track (older generator)")
    p = predict(d, "--video", video, "--out", tmp_path / "out", "--no-png")
    assert "speech recognition (pocketsphinx)" in p.stdout
    seg = pd.read_csv(tmp_path / "out/segments.csv", keep_default_na=False)
    assert len(seg) >= 3
    heard = seg["text"] != ""
    assert heard.mean() >= 0.8
    assert (seg.loc[heard, "text_source"] == "asr:pocketsphinx").all()
    assert seg["transcript_id"].eq("").all()
    with_face = seg["modalities"].str.contains("landmarks")
    assert with_face.mean() > 0.8
    ok = seg[seg["status"] == "ok"]
    assert len(ok) >= 0.8 * (with_face & heard).sum() and len(ok) >= 2
    assert ok["modalities"].str.startswith("text+audio").all()
    assert ok["emotion"].isin(["neu", "hap", "ang", "sad"]).all()
    assert ok["valence"].astype(float).between(0, 6).all()
    assert ok["arousal"].astype(float).between(0, 6).all()
    assert ok["listener_landmarks"].astype(str).eq("True").all()


def test_transcript_gives_the_segments_and_text(dialogue, tmp_path):
    d, truth, _, silent, wav = dialogue
    tr = transcript(truth, tmp_path / "transcript.txt")
    predict(d, "--video", silent, "--audio", wav, "--transcript", tr, "--out", tmp_path / "out",
            "--no-png")
    seg = pd.read_csv(tmp_path / "out/segments.csv", keep_default_na=False)
    assert seg["transcript_id"].tolist() == truth["utt_id"].tolist()
    np.testing.assert_allclose(seg["start"], truth["start"], atol=1e-4)
    np.testing.assert_allclose(seg["end"], truth["end"], atol=1e-4)
    assert seg["text"].tolist() == truth["text"].tolist()
    assert seg["text_source"].eq("transcript").all()
    assert seg["side"].tolist() == truth["side"].map({"L": "left", "R": "right"}).tolist()
    assert seg["modalities"].str.startswith("text+audio").all()
    v = seg["valence"].astype(float)
    assert v.notna().all() and v.between(0, 6).all()
    # predict computes the features the models were trained on: the same models on the
    # project's own feature files for these utterances mostly agree (text is identical; the
    # audio differs a little: the track mixes both speakers where turns overlap). A wrong side,
    # span or feature column would drop the agreement to chance.
    from empathic import store
    from empathic.training.tasks.emotion import TARGET
    ms = PR.ModelSet.load(d / "models", d / "metrics", ["emotion"])
    X = {}
    for m in ("text", "audio", "video", "landmarks"):
        f = store.read_pooled(d / "features" / f"{m}.h5")
        X[m] = f.pooled[[f.index()[u] for u in truth["utt_id"]]]
    ens = ms.emotion_choice(set(X))
    probs = np.mean([e.predict(X)[TARGET] for e in ens], axis=0)
    classes = [c for c in seg.columns if c.startswith("prob_")]
    ref = np.array([c[5:] for c in classes])[probs.argmax(axis=1)]
    agree = (seg["emotion"].to_numpy() == ref).mean()
    print(f"predict vs the stored features: emotion agrees on {agree:.2f} of {len(seg)} turns")
    assert agree >= 0.6
    assert np.abs(seg[classes].astype(float).to_numpy() - probs).mean() < 0.2


def test_no_face_gives_audio_only_predictions(dialogue, tmp_path):
    d, truth, _, _, wav = dialogue
    blank = tmp_path / "blank.mkv"
    with av.open(str(blank), "w") as c:
        s = c.add_stream("mpeg4", rate=10)
        s.width, s.height, s.pix_fmt = 160, 120, "yuv420p"
        for _ in range(int(truth["end"].max() * 10) + 10):
            for p in s.encode(av.VideoFrame.from_ndarray(np.full((120, 160, 3), 128, np.uint8),
                                                         format="rgb24")):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    predict(d, "--video", blank, "--audio", wav, "--out", tmp_path / "out", "--no-png",
            "--asr", "none")
    seg = pd.read_csv(tmp_path / "out/segments.csv", keep_default_na=False)
    assert (seg["modalities"] == "audio").all()
    assert seg["notes"].str.contains("no face").all()
    assert seg["notes"].str.contains("response not predicted").all()
    assert seg["emotion_model"].eq("audio_only").all()   # the only text- and face-free member
    assert seg["emotion"].isin(["neu", "hap", "ang", "sad"]).all()
    assert seg["listener_landmarks"].astype(str).eq("False").all()
    # asked for, a task that runs on no segment is an error (and the last set stays)
    before = (tmp_path / "out/segments.csv").read_bytes()
    p = predict(d, "--video", blank, "--audio", wav, "--out", tmp_path / "out", "--no-png",
                "--asr", "none", "--tasks", "response", check=False)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "--tasks response: not predicted on any of" in p.stderr and "needs" in p.stderr
    assert (tmp_path / "out/segments.csv").read_bytes() == before


def test_clear_errors(dialogue, tmp_path):
    d, _, video, silent, _ = dialogue
    p = predict(d, "--video", silent, check=False)
    assert p.returncode == 2 and "no audio track" in p.stderr and "--audio" in p.stderr
    p = predict(d, "--video", tmp_path / "nope.avi", check=False)
    assert p.returncode == 2 and "not found" in p.stderr
    p = predict(d, "--video", silent, "--models", tmp_path / "none", check=False)
    assert p.returncode == 2 and "dvc repro" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    bad = tmp_path / "bad.avi"
    bad.write_text("not a video")
    p = predict(d, "--video", bad, check=False)
    assert p.returncode == 2 and "cannot read video" in p.stderr
    p = predict(d, "--video", video, "--tasks", "dimensional", "--asr", "none", check=False)
    assert p.returncode == 2 and "tasks.dimensional.inputs" in p.stderr
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\n")
    p = predict(d, "--video", silent, "--transcript", junk, check=False)
    assert p.returncode == 2 and "no segments found" in p.stderr
    p = predict(d, "--help")
    assert "AVERAGED (an ensemble)" in " ".join(p.stdout.split())


def selected(tmp_path, best: str) -> pathlib.Path:
    """A metrics folder whose emotion.json names `best` as selected on validation."""
    m = tmp_path / "metrics"
    m.mkdir()
    (m / "emotion.json").write_text(json.dumps({"best": best}))
    return m


def test_the_decision_fusion_selected_on_validation_is_used(dialogue, tmp_path):
    from empathic import store
    from empathic.fusion import hard_vote
    from empathic.training import checkpoint
    from empathic.training.tasks.emotion import TARGET
    from empathic.training.utterances import softmax
    d, truth, video, silent, wav = dialogue
    metrics = selected(tmp_path, "hard_vote")
    p = predict(d, "--video", silent, "--audio", wav, "--transcript",
                transcript(truth, tmp_path / "t.txt"), "--metrics", metrics, "--tasks", "emotion",
                "--out", tmp_path / "out", "--no-png")
    assert "note: emotion by" not in p.stdout and "warning:" not in p.stdout, p.stdout
    seg = pd.read_csv(tmp_path / "out/segments.csv", keep_default_na=False)
    full = seg["modalities"] == "text+audio+video+landmarks"
    assert full.sum() >= 0.8 * len(seg) and seg.loc[full, "emotion_model"].eq("hard_vote").all()
    units = sorted((d / "models/emotion").glob("*/s*"))
    shares = seg.loc[full, [c for c in seg if c.startswith("prob_")]].astype(float).to_numpy()
    assert np.abs(shares * len(units) - np.round(shares * len(units))).max() < 1e-2   # vote shares
    # the same fusion, from the checkpoints and ensembles.json by hand, on the stored features
    X = {}
    for m in ("text", "audio", "video", "landmarks"):
        f = store.read_pooled(d / "features" / f"{m}.h5")
        X[m] = f.pooled[[f.index()[u] for u in truth["utt_id"]]]
    votes = []
    for u in units:
        names = json.loads((u / "ensembles.json").read_text())["members"]
        table = []
        for n in names:
            net = checkpoint.load_model(u / f"{n}.pt", "cpu")
            table.append(softmax(net.predict({k: X[k] for k in net.inputs})[TARGET]))
        votes.append(np.eye(len(shares[0]))[hard_vote(np.stack(table))])
    ms = PR.ModelSet.load(d / "models", metrics, ["emotion"])
    [ens] = ms.emotion_choice(set(X))
    np.testing.assert_allclose(ens.predict(X)[TARGET], np.mean(votes, axis=0), atol=1e-12)
    # without text the members that run vote softly, and both facts are printed
    p = predict(d, "--video", video, "--metrics", metrics, "--tasks", "emotion", "--asr", "none",
                "--out", tmp_path / "no_text", "--no-png")
    assert ("warning: no text (--asr none): emotion models that need text are skipped: "
            "text_only, early_fusion, hard_vote") in p.stdout
    assert ("note: emotion by soft vote of audio_only + video_only: hard_vote (selected on "
            "validation) needs text") in p.stdout
    seg = pd.read_csv(tmp_path / "no_text/segments.csv", keep_default_na=False)
    assert not seg["emotion_model"].eq("hard_vote").any()


def digests(folder: pathlib.Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_sigterm_while_drawing_leaves_the_old_set(dialogue, tmp_path):
    """The set (segments.csv and the PNGs it names) is written into a temporary folder that
    replaces the old one at the end: a run stopped while drawing leaves the old set whole."""
    d, truth, video, silent, wav = dialogue
    out = tmp_path / "out"
    predict(d, "--video", silent, "--audio", wav, "--transcript",
            transcript(truth, tmp_path / "t.txt"), "--tasks", "emotion", "--out", out)
    old = digests(out)
    assert sum(n.endswith(".png") for n in old) == len(truth)
    new_args = ["--video", video, "--asr", "none", "--tasks", "emotion", "--min-gap", "0.15"]
    err = tmp_path / "stderr.txt"
    proc = subprocess.Popen([sys.executable, "-m", "stages.predict", "--no-progress", *new_args,
                             "--out", str(out)], cwd=d, env=stage_env(), stdout=subprocess.DEVNULL,
                            stderr=open(err, "w"), start_new_session=True,
                            preexec_fn=_terminal_signals)
    drawing = lambda: any(t.is_dir() and any(t.glob("segment_*.png"))        # noqa: E731
                          for t in tmp_path.glob(".out.*.tmp"))
    wait_for(lambda: drawing() or proc.poll() is not None, timeout=300, step=0.02)
    assert proc.poll() is None, "finished before the signal"
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(60) == 128 + signal.SIGTERM
    assert err.read_text().strip().splitlines()[-1] == \
        "interrupted (SIGTERM): stopped; no output was half-written"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out")) == []
    # stopped while the first PNGs were drawn (the set swaps in only after the last): the old
    # set, byte for byte, and segments.csv names exactly the PNGs there
    assert digests(out) == old
    seg = pd.read_csv(out / "segments.csv", keep_default_na=False)
    assert sorted(seg["png"]) == sorted(n for n in old if n.endswith(".png"))
