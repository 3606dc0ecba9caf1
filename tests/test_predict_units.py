"""predict's parts that need no trained project: the model choice per set of modalities (the
selected checkpoint or decision fusion, else the members' soft vote), the fusion arithmetic,
transcripts, voice activity and the output folder replaced as one set."""
from __future__ import annotations

import numpy as np
import pytest

from empathic import predict as PR
from empathic.errors import EmpathicError
from empathic.predict.decision import Decision
from empathic.predict.output import output_set, prepare
from empathic.predict.models import text_skipped

SR = 16000


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


class FixedModel(FoldModel):
    """A checkpoint stand-in that returns fixed emotion logits (one row per input row)."""

    def __init__(self, inputs, logits):
        super().__init__(inputs)
        self.logits = np.asarray(logits, float)

    def predict(self, X):
        return {"emotion": np.repeat(self.logits[None], len(next(iter(X.values()))), axis=0)}


def test_decision_fusion_per_unit_then_averaged():
    """Two units (fold x seed), three members: each unit fuses its own members' probabilities
    as evaluation does; hard_vote's probabilities are the share of units voting each class."""
    big = 5.0
    votes = [[0, 0, 1], [1, 1, 0]]                      # unit -> each member's top class
    members = [PR.Ensemble("emotion", f"m{j}_only", [FixedModel(["audio"], np.eye(3)[votes[u][j]]
                                                                 * big) for u in range(2)], True)
               for j in range(3)]
    X = {"audio": np.zeros((2, 4))}
    hard = Decision("emotion", "hard_vote", members).predict(X)["emotion"]
    np.testing.assert_allclose(hard, [[0.5, 0.5, 0.0]] * 2)
    soft = Decision("emotion", "soft_vote", members).predict(X)["emotion"]
    np.testing.assert_allclose(soft.sum(axis=1), 1.0)
    assert soft[0, 0] == pytest.approx(soft[0, 1]) and soft[0, 2] < soft[0, 0]
    w = Decision("emotion", "weighted_vote", members, [[0, 0, 1], [0, 0, 1]]).predict(X)["emotion"]
    q = 1 / (np.exp(big) + 2)             # the third member alone: top class 1, then 0
    np.testing.assert_allclose(w[0], [0.5 - q / 2, 0.5 - q / 2, q], atol=1e-9)


def test_selected_decision_fusion_and_its_fallback():
    members = {"text_only": ["text"], "audio_only": ["audio"], "video_only": ["video"]}
    ens = {n: PR.Ensemble("emotion", n, [FoldModel(i)], True) for n, i in members.items()}
    ms = PR.ModelSet(emotion=ens, emotion_best="hard_vote", emotion_members=list(members),
                     emotion_decision=Decision("emotion", "hard_vote", list(ens.values())))
    assert [e.name for e in ms.emotion_choice({"text", "audio", "video"})] == ["hard_vote"]
    assert ms.emotion_fallback({"text", "audio", "video"}) == ""
    assert [e.name for e in ms.emotion_choice({"audio", "video"})] == ["audio_only", "video_only"]
    assert ms.emotion_fallback({"audio", "video"}) == "hard_vote (selected on validation) needs text"
    assert text_skipped(ms) == ["emotion models that need text are skipped: text_only, hard_vote "
                                "(tasks.emotion.inputs / tasks.emotion.members name text)"]
    unselected = PR.ModelSet(emotion=ens, emotion_members=list(members),
                             emotion_unselected="metrics/emotion.json names no model")
    assert unselected.emotion_fallback({"text", "audio", "video"}) == \
        "metrics/emotion.json names no model"


def test_output_set_replaces_the_folder_whole(tmp_path):
    out = tmp_path / "pred"
    out.mkdir()
    (out / "segments.csv").write_text("old\n")
    (out / "segment_000.png").write_text("old png")
    (tmp_path / ".pred.x1y2.tmp").mkdir()                # left by a run killed while drawing
    lines = []
    prepare(out, lines.append)
    assert len(lines) == 1 and "removed stale temporary" in lines[0]
    with pytest.raises(EmpathicError):
        with output_set(out) as tmp:
            (tmp / "segment_000.png").write_text("new png")
            raise EmpathicError("stopped while drawing")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pred"]
    assert (out / "segment_000.png").read_text() == "old png"
    with output_set(out) as tmp:
        (tmp / "segments.csv").write_text("new\n")
    assert sorted(p.name for p in out.iterdir()) == ["segments.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pred"]
    (out / "notes.txt").write_text("mine")
    with pytest.raises(EmpathicError, match=r"holds files predict did not write \(notes.txt\)"):
        prepare(out)


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
