"""`stages.predict --side auto` finds the speaker wherever they are (empathic/predict/layout.py).

The layout rules on their own (fast), then predict end to end with the tiny models of
conftest's `trained` fixture on videos recomposed from a sample dialogue: one actor
alone in the middle of a 640x480 frame (the face crosses the frame's middle), and three people
side by side in 1080x480 (the dialogue's two actors and a still photo of a third who never
speaks), where each turn must be read from its speaker's strip.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import yaml

from empathic import predict as PR
from empathic.extractors.face import side_columns
from empathic.predict import layout as L
from face_scenes import placed, scene_frames
from test_predict import SR, dialogue, mixed_track, mux, predict  # noqa: F401 (fixture)


def test_one_person_anywhere_is_read_from_the_whole_frame():
    one = L.group([[(330.0, 200.0)], [(336.0, 205.0)], []])
    assert len(one) == 1 and L.parts(one, 640) == ("full",)
    assert L.parts([], 640) == ("full",)


def test_two_people_in_the_halves_keep_the_halves_else_strips():
    two = L.group([[(180.0, 200.0), (540.0, 190.0)]] * 4)
    assert L.parts(two, 720) == ("left", "right")
    crossing = L.group([[(300.0, 260.0), (600.0, 120.0)]] * 4)   # the left face crosses x=360
    assert L.parts(crossing, 720) == ("x0-450", "x450-720")
    three = L.group([[(150.0, 80.0), (400.0, 90.0), (700.0, 85.0)]] * 3 + [[(402.0, 90.0)]])
    assert [p.seen for p in three] == [3, 4, 3]
    assert L.parts(three, 900) == ("x0-275", "x275-550", "x550-900")
    rare = L.group([[(180.0, 200.0)]] * 8 + [[(180.0, 200.0), (600.0, 40.0)]])
    assert len(rare) == 1                  # a face seen once in nine frames is not a person


def test_scan_times_spread_over_the_segments():
    from empathic.predict.segments import Segment
    segs = [Segment(0.0, 3.0), Segment(10.0, 13.0)]
    assert L.scan_times(segs) == [0.5, 1.5, 2.5, 10.5, 11.5, 12.5]
    many = [Segment(float(i), i + 0.6) for i in range(20)]
    t = L.scan_times(many)
    assert len(t) == L.MAX_FRAMES and t[0] == pytest.approx(0.1) and t[-1] > 19


def recompose(src, out, make) -> None:
    """Every frame of `src` (BGR) through `make` into `out` (XVID AVI, the same frame rate)."""
    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS)
    vw = None
    while True:
        ok, fr = cap.read()
        if not ok:
            break
        new = make(fr)
        if vw is None:
            vw = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"XVID"), fps,
                                 (new.shape[1], new.shape[0]))
        vw.write(new)
    vw.release()


@pytest.fixture(scope="module")
def root(trained):
    d, _ = trained
    return Path(yaml.safe_load((d / "params.yaml").read_text())["data"]["root"])


def run_on(d, root, rows, all_rows, make, name, tmp_path):
    """predict on the dialogue's video recomposed by `make`, with the audio and transcript of
    `rows`; returns (stdout, segments table)."""
    avi = tmp_path / f"{name}.avi"
    recompose(root / rows.loc[0, "video"], avi, make)
    n = int((all_rows["end"].max() + 1) * SR)
    mux(avi, mixed_track(rows, root, n), tmp_path / f"{name}.mkv")
    rows[["start", "end", "text"]].to_csv(tmp_path / f"{name}.csv", index=False)
    p = predict(d, "--video", tmp_path / f"{name}.mkv", "--transcript", tmp_path / f"{name}.csv",
                "--out", tmp_path / name, "--no-png")
    print("\n".join(ln for ln in p.stdout.splitlines() if ln.startswith(("layout", "models"))))
    return p.stdout, pd.read_csv(tmp_path / name / "segments.csv", keep_default_na=False)


def with_face(seg: pd.DataFrame) -> pd.Series:
    return seg["modalities"].str.contains("video") & seg["modalities"].str.contains("landmarks")


def test_one_person_in_the_centre(dialogue, root, tmp_path):
    """The left actor's half (360 px) in the middle of a 640 px frame: the face spans x = 320,
    so neither half holds it; auto reads the whole frame."""
    d, truth, _, _, _ = dialogue
    rows = truth[truth["side"] == "L"].reset_index(drop=True)
    out, seg = run_on(d, root, rows, truth, lambda fr: cv2.copyMakeBorder(
        fr[:, :360], 0, 0, 140, 140, cv2.BORDER_REPLICATE), "one", tmp_path)
    assert "layout: 1 person" in out and "reading full" in out
    # honest predict: the checkpoints say what they were trained on (the tiny built-in sample)
    assert "models trained on iemocap (the built-in sample): dimensional, emotion, response" in out
    assert PR.SAMPLE_NOTE in out
    assert len(seg) == len(rows) and seg["side"].eq("full").all()
    assert with_face(seg).mean() >= 0.8, seg[["segment", "modalities", "notes"]]
    assert seg.loc[with_face(seg), "listener_landmarks"].astype(str).eq("True").all()


def test_three_people_the_speaker_is_picked(dialogue, root, tmp_path):
    """Both actors and, on the right, a still photo of someone who never speaks: each turn is
    read from its speaker's strip (the face whose mouth moves while the voice is heard)."""
    d, truth, _, _, _ = dialogue
    still = scene_frames(placed(90, "centre"), 1)[0][:, 180:540]     # a 360 px wide third
    out, seg = run_on(d, root, truth, truth, lambda fr: np.concatenate([fr, still], axis=1),
                      "three", tmp_path)
    assert "layout: 3 people" in out
    parts = sorted(set(seg["side"]) - {""}, key=lambda s: side_columns(s, 1080)[0])
    assert all(s.startswith("x") for s in parts), parts
    centre = {"L": 180, "R": 540}
    right = [side_columns(s, 1080)[0] <= centre[t] < side_columns(s, 1080)[1]
             for s, t in zip(seg["side"], truth["side"]) if s]
    assert len(right) >= 0.8 * len(seg) and np.mean(right) >= 0.9, seg[["segment", "side"]]
    assert not any(side_columns(s, 1080)[0] >= 720 for s in seg["side"] if s)   # never the photo
