"""The KEMDy19 and KEMDy20 readers on fixtures written in the corpora's file formats."""
from __future__ import annotations

import csv
import math
import shutil

import pytest

from empathic.corpora.kemdy19 import read_kemdy19
from empathic.corpora.kemdy20 import read_kemdy20
from empathic.errors import CorpusError
from empathic.folds import make_folds
from empathic.pairs import validate_utterances
from empathic.tables import UTTERANCE_COLUMNS
from kemdy_fixture import CLOCK19, write_kemdy19, write_kemdy20


@pytest.fixture(scope="module")
def k19(tmp_path_factory):
    root = tmp_path_factory.mktemp("kemdy19")
    return root, write_kemdy19(root, n_sessions=3)


@pytest.fixture(scope="module")
def k20(tmp_path_factory):
    root = tmp_path_factory.mktemp("kemdy20")
    return root, write_kemdy20(root, n_sessions=3)


def by_id(df):
    return {r.utt_id: r for r in df.itertuples(index=False)}


@pytest.mark.parametrize("which", ["k19", "k20"])
def test_contract_order_and_folds(which, request):
    root, plan = request.getfixturevalue(which)
    df = (read_kemdy19 if which == "k19" else read_kemdy20)(root)
    assert list(df.columns[:len(UTTERANCE_COLUMNS)]) == UTTERANCE_COLUMNS
    validate_utterances(df)           # the pairs stage's own contract check (time order etc.)
    assert len(df) == len(plan)
    assert sorted(df["session"].unique()) == ["Sess01", "Sess02", "Sess03"]
    assert set(df["corpus"]) == {"kemdy19" if which == "k19" else "kemdy20"}
    assert (df["video"] == "").all() and (df["video_side"] == "").all()
    assert df["dominance"].isna().all()
    for r in df.itertuples():
        assert (root / r.wav).is_file() and not r.wav.startswith("/")
    # annotation rows are in id order (F001, F002, M001, ...); the table is in time order
    first = df[df["dialog"] == "Sess01_script01"]["utt_id"].tolist()[:3]
    assert [u.replace("User001", "").replace("User002", "")[-5:].strip("_") for u in first] in (
        ["F001", "M001", "F002"], ["F_001", "M_001", "F_002"])
    folds = make_folds(df["session"], "loso-session", 1)
    assert [f["test"] for f in folds["folds"]] == [["Sess01"], ["Sess02"], ["Sess03"]]


@pytest.mark.parametrize("which", ["k19", "k20"])
def test_labels_text_and_speakers(which, request):
    root, plan = request.getfixturevalue(which)
    rows = by_id((read_kemdy19 if which == "k19" else read_kemdy20)(root))
    for sg in plan:
        r = rows[sg["id"]]
        assert r.text == sg["text"]                     # utf-8 and cp949 files both decoded
        assert r.emotion == sg["emotion"].replace("disqust", "disgust")
        assert (r.valence, r.arousal) == (sg["valence"], sg["arousal"])
        assert r.gender == sg["gender"]
        assert math.isclose(r.start, sg["start"]) and math.isclose(r.end, sg["end"])
    emotions = {r.emotion for r in rows.values()}
    assert "happy;neutral" in emotions and "disgust" in emotions and "disqust" not in emotions
    sample = rows[plan[1]["id"]]
    if which == "k19":
        assert (sample.speaker, sample.dialog) == ("Sess01_M", "Sess01_impro01")
    else:
        assert (sample.speaker, sample.dialog) == ("User002M", "Sess01_script01")
        assert len(sample.rater_emotions.split("|")) == 10


def test_kemdy19_listener_label_comes_from_the_other_participants_file(k19):
    root, plan = k19
    rows = by_id(read_kemdy19(root))
    raw = {}
    for g in "FM":
        with open(root / "annotation" / f"Session01_{g}_res.csv", encoding="utf-8") as f:
            raw[g] = {r[9]: r for r in list(csv.reader(f))[2:]}
    seg = "Sess01_impro01_F001"          # spoken by F
    r = rows[seg]
    assert r.emotion == raw["F"][seg][10] == "neutral"
    assert r.listener_emotion == raw["M"][seg][10] == "angry"       # M's file, not F's
    assert (r.listener_valence, r.listener_arousal) == (float(raw["M"][seg][11]),
                                                         float(raw["M"][seg][12]))
    for sg in plan:
        assert rows[sg["id"]].listener_emotion == sg["listener_emotion"].replace("disqust",
                                                                                   "disgust")
        assert rows[sg["id"]].listener_emotion != rows[sg["id"]].emotion


def test_kemdy19_physio_times_are_on_the_speakers_own_clocks(k19):
    root, plan = k19
    rows = by_id(read_kemdy19(root))
    for sg in plan:
        r = rows[sg["id"]]
        for sig in ("ecg", "eda", "temp"):
            off = CLOCK19[sg["gender"]][sig]
            assert math.isclose(getattr(r, f"{sig}_start"), sg["start"] + sg["base"] + off)
            assert math.isclose(getattr(r, f"{sig}_end"), sg["end"] + sg["base"] + off)


def test_not_a_corpus_root(tmp_path, k19):
    with pytest.raises(CorpusError, match="not a KEMDy19 folder"):
        read_kemdy19(tmp_path)
    with pytest.raises(CorpusError, match="not a KEMDy20 folder"):
        read_kemdy20(k19[0])            # a KEMDy19 root is not a KEMDy20 one


def _copy(src, dst):
    shutil.copytree(src, dst)
    return dst


def _set_field(path, lineno, col, value):
    """Set field `col` of line `lineno` of a CSV file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    fields = lines[lineno - 1].split(",")
    fields[col] = value
    lines[lineno - 1] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_unparsable_value_names_file_and_line(tmp_path, k19, k20):
    root = _copy(k19[0], tmp_path / "k19")
    ann = root / "annotation" / "Session02_M_res.csv"
    _set_field(ann, 4, 11, "one")            # line 4: its total valence
    with pytest.raises(CorpusError, match=r"Session02_M_res\.csv:4: .*'one'.*expected a number"):
        read_kemdy19(root)
    root = _copy(k20[0], tmp_path / "k20")
    ann = root / "annotation" / "Sess01_eval.csv"
    _set_field(ann, 3, 3, "Sess01-script01-F1")     # line 3: its segment id
    with pytest.raises(CorpusError, match=r"Sess01_eval\.csv:3: segment id 'Sess01-script01-F1'"):
        read_kemdy20(root)


def test_missing_referenced_files(tmp_path, k19, k20):
    root = _copy(k19[0], tmp_path / "k19")
    (root / "wav/Session01/Sess01_impro01/Sess01_impro01_M002.wav").unlink()
    with pytest.raises(CorpusError, match=r"Session01_M_res\.csv:\d+: segment "
                                          r"Sess01_impro01_M002 has no Sess01_impro01_M002\.wav"):
        read_kemdy19(root)
    (root / "annotation" / "Session03_F_res.csv").unlink()
    with pytest.raises(CorpusError, match=r"Session03_F_res\.csv not found"):
        read_kemdy19(root)
    root = _copy(k20[0], tmp_path / "k20")
    (root / "wav/Session02/Sess02_script02_User004M_001.txt").unlink()
    with pytest.raises(CorpusError, match=r"Sess02_eval\.csv:\d+: segment "
                                          r"Sess02_script02_User004M_001 has no .*\.txt"):
        read_kemdy20(root)
