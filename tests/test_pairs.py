"""Pairs (real adjacencies by time), folds (speaker-independent) and the `pairs` stage end to end."""
from __future__ import annotations

import pandas as pd
import pytest

from conftest import run_stage
from empathic.errors import ParamError
from empathic.folds import make_folds, select_folds
from empathic.pairs import extract_pairs, read_corpus
from empathic.tables import PAIR_COLUMNS, UTTERANCE_COLUMNS, load_folds, load_pairs, load_utterances
from iemocap_fixture import write_corpus
from stages.pairs import write_together


@pytest.fixture(scope="module")
def utts(tmp_path_factory):
    return read_corpus("iemocap", write_corpus(tmp_path_factory.mktemp("c") / "IEMOCAP_full_release"))


def ids(pairs):
    return set(zip(pairs["prompt_id"], pairs["response_id"]))


def assert_real_adjacencies(utts, pairs, max_gap_s):
    u = utts.set_index("utt_id")
    for _, p in pairs.iterrows():
        a, b = u.loc[p["prompt_id"]], u.loc[p["response_id"]]
        assert a["dialog"] == b["dialog"] == p["dialog"] and a["session"] == p["session"]
        assert a["speaker"] != b["speaker"]
        assert (p["prompt_speaker"], p["response_speaker"]) == (a["speaker"], b["speaker"])
        assert b["start"] > a["start"]
        assert p["gap"] == pytest.approx(b["start"] - a["end"]) and p["gap"] <= max_gap_s
        assert p["pair_id"] == f"{p['prompt_id']}__{p['response_id']}"
        between = u[(u["dialog"] == a["dialog"]) & (u["speaker"] == b["speaker"])
                    & (u["start"] > a["start"]) & (u["start"] < b["start"])]
        assert between.empty, f"{p['pair_id']}: {list(between.index)} came first"


def test_female_to_male_pairs_are_real_adjacencies(utts):
    pairs, stats = extract_pairs(utts, "F", "M", 5.0)
    assert list(pairs.columns) == PAIR_COLUMNS
    assert_real_adjacencies(utts, pairs, 5.0)
    g = utts.set_index("utt_id")["gender"]
    assert set(g[pairs["prompt_id"]]) == {"F"} and set(g[pairs["response_id"]]) == {"M"}
    assert (stats.prompts, stats.pairs, stats.no_response, stats.gap_too_large) == (15, 12, 1, 2)
    assert stats.prompts == (utts["gender"] == "F").sum()
    assert "15 prompts, 12 pairs, 3 prompts without a response within 5.0 s" in stats.summary(5.0)


def test_overlap_gives_negative_gap_and_order_is_by_time(utts):
    pairs, _ = extract_pairs(utts, "F", "M", 5.0)
    p = pairs.set_index("prompt_id")
    assert p.loc["Ses01F_impro01_F000", "response_id"] == "Ses01F_impro01_M000"
    assert p.loc["Ses01F_impro01_F000", "gap"] == pytest.approx(-0.5)
    # M002 starts before M003 although its id sorts after: it is the response.
    wide, _ = extract_pairs(utts, "F", "M", 10.0)
    assert ("Ses01F_impro01_F003", "Ses01F_impro01_M002") in ids(wide)


def test_max_gap_filters(utts):
    narrow, s5 = extract_pairs(utts, "F", "M", 5.0)
    wide, s10 = extract_pairs(utts, "F", "M", 10.0)
    assert ids(narrow) < ids(wide)
    assert ids(wide) - ids(narrow) == {("Ses01F_impro01_F003", "Ses01F_impro01_M002")}  # gap 8 s
    assert (s10.pairs, s10.gap_too_large) == (13, 1)
    tight, _ = extract_pairs(utts, "F", "M", 0.0)
    assert (tight["gap"] <= 0).all() and len(tight) == 1


def test_directions(utts):
    f2m, _ = extract_pairs(utts, "F", "M", 5.0)
    m2f, s = extract_pairs(utts, "M", "F", 5.0)
    both, _ = extract_pairs(utts, "any", "any", 5.0)
    assert_real_adjacencies(utts, m2f, 5.0)
    assert_real_adjacencies(utts, both, 5.0)
    g = utts.set_index("utt_id")["gender"]
    assert set(g[m2f["prompt_id"]]) == {"M"} and set(g[m2f["response_id"]]) == {"F"}
    assert ("Ses01F_impro01_M000", "Ses01F_impro01_F001") in ids(m2f)
    assert ids(both) == ids(f2m) | ids(m2f)
    assert s.prompts == (utts["gender"] == "M").sum()
    same, _ = extract_pairs(utts, "F", "F", 5.0)  # the partner is never F in a dyad of F and M
    assert same.empty      # a gender outside F, M, any: the schema's (tests/test_params.py)


def _table(turns):
    rows = [{"utt_id": u, "session": "S1", "dialog": "d", "speaker": sp, "gender": sp, "start": s,
             "end": e} for u, sp, s, e in turns]
    return pd.DataFrame(rows).sort_values(["start", "end", "utt_id"]).reset_index(drop=True)


def test_response_must_start_after_prompt_start():
    t = _table([("a", "F", 1.0, 3.0), ("b", "M", 1.0, 2.0), ("c", "M", 2.0, 4.0), ("d", "M", 2.0, 3.0)])
    pairs, _ = extract_pairs(t, "F", "M", 5.0)
    # b starts with a (not a response); c and d tie on start: the earlier end wins.
    assert list(zip(pairs["prompt_id"], pairs["response_id"], pairs["gap"])) == [("a", "d", -1.0)]


# ---- folds -------------------------------------------------------------------------------

SESSIONS = ["Ses03", "Ses01", "Ses05", "Ses02", "Ses04"]


@pytest.mark.parametrize("val_sessions", [1, 2, 3])
def test_loso_folds_are_disjoint_and_validation_comes_from_training(val_sessions):
    folds = make_folds(SESSIONS, "loso-session", val_sessions)
    assert (folds["protocol"], folds["val_sessions"]) == ("loso-session", val_sessions)
    assert [f["name"] for f in folds["folds"]] == sorted(SESSIONS)
    for f in folds["folds"]:
        assert f["test"] == [f["name"]]
        assert not set(f["test"]) & set(f["train"] + f["val"])
        assert not set(f["train"]) & set(f["val"])
        assert len(f["val"]) == val_sessions and f["train"]
        assert sorted(f["train"] + f["val"] + f["test"]) == sorted(SESSIONS)
    assert folds["folds"][0]["val"][0] == "Ses02" and folds["folds"][-1]["val"][0] == "Ses01"
    assert sorted(v for f in folds["folds"] for v in f["val"][:1]) == sorted(SESSIONS)


def test_too_few_sessions():
    """Too few sessions for split.val_sessions is about the corpus (a bad split.scheme or
    val_sessions < 1 is the schema's: tests/test_params.py)."""
    with pytest.raises(ParamError, match="split.val_sessions=1 needs at least 3 sessions"):
        make_folds(["Ses01", "Ses02"], "loso-session", 1)
    with pytest.raises(ParamError, match="split.val_sessions=4"):
        make_folds(SESSIONS, "loso-session", 4)


def test_select_folds():
    folds = make_folds(SESSIONS, "loso-session", 1)
    assert select_folds(folds, "all") == folds["folds"]
    assert [f["name"] for f in select_folds(folds, ["Ses04", "Ses02"])] == ["Ses02", "Ses04"]
    assert [f["name"] for f in select_folds(folds, "Ses03")] == ["Ses03"]
    with pytest.raises(ParamError, match=r"unknown folds \['Ses09'\]"):
        select_folds(folds, ["Ses01", "Ses09"])


# ---- the stage ---------------------------------------------------------------------------

PARAMS = """\
data:
  corpus: {corpus}
  root: corpus/IEMOCAP_full_release
pairs:
  prompt_gender: F
  response_gender: M
  max_gap_s: {gap}
split:
  scheme: loso-session
  val_sessions: 1
  folds: {folds}
  refit: false
"""
OUTS = ["utterances.csv", "pairs.csv", "folds.json", "media_audio.csv", "media_video.csv",
        "media_physio.csv"]


def project(tmp_path, corpus="iemocap", gap=5.0, folds="all"):
    (tmp_path / "params.yaml").write_text(PARAMS.format(corpus=corpus, gap=gap, folds=folds))
    if not (tmp_path / "corpus").exists():
        write_corpus(tmp_path / "corpus" / "IEMOCAP_full_release")
    return tmp_path


def outputs(tmp_path):
    return {n: (tmp_path / "data" / "pairs" / n).read_bytes() for n in OUTS}


def test_stage_end_to_end_is_deterministic(tmp_path):
    p = run_stage(["stages.pairs"], project(tmp_path))
    assert "15 prompts, 12 pairs" in p.stdout and "29 utterances" in p.stdout
    out = tmp_path / "data" / "pairs"
    utts = load_utterances(out / "utterances.csv")
    assert list(utts.columns[:len(UTTERANCE_COLUMNS)]) == UTTERANCE_COLUMNS
    assert {"dialog_kind", "marker", "raters_emotion", "n_raters"} <= set(utts.columns)
    assert len(utts) == 29 and utts.loc[utts["utt_id"] == "Ses01F_impro01_F002", "emotion"].item() == "xxx"
    assert utts.loc[utts["utt_id"] == "Ses01F_script01_1_M000", "text"].item().startswith("Caf\u00e9")
    pairs = load_pairs(out / "pairs.csv")
    assert len(pairs) == 12 and pairs["response_id"].isin(utts["utt_id"]).all()
    folds = load_folds(out / "folds.json")
    assert folds == {**make_folds(["Ses01", "Ses02", "Ses03"], "loso-session", 1),
                     "corpus": {"name": "iemocap", "sample": False}}
    first = outputs(tmp_path)
    run_stage(["stages.pairs"], tmp_path)
    assert outputs(tmp_path) == first
    assert not [f for f in out.iterdir() if f.name not in OUTS]  # no temporary leftovers


@pytest.mark.parametrize("kw, message", [
    ({"corpus": "kemdy99"}, "data.corpus"),
    ({"gap": "soon"}, "pairs.max_gap_s"),
    ({"folds": "[Ses09]"}, "split.folds"),
])
def test_stage_bad_param_is_one_line_and_writes_nothing(tmp_path, kw, message):
    p = run_stage(["stages.pairs"], project(tmp_path, **kw), check=False)
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and p.stderr.startswith("error:") and message in p.stderr
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data" / "pairs").iterdir())


def test_stage_bad_corpus_keeps_previous_outputs(tmp_path):
    run_stage(["stages.pairs"], project(tmp_path))
    before = outputs(tmp_path)
    project(tmp_path, gap=10.0)  # would change pairs.csv ...
    wav = tmp_path / "corpus/IEMOCAP_full_release/Session3/sentences/wav/Ses03M_impro03/Ses03M_impro03_M001.wav"
    wav.unlink()  # ... but the corpus is broken: nothing may change
    p = run_stage(["stages.pairs"], tmp_path, check=False)
    assert p.returncode == 2 and "Ses03M_impro03_M001: wav file missing" in p.stderr
    assert p.stderr.count("\n") == 1
    assert outputs(tmp_path) == before


def test_stage_help(tmp_path):
    p = run_stage(["stages.pairs", "--help"], tmp_path)
    assert p.stdout.startswith("usage: python -m stages.pairs") and "data/pairs" in p.stdout


def test_write_together_is_all_or_nothing(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    with pytest.raises(TypeError):
        write_together({a: "new a\n", b: None})
    assert not a.exists() and not b.exists() and not list(tmp_path.iterdir())
    write_together({a: "1\n", b: "2\n"})
    assert a.read_text() == "1\n" and b.read_text() == "2\n"
