"""stages.predict on a dialogue of the generated sample corpus, with models trained here.

The module fixture trains tiny models (3 epochs; emotion 30) in a project of its own on the `tiny_project`
corpus: response on audio+video+landmarks, emotion with text/audio/video/early members, and
dimensional on text+audio, so one run exercises the text-free fallbacks. The test video is the
sample dialogue's video stream with its utterance wavs mixed in at their true times (muxed with
PyAV); the truth comes from the generator's sample_truth.csv.
"""
from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys

import av
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml

from conftest import make_project, run_stage, stage_env
from empathic import predict as PR
from empathic.errors import EmpathicError

SR = 16000
TRAIN_OVERRIDES = {
    "features.face.fps": 5,
    "tasks.response.inputs": ["audio", "video", "landmarks"],
    "tasks.emotion.members": ["text", "audio", "video", "early"],
    "tasks.emotion.fusion": {"early": "concat", "decision": ["soft"]},
    "tasks.emotion.phases": None,
    "tasks.dimensional.inputs": ["text", "audio"],
    **{f"tasks.{t}.{k}": v for t in PR.TASKS for k, v in (("epochs", 3), ("hidden", 16))},
    "tasks.emotion.epochs": 30,
}


@pytest.fixture(scope="module")
def trained(tiny_project, tmp_path_factory):
    """A project with features extracted and every task trained (tiny models)."""
    d = make_project(tmp_path_factory.mktemp("predict_project"), tiny_project.root,
                     **TRAIN_OVERRIDES)
    shutil.copytree(tiny_project.dir / "data", d / "data")
    run_concurrently([["stages.extract", name] for name in ("text", "audio", "face")], d)
    run_concurrently([["stages.train", task] for task in PR.TASKS], d)
    return d, tiny_project


def run_concurrently(stages: list[list[str]], cwd) -> None:
    """Independent stages side by side (they write different files), like `dvc repro -j`."""
    procs = [subprocess.Popen([sys.executable, "-m", *args, "--no-progress"], cwd=cwd,
                              env=stage_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for args in stages]
    for args, p in zip(stages, procs):
        out, err = p.communicate()
        assert p.returncode == 0, f"{' '.join(args)} failed:\n{out}\n{err}"


def mixed_track(truth: pd.DataFrame, root, n: int) -> np.ndarray:
    """The dialogue's utterance wavs added at their true start times into one float track."""
    x = np.zeros(n, np.float32)
    for _, u in truth.iterrows():
        y, sr = sf.read(root / u["wav"], dtype="float32")
        assert sr == SR
        a = int(round(u["start"] * SR))
        y = y[:max(0, n - a)]
        x[a:a + len(y)] += y
    return np.clip(x, -1, 1)


def mux(video_in, x: np.ndarray | None, out) -> None:
    """Copy the video stream of `video_in` and add `x` as a 16 kHz PCM track (none when `x` is
    None), into `out` (mkv)."""
    with av.open(str(video_in)) as src, av.open(str(out), "w") as dst:
        vin = src.streams.video[0]
        vout = dst.add_stream_from_template(vin)
        if x is not None:
            aout = dst.add_stream("pcm_s16le", rate=SR, layout="mono")
            pcm = (x * 32767).astype(np.int16)
            for i in range(0, len(pcm), SR):
                frame = av.AudioFrame.from_ndarray(pcm[None, i:i + SR], format="s16",
                                                   layout="mono")
                frame.sample_rate, frame.pts = SR, i
                for p in aout.encode(frame):
                    dst.mux(p)
            for p in aout.encode(None):
                dst.mux(p)
        for packet in src.demux(vin):
            if packet.dts is not None:
                packet.stream = vout
                dst.mux(packet)


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
    lines = [f"{u.utt_id} [{u.start:08.4f}-{u.end:08.4f}]: {u.text}" for u in truth.itertuples()]
    tr = tmp_path / "transcript.txt"
    tr.write_text("\n".join(lines[:2] + ["F: [LAUGHTER]"] + lines[2:]) + "\n")
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


class FoldModel:
    """Stands in for a loaded checkpoint where only the inputs matter."""

    def __init__(self, inputs):
        self.inputs = inputs


def test_model_choice_follows_the_available_modalities():
    members = {"text_only": ["text"], "audio_only": ["audio"], "video_only": ["video"],
               "early_fusion": ["text", "audio", "video"]}
    ens = {n: PR.Ensemble("emotion", n, [FoldModel(i)], True) for n, i in members.items()}
    ms = PR.ModelSet(response=PR.Ensemble("response", "response", [FoldModel(["text", "audio"])]),
                     emotion=ens, emotion_best="early_fusion", emotion_members=list(members))
    assert [e.name for e in ms.emotion_choice({"text", "audio", "video"})] == ["early_fusion"]
    assert [e.name for e in ms.emotion_choice({"audio", "video"})] == ["audio_only", "video_only"]
    assert PR.describe(ms.emotion_choice({"audio", "video"})) == "soft vote of audio_only + video_only"
    assert ms.emotion_choice({"landmarks"}) == []
    why = PR.never_runnable(ms, have_text=False)
    assert list(why) == ["response"] and "tasks.response.inputs" in why["response"]
    assert PR.never_runnable(ms, have_text=True) == {}


def test_read_transcript_formats(tmp_path):
    t = tmp_path / "a.txt"
    t.write_text("Ses01F_impro01_F001 [003.5000-005.2500]: Second.\nM: [BREATHING]\n"
                 "Ses01F_impro01_M000 [001.0000-002.0000]: First one.\n")
    segs = PR.read_transcript(t)
    assert [(s.start, s.end, s.text, s.ref) for s in segs] == [
        (1.0, 2.0, "First one.", "Ses01F_impro01_M000"),
        (3.5, 5.25, "Second.", "Ses01F_impro01_F001")]
    c = tmp_path / "b.csv"
    c.write_text('start,end,text\n0.5,1.5,"Hello, there"\n2,3,\n')
    assert [(s.start, s.end, s.text) for s in PR.read_transcript(c)] == [
        (0.5, 1.5, "Hello, there"), (2.0, 3.0, "")]
    c.write_text("start,end,text\n2,1,backwards\n")
    with pytest.raises(EmpathicError, match=r"b.csv:2: bad time span"):
        PR.read_transcript(c)


def test_detect_speech_finds_bursts():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1e-4, 6 * SR).astype(np.float32)
    for a, b in ((0.5, 1.5), (1.6, 2.2), (3.0, 4.5)):      # 0.1 s pause: one segment
        i = np.arange(int(a * SR), int(b * SR))
        x[i] += 0.3 * np.sin(2 * np.pi * 220 * i / SR)
    x[5 * SR:5 * SR + 800] += 0.3                           # 50 ms click: dropped
    segs = PR.detect_speech(x, SR, PR.VadConfig(method="energy"))
    assert len(segs) == 2
    np.testing.assert_allclose([(s.start, s.end) for s in segs], [(0.5, 2.2), (3.0, 4.5)], atol=0.1)
