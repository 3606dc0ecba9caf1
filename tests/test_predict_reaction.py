"""stages.predict shows the reaction task: per segment an MP4 of the speaker's clip beside the
animated predicted listener face, a PNG strip of the K alternatives, summary columns in
segments.csv (empathic/predict/reaction.py, reaction_video.py).

The drawing on its own first (fast: a face that moves when the prediction moves, deterministic
bytes), then predict end to end: the module fixture takes conftest's `trained` project's features
(the `tiny_project` corpus, faces at 5 fps) and trains a tiny reaction model (1 s listening + 1 s
reply at 5 fps, 3 epochs, one seed) in a project of its own; the test video is a sample dialogue's
video stream with its utterance wavs mixed in (as in test_predict.py), its transcript giving the
turns.
"""
from __future__ import annotations

import shutil

import av
import cv2
import numpy as np
import pandas as pd
import pytest

from conftest import make_project, run_concurrently
from empathic.extractors.facegeom import CANONICAL
from empathic.predict import reaction_video as V
from empathic.training.sequences import MEASURES
from predict_media import SR, mixed_track, mux
from test_predict import predict, transcript

FPS, LISTEN_S, REPLY_S, K = 5, 1.0, 1.0, 4
OVERRIDES = {
    "features.face.fps": FPS,
    "tasks.reaction.inputs": ["audio", "landmarks", "video"],
    "tasks.reaction.fps": FPS, "tasks.reaction.listen_s": LISTEN_S,
    "tasks.reaction.reply_s": REPLY_S, "tasks.reaction.reactions": K,
    "tasks.reaction.epochs": 3, "tasks.reaction.hidden": 16, "tasks.reaction.seeds": 1,
}
T_OUT = int(round((LISTEN_S + REPLY_S) * FPS))


def listener_half(img: np.ndarray) -> np.ndarray:
    return img[:V.PANEL, V.PANEL:2 * V.PANEL]


def drawn(panel: np.ndarray) -> float:
    """Share of a panel's pixels visibly off the white background."""
    return float((np.abs(panel.astype(int) - V.BACKGROUND).max(axis=2) > 60).mean())


# -- the drawing alone -------------------------------------------------------------------------

def moving_shapes(t: int, amplitude: float) -> np.ndarray:
    """(t, 68, 2): the canonical face whose lower lip and jaw drop by `amplitude` x a ramp."""
    s = np.repeat(CANONICAL[None].astype(np.float64), t, axis=0)
    ramp = np.linspace(0, 1, t)[:, None]
    s[:, 5:12, 1] += amplitude * ramp              # jaw
    s[:, 55:60, 1] += amplitude * ramp             # outer lower lip
    s[:, 65:68, 1] += amplitude * ramp             # inner lower lip
    return s


def test_the_drawn_face_moves_when_the_prediction_moves():
    ref = CANONICAL.reshape(136)
    speaker = [np.full((120, 160, 3), 90, np.uint8)] * 6
    still = V.video_frames(speaker, (0, 0, 160, 120), moving_shapes(6, 0.0), ref, 3, K)
    moving = V.video_frames(speaker, (0, 0, 160, 120), moving_shapes(6, 0.3), ref, 3, K)
    assert all(drawn(listener_half(f)) > 0.01 for f in still + moving)   # a face on white
    # the first frames agree (no displacement yet), the last differ where the mouth dropped
    assert np.array_equal(listener_half(still[0]), listener_half(moving[0]))
    assert not np.array_equal(listener_half(still[-1]), listener_half(moving[-1]))
    diff = np.abs(listener_half(still[-1]).astype(int) - listener_half(moving[-1])).max(axis=2)
    assert (diff > 60).mean() > 0.002
    # still prediction: every listener frame is the same picture; moving: they change
    assert all(np.array_equal(listener_half(f), listener_half(still[0])) for f in still)
    assert len({listener_half(f).tobytes() for f in moving}) == len(moving)
    # and the speaker's half is the clip, not the face
    assert (still[0][:V.PANEL, :V.PANEL] == 90).mean() > 0.5


def test_mp4_and_strip_are_deterministic_and_decodable(tmp_path):
    ref = CANONICAL.reshape(136)
    frames = V.video_frames([None] * 8, (0, 0, 0, 0), moving_shapes(8, 0.3), ref, 4, K)
    audio = (0.1 * np.sin(np.arange(int(8 / FPS * SR)) * 0.05)).astype(np.float32)
    for name in ("a.mp4", "b.mp4"):
        V.write_mp4(tmp_path / name, frames, FPS, audio, SR)
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()
    with av.open(str(tmp_path / "a.mp4")) as c:
        assert c.streams.audio and c.streams.video[0].codec_context.name == "h264"
        got = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(got) == 8 and got[0].shape == (V.PANEL + V.CAPTION, 2 * V.PANEL, 3)
    assert drawn(listener_half(got[0])) > 0.01
    shapes = np.stack([moving_shapes(8, a) for a in np.linspace(0.0, 0.3, K)])
    V.draw_strip(tmp_path / "s.png", shapes, ref, np.arange(8) / FPS, 4)
    img = cv2.imread(str(tmp_path / "s.png"))
    assert img.shape[:2] == (V.HEADER + K * V.CELL, V.LABEL + V.STRIP_TIMES * V.CELL)


# -- predict end to end --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def reaction_project(trained, tiny_project, tmp_path_factory):
    """(project dir with a trained tiny reaction model, truth rows of one dialogue, its video
    with the dialogue's audio track, its transcript). The features are the `trained` project's
    (the same corpus and features params: faces at 5 fps), so only reaction trains here."""
    d = make_project(tmp_path_factory.mktemp("predict_reaction"), tiny_project.root, **OVERRIDES)
    shutil.copytree(tiny_project.dir / "data", d / "data")
    shutil.copytree(trained[0] / "features", d / "features")
    run_concurrently([["stages.train", "reaction"]], d)
    truth = tiny_project.truth
    name = sorted(truth["dialog"].unique())[0]
    rows = truth[truth["dialog"] == name].sort_values("start").reset_index(drop=True)
    avi = tiny_project.root / rows.loc[0, "video"]
    with av.open(str(avi)) as c:
        n = int(float(c.duration / 1e6) * SR)
    media = tmp_path_factory.mktemp("predict_reaction_media")
    mux(avi, mixed_track(rows, tiny_project.root, n), media / f"{name}.mkv")
    return d, rows, media / f"{name}.mkv", transcript(rows, media / "transcript.txt")


def test_predict_writes_a_playable_reaction_video_per_segment(reaction_project, tmp_path):
    d, truth, video, tr = reaction_project
    out = tmp_path / "out"
    p = predict(d, "--video", video, "--transcript", tr, "--out", out)
    print(p.stdout)
    seg = pd.read_csv(out / "segments.csv", keep_default_na=False)
    assert len(seg) == len(truth)
    with av.open(str(video)) as c:
        length = float(c.duration) / 1e6
    for c in ["reaction", *(f"reaction_{m}" for m in MEASURES), "reaction_fr_div",
              "reaction_fr_var", "reaction_mp4", "reaction_png"]:
        assert c in seg, c
    ok = seg["reaction"].astype(str).eq("True")
    assert ok.mean() > 0.6, seg[["segment", "notes"]]
    assert seg.loc[~ok, "notes"].str.contains("reaction not predicted").all()
    assert seg.loc[~ok, "reaction_mp4"].eq("").all()
    summary = seg.loc[ok, [f"reaction_{m}" for m in MEASURES] + ["reaction_fr_div",
                                                                 "reaction_fr_var"]]
    assert np.isfinite(summary.astype(float).to_numpy()).all()
    assert (summary["reaction_fr_div"].astype(float) > 0).all()   # the K alternatives differ
    for s in seg[ok].itertuples():
        assert s.reaction_mp4 == f"reaction_{s.segment[3:]}.mp4"
        with av.open(str(out / s.reaction_mp4)) as c:
            v = c.streams.video[0]
            assert float(v.average_rate) == FPS and c.streams.audio
            duration = float(c.duration) / 1e6
            frames = [f.to_ndarray(format="rgb24") for f in c.decode(v)]
        assert abs(len(frames) - duration * FPS) <= 1, (len(frames), duration)
        assert len(frames) == T_OUT
        assert frames[0].shape == (V.PANEL + V.CAPTION, 2 * V.PANEL, 3)
        assert all(drawn(listener_half(f)) > 0.005 for f in frames), s.segment  # a face drawn
        # it moves: pixels well off the first frame's (not the encoder's noise, under 60 here;
        # a still face changes none, the predicted motion hundreds to thousands)
        lis = np.stack([listener_half(f)[4:-4, 8:-4].astype(int) for f in frames])
        moved = (np.abs(lis - lis[0]).max(axis=3) > 60).sum(axis=(1, 2))
        assert moved.max() > 100, (s.segment, moved)
        # the speaker's half is the clip where the input video has frames (the reply of the
        # last turn may run past its end: a grey panel there)
        t = s.end - LISTEN_S + np.arange(len(frames)) / FPS
        spk = np.stack([f[:V.PANEL, :V.PANEL].astype(int) for f in frames])[t < length - 0.2]
        assert len(spk) >= T_OUT // 2 and spk.std(axis=(1, 2, 3)).min() > 5
        img = cv2.imread(str(out / s.reaction_png))
        assert img.shape[:2] == (V.HEADER + K * V.CELL, V.LABEL + V.STRIP_TIMES * V.CELL)
        bands = [img[V.HEADER + r * V.CELL + 2:V.HEADER + (r + 1) * V.CELL, V.LABEL:]
                 for r in range(K)]
        assert all(drawn(b[:, :, ::-1]) > 0.005 for b in bands)     # K panels, each a face
    # the same run again: the same bytes (deterministic outputs)
    again = tmp_path / "again"
    predict(d, "--video", video, "--transcript", tr, "--out", again, "--no-png")
    first = seg.loc[ok, "reaction_mp4"].iloc[0]
    assert (again / first).read_bytes() == (out / first).read_bytes()
    assert not list(again.glob("*.png"))
    assert pd.read_csv(again / "segments.csv", keep_default_na=False)["reaction_png"].eq("").all()
