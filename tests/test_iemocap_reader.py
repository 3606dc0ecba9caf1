"""The IEMOCAP reader on fixtures written in the exact file formats, quirks included."""
from __future__ import annotations

import shutil

import pytest

from empathic.corpora.iemocap import COLUMNS, parse_utt_id, read_iemocap
from empathic.errors import CorpusError
from iemocap_fixture import Turn, alternating, write_corpus, write_dialog


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("iemocap") / "IEMOCAP_full_release")


@pytest.fixture(scope="module")
def utts(corpus):
    return read_iemocap(corpus)


def row(utts, utt_id):
    r = utts[utts["utt_id"] == utt_id]
    assert len(r) == 1, utt_id
    return r.iloc[0]


@pytest.mark.parametrize("utt_id, expected", [
    ("Ses01F_impro01_M003", ("Ses01", "F", "Ses01F_impro01", "M", "impro")),
    ("Ses01F_script01_1_F000", ("Ses01", "F", "Ses01F_script01_1", "F", "script")),
    ("Ses03M_impro08b_M001", ("Ses03", "M", "Ses03M_impro08b", "M", "impro")),
    ("Ses05M_script01_1b_F012", ("Ses05", "M", "Ses05M_script01_1b", "F", "script")),
])
def test_parse_utt_id(utt_id, expected):
    info = parse_utt_id(utt_id)
    assert (info["session"], info["marker"], info["dialog"], info["gender"], info["kind"]) == expected


@pytest.mark.parametrize("bad", ["M:", "Ses01F_impro01", "Ses01F_impro01_X003", "Ses1F_impro01_F003",
                                 "Ses01F_impro01_F03"])
def test_parse_utt_id_rejects(bad):
    assert parse_utt_id(bad) is None


def test_reads_every_utterance_with_contract_columns(utts):
    assert list(utts.columns) == COLUMNS
    assert len(utts) == 9 + 4 * 5
    assert sorted(utts["session"].unique()) == ["Ses01", "Ses02", "Ses03"]
    assert set(utts["corpus"]) == {"iemocap"}
    assert sorted(utts["dialog"].unique()) == [
        "Ses01F_impro01", "Ses01F_script01_1", "Ses02M_impro08b", "Ses02M_script01_1b",
        "Ses03F_impro02", "Ses03M_impro03"]


def test_time_order_within_dialogue_not_id_order(utts):
    d = utts[utts["dialog"] == "Ses01F_impro01"]
    assert list(d["start"]) == sorted(d["start"])
    ids = list(d["utt_id"])
    assert ids.index("Ses01F_impro01_M002") < ids.index("Ses01F_impro01_M003")
    assert ids[:2] == ["Ses01F_impro01_F000", "Ses01F_impro01_M000"]  # overlapping turns kept


def test_labels_times_and_rater_lines_are_raw(utts):
    r = row(utts, "Ses01F_impro01_M000")
    assert (r["start"], r["end"], r["emotion"]) == (2.5, 4.0, "fru")
    assert (r["valence"], r["arousal"], r["dominance"]) == (2.0, 3.5, 3.5)
    assert r["raters_emotion"] == "E2:Neutral;E3:Neutral,Anger;F1:Neutral"
    assert r["n_raters"] == 3
    assert r["raters_vad"] == "E3:3,2,2;F1:4,3,1"
    assert row(utts, "Ses01F_impro01_F002")["emotion"] == "xxx"
    s = row(utts, "Ses01F_script01_1_M000")
    assert (s["n_raters"], s["raters_emotion"]) == (2, "E1:Happiness;E2:Excited")


def test_text_from_transcriptions_latin1_and_missing(utts):
    assert row(utts, "Ses01F_impro01_M000")["text"] == "Do you have your forms?"
    assert row(utts, "Ses01F_script01_1_M000")["text"] == "Caf\u00e9 au lait, s'il vous pla\u00eet."
    assert row(utts, "Ses03F_impro02_M001")["text"] == ""
    assert row(utts, "Ses03F_impro02_F001")["text"] == "Turn 2 of Ses03F_impro02."
    assert utts.attrs["notes"] == [
        "1 transcription lines without an utterance id skipped",
        "1 utterances without a transcription line (empty text)",
        "4 utterances without a dialogue video (empty video, video_side)"]


def test_speakers_paths_and_video_side(utts, corpus):
    r = row(utts, "Ses01F_script01_1_F001")
    assert (r["speaker"], r["gender"], r["marker"], r["dialog_kind"]) == ("Ses01_F", "F", "F", "script")
    assert r["wav"] == "Session1/sentences/wav/Ses01F_script01_1/Ses01F_script01_1_F001.wav"
    assert r["video"] == "Session1/dialog/avi/DivX/Ses01F_script01_1.avi"
    for _, u in utts.iterrows():
        assert (corpus / u["wav"]).is_file()
        if u["video"]:
            assert (corpus / u["video"]).is_file()
    # The marker wearer sits left: F-marker dialogue -> F left; M-marker dialogue -> M left.
    assert row(utts, "Ses01F_impro01_F000")["video_side"] == "left"
    assert row(utts, "Ses01F_impro01_M000")["video_side"] == "right"
    assert row(utts, "Ses02M_impro08b_M000")["video_side"] == "left"
    assert row(utts, "Ses02M_impro08b_F000")["video_side"] == "right"
    assert (row(utts, "Ses03M_impro03_M000")[["video", "video_side"]] == "").all()


def test_ignores_foreign_and_hidden_files(tmp_path):
    root = write_corpus(tmp_path / "IEMOCAP_full_release")
    (root / "sample_truth.csv").write_text("utt_id,truth\nx,1\n")
    (root / "Session1" / "dialog" / "EmoEvaluation" / "._Ses01F_impro01.txt").write_bytes(b"\x00\x05\x16")
    (root / "Session1" / "dialog" / "EmoEvaluation" / "Categorical").mkdir()
    (root / "Documentation").mkdir()
    assert len(read_iemocap(root)) == 29


def _one_dialog(tmp_path, **kw):
    root = tmp_path / "IEMOCAP_full_release"
    write_dialog(root, "Ses01F_impro01", alternating("Ses01F_impro01", 4), **kw)
    return root


def test_bad_consensus_line_names_file_and_line(tmp_path):
    root = _one_dialog(tmp_path)
    emo = root / "Session1/dialog/EmoEvaluation/Ses01F_impro01.txt"
    lines = emo.read_text().splitlines()
    n = next(i for i, ln in enumerate(lines) if ln.startswith("[6.0000"))
    lines[n] = lines[n].replace("[2.5000, 3.0000, 2.0000]", "[2.5000, 3.0000]")
    emo.write_text("\n".join(lines) + "\n")
    with pytest.raises(CorpusError, match=rf"Ses01F_impro01.txt:{n + 1}: cannot parse consensus"):
        read_iemocap(root)


def test_unexpected_line_and_bad_rater_line(tmp_path):
    root = _one_dialog(tmp_path)
    emo = root / "Session1/dialog/EmoEvaluation/Ses01F_impro01.txt"
    good = emo.read_text()
    emo.write_text(good.replace("A-E3:\tval 3; act 2; dom  2;", "A-E3:\tval 3; act two", 1))
    with pytest.raises(CorpusError, match=r"Ses01F_impro01.txt:7: cannot parse rater line"):
        read_iemocap(root)
    emo.write_text(good.replace("C-E2:", "garbage C-E2:", 1))
    with pytest.raises(CorpusError, match=r"Ses01F_impro01.txt:4: unexpected line"):
        read_iemocap(root)


def test_missing_wav(tmp_path):
    root = _one_dialog(tmp_path)
    (root / "Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_M001.wav").unlink()
    with pytest.raises(CorpusError, match=r"Ses01F_impro01.txt:\d+: Ses01F_impro01_M001: wav file missing"):
        read_iemocap(root)


def test_utterance_of_another_dialogue(tmp_path):
    root = tmp_path / "IEMOCAP_full_release"
    write_dialog(root, "Ses01F_impro01", alternating("Ses01F_impro01", 2))
    emo = root / "Session1/dialog/EmoEvaluation/Ses01F_impro01.txt"
    emo.write_text(emo.read_text().replace("Ses01F_impro01_M000", "Ses01F_impro02_M000"))
    with pytest.raises(CorpusError, match=r"Ses01F_impro02_M000 does not belong to dialogue Ses01F_impro01"):
        read_iemocap(root)


def test_transcription_times_must_agree(tmp_path):
    root = _one_dialog(tmp_path)
    tr = root / "Session1/dialog/transcriptions/Ses01F_impro01.txt"
    tr.write_text(tr.read_text().replace("[003.5000-005.5000]", "[013.5000-015.5000]"))
    with pytest.raises(CorpusError, match=r"transcriptions/Ses01F_impro01.txt:3: .*disagree"):
        read_iemocap(root)


def test_not_a_corpus_and_empty_corpus(tmp_path):
    with pytest.raises(CorpusError, match="not found"):
        read_iemocap(tmp_path / "nowhere")
    (tmp_path / "other" / "wav").mkdir(parents=True)
    with pytest.raises(CorpusError, match="is not an IEMOCAP corpus"):
        read_iemocap(tmp_path / "other")
    (tmp_path / "partial" / "Session1" / "dialog").mkdir(parents=True)
    with pytest.raises(CorpusError, match="Session1: no dialog/EmoEvaluation"):
        read_iemocap(tmp_path / "partial")
    empty = tmp_path / "empty" / "Session1" / "dialog" / "EmoEvaluation"
    empty.mkdir(parents=True)
    (empty / "Ses01F_impro01.txt").write_text("% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n")
    with pytest.raises(CorpusError, match="empty corpus"):
        read_iemocap(tmp_path / "empty")


def test_dialogue_without_transcription_file_gets_empty_text(tmp_path):
    root = _one_dialog(tmp_path)
    (root / "Session1/dialog/transcriptions/Ses01F_impro01.txt").unlink()
    utts = read_iemocap(root)
    assert (utts["text"] == "").all() and len(utts) == 4
    assert "4 utterances without a transcription line" in utts.attrs["notes"][1]


def test_duplicate_utterance(tmp_path):
    root = tmp_path / "IEMOCAP_full_release"
    write_dialog(root, "Ses01F_impro01", [Turn("Ses01F_impro01_F000", 1, 2), Turn("Ses01F_impro01_F000", 3, 4)])
    shutil.rmtree(root / "Session1/dialog/transcriptions")
    with pytest.raises(CorpusError, match="Ses01F_impro01_F000 appears twice"):
        read_iemocap(root)
