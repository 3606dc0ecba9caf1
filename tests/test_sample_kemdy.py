"""The KEMDy19 / KEMDy20 sample layouts: readable by the readers, physio follows arousal,
the missing EDA (file or annotation cells) fails its segments, output independent of workers."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

from empathic.corpora.kemdy19 import read_kemdy19
from empathic.corpora.kemdy20 import read_kemdy20
from empathic.corpora.sample.kemdy import generate_kemdy, kemdy_config
from empathic.extractors import physio
from empathic.pairs import validate_utterances

CFG = {"sessions": 3, "dialogs_per_session": 1, "turns_per_dialog": 6, "overlap_rate": 0.3}
SEED = 3
READERS = {"kemdy19": read_kemdy19, "kemdy20": read_kemdy20}
PHYSIO = {"signals": ["eda", "temp", "hr"], "rate": 4, "eda_peak_prominence": 0.01,
          "min_samples": 2, "min_ibis": 2}


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    out = {}
    for layout, read in READERS.items():
        root = tmp_path_factory.mktemp(layout)
        summary = generate_kemdy(root, kemdy_config(layout, SEED, CFG), workers=1)
        out[layout] = root, summary, validate_utterances(read(root))
    return out


@pytest.mark.parametrize("layout", sorted(READERS))
def test_layout_reads_back(corpora, layout):
    root, summary, utts = corpora[layout]
    assert len(utts) == summary["utterances"] == 18
    assert sorted(utts["session"].unique()) == ["Sess01", "Sess02", "Sess03"]
    assert all((root / w).is_file() for w in utts["wav"])
    assert all(any("\uac00" <= ch <= "\ud7a3" for ch in t) for t in utts["text"])   # Hangul
    assert len(summary["quirks"]) == 1
    if layout == "kemdy20":
        assert not (root / summary["quirks"][0]).exists()
    if layout == "kemdy19":
        # the listener's rated state is the reply it is about to give (the empathic link)
        nxt = utts.groupby("dialog")["emotion"].shift(-1)
        has = nxt.notna()
        assert (utts["listener_emotion"][has] == nxt[has]).mean() > 0.6


@pytest.mark.parametrize("layout", sorted(READERS))
def test_physio_follows_arousal_and_missing_file_fails(corpora, layout):
    root, summary, utts = corpora[layout]
    res = physio.PhysioExtractor(PHYSIO, root=root, workers=1, progress=False).extract(utts)
    f = res["physio"].features
    failed = set(utts["utt_id"][~f.ok])
    expected = {u for u, g, d in zip(utts["utt_id"], utts["gender"], utts["dialog"])
                if g == "M" and d.startswith("Sess03_")}      # the last session's first dialogue
    assert failed == expected
    reasons = {res["physio"].reasons[u] for u in failed}
    assert reasons == ({"no EDA start/end for the segment in the annotation"} if layout == "kemdy19"
                       else {"no EDA file for Sess03_script01_User006M under EDA/Session03"})
    col = {n: i for i, n in enumerate(f.pooled_names)}
    a = utts["arousal"].to_numpy()[f.ok]
    for name in ("eda_level", "hr_mean"):
        assert np.corrcoef(f.pooled[f.ok, col[name]], a)[0, 1] > 0.5, name


def _digest(root):
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(root).as_posix().encode() + p.read_bytes())
    return h.hexdigest()


def test_workers_do_not_change_the_files(corpora, tmp_path):
    root = corpora["kemdy20"][0]          # both layouts run the same process pool over dialogues
    generate_kemdy(tmp_path / "w2", kemdy_config("kemdy20", SEED, CFG), workers=2)
    assert _digest(tmp_path / "w2") == _digest(root)


def test_a_bad_kemdy_sample_value_is_one_line_naming_the_schema_key():
    from empathic.errors import ParamError
    with pytest.raises(ParamError, match=r"sample\.kemdy\.sessions"):
        kemdy_config("kemdy20", SEED, dict(CFG, sessions=2))      # the schema's ge=3
