"""Tests of the sample-corpus generator (stage `sample`) on a tiny corpus.

The tiny corpus is made once per module with the real generator (espeak-ng, OpenCV, the face
bank) and checked for layout, formats, determinism, face detectability and the empathic link.
"""
from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import soundfile as sf

from conftest import run_stage
from empathic.corpora.sample import EMOTIONS, EMPATHY, PRIOR, generate, validate
from empathic.corpora.sample import generator as G
from empathic.corpora.sample.faces import ASTRONAUT_LANDMARKS, astronaut, dlib_landmarks
from empathic.corpora.sample.speech import Prosody, Voice, synthesize
from empathic.errors import ParamError

TINY = dict(seed=3, sessions=3, dialogs_per_session=2, turns_per_dialog=4, fps=10,
            xxx_rate=0.3, overlap_rate=0.5, width=720, height=480, same_speaker_rate=0.1)
ID = re.compile(r"^(Ses\d\d)([FM])_(.+)_([FM])(\d{3})$")
CONSENSUS = re.compile(r"^\[(\d+\.\d{4}) - (\d+\.\d{4})\]\t(\S+)\t(neu|hap|exc|sad|ang|fru|xxx)"
                       r"\t\[(\d\.\d{4}), (\d\.\d{4}), (\d\.\d{4})\]$")
CAT = re.compile(r"^C-E\d:\t(Neutral|Happiness|Excited|Sadness|Anger|Frustration|Surprise|Fear"
                 r"|Disgust|Other);\t\(\)$")
DIM = re.compile(r"^A-E\d:\tval ([1-5]); act ([1-5]); dom  ([1-5]);\t\(\)$")
TRANS = re.compile(r"^(Ses\S+) \[(\d{3}\.\d{4})-(\d{3}\.\d{4})\]: (.+)$")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sample") / "IEMOCAP_full_release"
    summary = generate(root, TINY, workers=1, progress=False)
    assert summary["utterances"] == 3 * 2 * 4
    return root


@pytest.fixture(scope="module")
def truth(corpus) -> list[dict]:
    with open(corpus / "sample_truth.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def dialogs(corpus: Path) -> list[Path]:
    return sorted(corpus.glob("Session*/dialog/EmoEvaluation/*.txt"))


def test_empathy_matrix_is_stochastic_with_distinct_dominant_responses():
    assert EMPATHY.shape == (len(EMOTIONS), len(EMOTIONS))
    assert (EMPATHY >= 0).all() and np.allclose(EMPATHY.sum(axis=1), 1)
    assert np.isclose(PRIOR.sum(), 1)
    dominant = EMPATHY.argmax(axis=1)
    assert len(set(dominant)) == len(EMOTIONS)
    assert (EMPATHY.max(axis=1) >= 0.6).all()


def test_layout_names_and_quirks(corpus, truth):
    sessions = sorted(p.name for p in corpus.glob("Session*"))
    assert sessions == ["Session1", "Session2", "Session3"]
    names = [p.stem for p in dialogs(corpus)]
    assert any(re.fullmatch(r"Ses\d\d[FM]_script\d\d_\d", n) for n in names)
    assert any(re.fullmatch(r"Ses03[FM]_impro\d\db", n) for n in names)
    assert {n[5] for n in names} == {"F", "M"}          # marker wearer varies
    for n in names:
        s = int(n[3:5])
        for sub in (f"dialog/transcriptions/{n}.txt", f"dialog/avi/DivX/{n}.avi"):
            assert (corpus / f"Session{s}" / sub).is_file()
    # per-speaker numbering: string order differs from time order somewhere
    by_dialog: dict[str, list[dict]] = {}
    for r in truth:
        assert ID.match(r["utt_id"]), r["utt_id"]
        by_dialog.setdefault(r["dialog"], []).append(r)
    assert any([r["utt_id"] for r in rows] != sorted(r["utt_id"] for r in rows)
               for rows in by_dialog.values())


def test_emo_evaluation_format_and_consistency(corpus, truth):
    true = {r["utt_id"]: r for r in truth}
    seen = 0
    for path in dialogs(corpus):
        text = path.read_text(encoding="utf-8")
        assert text.startswith("% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n")
        for block in text.split("\n\n")[1:]:
            lines = [ln for ln in block.split("\n") if ln]
            if not lines:
                continue
            m = CONSENSUS.match(lines[0])
            assert m, lines[0]
            utt, code = m.group(3), m.group(4)
            assert ID.match(utt) and utt.startswith(path.stem + "_")
            cats = [CAT.match(ln) for ln in lines[1:] if ln.startswith("C-")]
            dims = [DIM.match(ln) for ln in lines[1:] if ln.startswith("A-")]
            assert len(cats) == 3 and all(cats) and len(dims) == 3 and all(dims), block
            ratings = np.array([[int(g) for g in d.groups()] for d in dims])
            assert np.allclose(ratings.mean(axis=0), [float(m.group(i)) for i in (5, 6, 7)],
                               atol=1e-4)
            assert code == true[utt]["consensus"]
            assert code in ("xxx", true[utt]["emotion"])
            assert abs(float(m.group(1)) - float(true[utt]["start"])) < 1e-4
            seen += 1
    assert seen == len(truth)
    assert any(r["consensus"] == "xxx" for r in truth)
    assert any(r["consensus"] != "xxx" for r in truth)


def test_transcriptions_overlaps_and_non_utterance_lines(corpus):
    overlaps = non_ses = 0
    for path in sorted(corpus.glob("Session*/dialog/transcriptions/*.txt")):
        prev_end = None
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.startswith("Ses"):
                non_ses += 1
                continue
            m = TRANS.match(line)
            assert m, line
            start, end = float(m.group(2)), float(m.group(3))
            assert end > start
            overlaps += prev_end is not None and start < prev_end
            prev_end = end
    assert non_ses >= 1 and overlaps >= 1


def test_wavs_are_16k_mono_pcm16_and_match_times(corpus, truth):
    for r in truth:
        info = sf.info(str(corpus / r["wav"]))
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        assert abs(info.duration - (float(r["end"]) - float(r["start"]))) < 1e-3


def test_scripts_are_shared_across_sessions(truth):
    lines: dict[str, set] = {}
    for r in truth:
        if r["kind"] == "script":
            script = re.match(r"Ses\d\d[FM]_(script\d\d)_", r["dialog"]).group(1)
            lines.setdefault(script, set()).add(r["text"])
    assert lines and all(len(v) == TINY["turns_per_dialog"] for v in lines.values())


def test_response_emotion_follows_prompt_by_the_matrix(truth):
    # the truth records the prompt emotion each turn was drawn from
    for r in truth:
        if r["prompt_emotion"]:
            assert r["prompt_emotion"] in EMOTIONS and r["emotion"] in EMOTIONS
    rng = np.random.default_rng(0)
    counts = np.zeros((len(EMOTIONS), len(EMOTIONS)))
    for _ in range(5):
        spec = G.DialogSpec(1, 0, "Ses01F_impro01", "impro", "", "F")
        c = validate(dict(TINY, turns_per_dialog=200))
        for t in G.draw_turns(c, spec, rng):
            if t["prompt_emotion"]:
                counts[EMOTIONS.index(t["prompt_emotion"]), EMOTIONS.index(t["emotion"])] += 1
    assert (counts.argmax(axis=1) == EMPATHY.argmax(axis=1)).all()


def test_video_is_720x480_and_the_speaker_face_is_found(corpus, truth):
    rows = [r for r in truth if r["dialog"] == truth[0]["dialog"]]
    cap = cv2.VideoCapture(str(corpus / rows[0]["video"]))
    assert (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (720, 480)
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(TINY["fps"])
    frames = []
    while True:
        ok, fr = cap.read()
        if not ok:
            break
        frames.append(fr)
    assert len(frames) == math.ceil((max(float(r["end"]) for r in rows) + 0.6) * TINY["fps"])
    import dlib
    detector = dlib.get_frontal_face_detector()
    found = total = 0
    for r in rows:
        f0, f1 = (int(float(r[k]) * TINY["fps"]) for k in ("start", "end"))
        for fr in frames[f0 + 1:f1]:
            half = fr[:, :360] if r["side"] == "L" else fr[:, 360:]
            small = cv2.resize(half, (180, 240), interpolation=cv2.INTER_AREA)
            found += len(detector(np.ascontiguousarray(small[:, :, ::-1]), 0)) > 0
            total += 1
    assert total > 20 and found / total >= 0.95


def test_mouth_opening_and_expressions_move_landmarks():
    face = G.actor_face(validate(TINY), 1, "F")
    closed = dlib_landmarks(face.frame("neu", 0.0))
    opened = dlib_landmarks(face.frame("neu", 1.0))
    happy, sad = dlib_landmarks(face.frame("hap", 0.0)), dlib_landmarks(face.frame("sad", 0.0))
    assert opened[66, 1] - opened[62, 1] > closed[66, 1] - closed[62, 1] + 8
    corners = lambda p: p[[48, 54], 1].mean() - p[[62, 66], 1].mean()  # noqa: E731
    assert corners(happy) < corners(sad)                # happy corners sit higher


def test_astronaut_landmarks_are_dlibs():
    img, pts = astronaut()
    assert np.abs(dlib_landmarks(img) - ASTRONAUT_LANDMARKS).max() <= 2


def test_generation_is_deterministic_and_independent_of_the_process(corpus, tmp_path):
    c = validate(TINY)
    spec = G.plan(c)[1]
    G.render_dialog((c, spec, str(tmp_path)))       # again, after other dialogues in this process
    new = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert any(p.suffix == ".avi" for p in new) and any(p.suffix == ".wav" for p in new)
    for rel in new:
        assert (tmp_path / rel).read_bytes() == (corpus / rel).read_bytes(), rel


def test_prosody_follows_emotion():
    voice = Voice("empt00f", True, 1.0)
    text = "I left the keys on the kitchen table."
    loud, soft = (synthesize(text, voice, Prosody(*G.PROSODY[e][:1], 50 + G.PROSODY[e][1],
                                                  *G.PROSODY[e][2:])) for e in ("ang", "sad"))
    rms = lambda x: float(np.sqrt(np.mean(x.astype(float) ** 2)))  # noqa: E731
    assert rms(loud) > 1.5 * rms(soft) and len(soft) > 1.2 * len(loud)
    again = synthesize(text, voice, Prosody(*G.PROSODY["ang"][:1], 50 + G.PROSODY["ang"][1],
                                            *G.PROSODY["ang"][2:]))
    assert np.array_equal(again, loud)
    other = Voice("empt00f", True, 1.1)                 # same name, other voice: no stale variant
    assert not np.array_equal(synthesize(text, other, Prosody(160, 50, 35, 100)),
                              synthesize(text, voice, Prosody(160, 50, 35, 100)))


def test_bad_params_give_one_line(tmp_path):
    with pytest.raises(ParamError, match="sample.sessions"):
        validate(dict(TINY, sessions=2))
    with pytest.raises(ParamError, match="sample.fps"):
        validate(dict(TINY, fps="fast"))
    (tmp_path / "params.yaml").write_text("sample:\n  out: out\n  turns_per_dialog: 1\n")
    p = run_stage(["stages.sample", "--no-progress"], cwd=tmp_path, check=False)
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0 and "sample.turns_per_dialog" in p.stderr
    assert not (tmp_path / "out").exists()


def test_stage_writes_the_corpus_and_a_summary(tmp_path):
    (tmp_path / "params.yaml").write_text(
        "sample:\n  out: data/sample\n  seed: 1\n  sessions: 3\n  dialogs_per_session: 1\n"
        "  turns_per_dialog: 2\n  fps: 5\n  width: 720\n  height: 480\n  overlap_rate: 0.3\n"
        "  same_speaker_rate: 0.1\n  xxx_rate: 0.12\nfeatures:\n  workers: 1\n")
    p = run_stage(["stages.sample", "--no-progress"], cwd=tmp_path)
    assert "3 sessions, 3 dialogues, 6 utterances" in p.stdout
    root = tmp_path / "data" / "sample"
    assert sorted(x.name for x in root.iterdir()) == ["IEMOCAP_full_release"]  # no temp left
    assert len(list(root.glob("IEMOCAP_full_release/Session*/dialog/avi/DivX/*.avi"))) == 3
