"""extract@physio on KEMDy19 / KEMDy20 fixtures whose signals were built with known values."""
from __future__ import annotations

import hashlib
import math
import re

import numpy as np
import pandas as pd
import pytest
import yaml

from empathic import extractors, store
from empathic.corpora.kemdy19 import PHYSIO_COLUMNS, read_kemdy19
from empathic.corpora.kemdy20 import read_kemdy20
from empathic.errors import EmpathicError, ParamError, TooManyFailures
from empathic.extractors import physio
from kemdy_fixture import EDA_SLOPE, write_kemdy19, write_kemdy20
from stages import extract as extract_stage

PARAMS = {"signals": ["eda", "temp", "hr"], "rate": 4, "eda_peak_prominence": 0.01,
          "min_samples": 2, "min_ibis": 2}
MISSING19 = ("EDA/Session02/Original/Sess02M.csv",)
MISSING20 = ("TEMP/Session01/Sess01_script02_User001F.csv",)


@pytest.fixture(scope="module")
def k19(tmp_path_factory):
    root = tmp_path_factory.mktemp("k19")
    return root, write_kemdy19(root, missing=MISSING19), read_kemdy19(root)


@pytest.fixture(scope="module")
def k20(tmp_path_factory):
    root = tmp_path_factory.mktemp("k20")
    plan = write_kemdy20(root, missing=MISSING20)
    # one segment whose EDA samples lost their segment tag
    eda = root / "EDA/Session02/Sess02_script01_User004M.csv"
    eda.write_text(eda.read_text().replace(",Sess02_script01_User004M_002", ""))
    return root, plan, read_kemdy20(root)


def run(root, utts, workers=1, **prm):
    ex = physio.PhysioExtractor({**PARAMS, **prm}, root=root, workers=workers, progress=False)
    return ex.extract(utts)["physio"]


def expected_failure(sg, which):
    if which == "k19" and sg["sess"] == 2 and sg["gender"] == "M":
        return f"no EDA file for Sess02_{sg['dialog']}_M under EDA/Session02"
    if which == "k20" and sg["sess"] == 1 and sg["dialog"] == "script02" and sg["gender"] == "F":
        return "no TEMP file for Sess01_script02_User001F under TEMP/Session01"
    if which == "k20" and sg["id"] == "Sess02_script01_User004M_002":
        return "no EDA samples for segment"
    return None


@pytest.mark.parametrize("which", ["k19", "k20"])
def test_values_follow_the_speakers_own_signals(which, request):
    root, plan, utts = request.getfixturevalue(which)
    res = run(root, utts)
    f = res.features
    assert f.pooled_names == physio.POOLED["eda"] + physio.POOLED["temp"] + physio.POOLED["hr"]
    assert f.frame_names == ["eda", "temp", "hr"] and f.attrs["frame_rate"] == 4
    idx = f.index()
    checked = 0
    for sg in plan:
        i = idx[sg["id"]]
        why = expected_failure(sg, which)
        if why:
            assert not f.ok[i] and res.reasons[sg["id"]] == why
            assert np.isnan(f.pooled[i]).all() and len(f.frames[i]) == 0
            continue
        assert f.ok[i], res.reasons.get(sg["id"])
        v = dict(zip(f.pooled_names, f.pooled[i]))
        dur = sg["end"] - sg["start"]
        if sg["bump"]:       # one phasic bump in the participant's first segment of a dialogue
            assert v["eda_peaks_per_s"] == pytest.approx(1 / dur)
        else:
            assert v["eda_level"] == pytest.approx(sg["level"] + EDA_SLOPE * dur / 2, abs=0.03)
            assert v["eda_slope"] == pytest.approx(EDA_SLOPE, abs=1e-3)
            assert v["eda_peaks_per_s"] == 0
        assert v["temp_mean"] == pytest.approx(sg["temp"], abs=1e-4)
        assert v["temp_slope"] == pytest.approx(0, abs=1e-4)
        assert v["hr_mean"] == pytest.approx(75, abs=2)          # IBIs 0.78 / 0.82 s
        assert v["hr_rmssd"] == pytest.approx(40, abs=5)
        assert 15 < v["hr_sdnn"] < 30
        fr = f.frames[i]
        assert fr.shape == (round(dur * 4), 3)
        assert np.allclose(fr[:, 1], sg["temp"], atol=1e-4)
        assert abs(fr[:, 0].mean() - v["eda_level"]) < 0.1
        checked += 1
    assert f.ok.sum() == checked == sum(expected_failure(sg, which) is None for sg in plan)
    assert not np.isnan(f.pooled[f.ok]).any()


def test_workers_do_not_change_the_output(k20):
    root, _, utts = k20
    a, b = run(root, utts, workers=1).features, run(root, utts, workers=2).features
    assert np.array_equal(a.pooled, b.pooled, equal_nan=True)
    assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames))


def test_signal_subset_and_too_few_beats(k20):
    root, plan, utts = k20
    f = run(root, utts, signals=["temp"]).features
    assert f.pooled_names == ["temp_mean", "temp_slope"] and f.frame_names == ["temp"]
    res = run(root, utts, signals=["hr"], min_ibis=50)
    assert not res.features.ok.any() and len(res.reasons) == len(plan)
    assert all(re.fullmatch(r"too few inter-beat interval samples for segment \(\d < 50\)", r)
               for r in res.reasons.values())


def test_bad_params_and_corpus(k20):
    root, _, utts = k20
    with pytest.raises(ParamError, match="features.physio.signals"):
        run(root, utts, signals=["ecg"])
    with pytest.raises(ParamError, match="features.physio.rate"):
        run(root, utts, rate=0)
    iemocap = utts.assign(corpus="iemocap")
    with pytest.raises(EmpathicError, match="needs KEMDy19 or KEMDy20"):
        run(root, iemocap)


def _stage(tmp_path, root, utts, max_failed):
    prm = {"data": {"corpus": str(utts["corpus"].iloc[0]), "root": str(root)},
           "features": {"workers": 1, "max_failed_fraction": max_failed, "physio": PARAMS}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(prm), encoding="utf-8")
    utts.to_csv(tmp_path / "utterances.csv", index=False, lineterminator="\n")
    return ["physio", "--utterances", str(tmp_path / "utterances.csv"),
            "--out", str(tmp_path / "features"), "--no-progress"]


def test_stage_writes_store_and_manifest_deterministically(tmp_path, k19, monkeypatch):
    """Through the extract driver, with utterances.csv lacking the KEMDy19 clock columns (they
    are then read from data.root)."""
    monkeypatch.setitem(extractors.REGISTRY, "physio", ("empathic.extractors.physio", ("physio",)))
    monkeypatch.chdir(tmp_path)
    root, plan, utts = k19
    args = _stage(tmp_path, root, utts.drop(columns=PHYSIO_COLUMNS), max_failed=0.5)
    digests = []
    for _ in range(2):
        assert extract_stage.main(args) == 0
        digests.append(hashlib.sha256((tmp_path / "features/physio.h5").read_bytes()).hexdigest())
    assert digests[0] == digests[1]
    f = store.read(tmp_path / "features/physio.h5")
    assert list(f.ids) == list(utts["utt_id"])
    assert f.modality == "physio" and f.attrs["extractor"] == "physio"
    fails = pd.read_csv(tmp_path / "features/physio.failures.csv")
    assert len(fails) == (~f.ok).sum() == 4
    assert set(fails["reason"]) == {f"no EDA file for Sess02_{d}_M under EDA/Session02"
                                    for d in ("impro01", "script01")}
    assert math.isnan(f.pooled[~f.ok].max())
    _stage(tmp_path, root, utts, max_failed=0.05)
    with pytest.raises(TooManyFailures, match="physio: 4/16 utterances failed"):
        extract_stage.main(args)
