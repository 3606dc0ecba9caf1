"""Audio extractor: eGeMAPS functionals + log-mel stats, LLD frames, failures, determinism,
the extract@audio stage end to end, and that pitch/loudness features follow the voice."""
import hashlib

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from empathic import store
from empathic.errors import ParamError
from empathic.extractors import get
from empathic.extractors.audio import AudioExtractor
from empathic.tables import UTTERANCE_COLUMNS
from conftest import make_project, run_stage

SR = 16000
PARAMS = {"feature_set": "eGeMAPSv02", "sample_rate": SR, "n_mels": 24}
F0_MEAN = "F0semitoneFrom27.5Hz_sma3nz_amean"
LOUDNESS_MEAN = "loudness_sma3_amean"


def voice(f0: float, amp: float, dur: float = 1.2, sr: int = SR) -> np.ndarray:
    """A speech-like harmonic signal: gliding pitch around f0, syllable-rate amplitude."""
    t = np.arange(int(dur * sr)) / sr
    f = f0 * (1 + 0.08 * np.sin(2 * np.pi * 1.3 * t))
    phase = 2 * np.pi * np.cumsum(f) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 15))
    return amp * x * (0.55 + 0.45 * np.sin(2 * np.pi * 4 * t)) ** 2


# utt_id -> (wav file, how it is made)
WAVS = {
    "low": "low.wav", "high": "high.wav", "high22k": "high22k.wav", "stereo": "stereo.wav",
    "corrupt": "corrupt.wav", "empty": "empty.wav", "gone": "gone.wav", "nowav": "",
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("audio_root")
    sf.write(root / "low.wav", voice(110, 0.04), SR, subtype="PCM_16")
    sf.write(root / "high.wav", voice(260, 0.3), SR, subtype="PCM_16")
    sf.write(root / "high22k.wav", voice(260, 0.3, sr=22050), 22050, subtype="PCM_16")
    sf.write(root / "stereo.wav", np.stack([voice(180, 0.2)] * 2, axis=1), SR, subtype="PCM_16")
    (root / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEnot really a wav")
    sf.write(root / "empty.wav", np.zeros(0), SR, subtype="PCM_16")
    utts = pd.DataFrame({"utt_id": list(WAVS), "wav": list(WAVS.values())})
    return root, utts


@pytest.fixture(scope="module")
def result(corpus):
    root, utts = corpus
    return AudioExtractor(PARAMS, root=root, workers=1, progress=False).extract(utts)["audio"]


def test_registered():
    assert get("audio") is AudioExtractor


def test_shapes_and_names(result):
    f = result.features
    assert f.modality == "audio" and list(f.ids) == list(WAVS)
    assert f.pooled.shape == (len(WAVS), 88 + 2 * PARAMS["n_mels"])
    assert len(set(f.pooled_names)) == len(f.pooled_names)
    assert {F0_MEAN, LOUDNESS_MEAN, "equivalentSoundLevel_dBp"} <= set(f.pooled_names[:88])
    assert f.pooled_names[88] == "logmel_mean_00" and f.pooled_names[-1] == "logmel_std_23"
    assert len(f.frame_names) == 25
    assert f.frame_names[0] == "Loudness_sma3" and "F0semitoneFrom27.5Hz_sma3nz" in f.frame_names
    assert f.attrs["frame_rate"] == 100 and f.attrs["feature_set"] == "eGeMAPSv02"
    for i, u in enumerate(f.ids):
        if f.ok[i]:
            assert np.all(np.isfinite(f.pooled[i])), u
            # 1.2 s at 100 frames/s (openSMILE drops the incomplete last windows)
            assert 110 <= len(f.frames[i]) <= 121, (u, len(f.frames[i]))
            assert f.frames[i].shape[1] == 25


def test_failures_are_nan_with_reasons(result, corpus):
    root, _ = corpus
    f, reasons = result.features, result.reasons
    assert dict(zip(f.ids, f.ok)) == {"low": True, "high": True, "high22k": True, "stereo": True,
                                      "corrupt": False, "empty": False, "gone": False,
                                      "nowav": False}
    assert reasons["corrupt"].startswith("unreadable wav: ")
    assert reasons["empty"] == "empty audio"
    assert reasons["gone"] == f"missing wav: {root / 'gone.wav'}"
    assert reasons["nowav"].startswith("missing wav: ")
    for i in np.flatnonzero(~f.ok):
        assert np.all(np.isnan(f.pooled[i])) and f.frames[i].shape == (0, 25)


def test_pitch_and_loudness_follow_the_signal(result):
    f = result.features
    row = f.index()
    f0, loud = f.pooled_names.index(F0_MEAN), f.pooled_names.index(LOUDNESS_MEAN)
    # eGeMAPS F0 is in semitones above 27.5 Hz: 110 Hz -> 24, 260 Hz -> ~38.9 (+ the glide)
    assert f.pooled[row["low"], f0] == pytest.approx(12 * np.log2(110 / 27.5), abs=1.0)
    assert f.pooled[row["high"], f0] == pytest.approx(12 * np.log2(260 / 27.5), abs=1.0)
    assert f.pooled[row["high"], loud] > 3 * f.pooled[row["low"], loud]


def test_resampled_wav_matches(result):
    """A 22.05 kHz wav is resampled to 16 kHz: its features match the 16 kHz recording."""
    f = result.features
    row = f.index()
    a, b = f.pooled[row["high"]], f.pooled[row["high22k"]]
    f0, loud = f.pooled_names.index(F0_MEAN), f.pooled_names.index(LOUDNESS_MEAN)
    assert b[f0] == pytest.approx(a[f0], abs=0.2)
    assert b[loud] == pytest.approx(a[loud], rel=0.05)


def test_deterministic_file(result, corpus, tmp_path):
    root, utts = corpus
    again = AudioExtractor(PARAMS, root=root, workers=1, progress=False).extract(utts)["audio"]
    store.write(tmp_path / "a.h5", result.features)
    store.write(tmp_path / "b.h5", again.features)
    digest = [hashlib.sha256((tmp_path / n).read_bytes()).hexdigest() for n in ("a.h5", "b.h5")]
    assert digest[0] == digest[1]


def test_bad_params_name_the_param(corpus):
    root, utts = corpus
    with pytest.raises(ParamError, match="features.audio.feature_set"):
        AudioExtractor({**PARAMS, "feature_set": "eGeMAPSv99"}, root, 1).extract(utts)
    with pytest.raises(ParamError, match="features.audio.n_mels"):
        AudioExtractor({**PARAMS, "n_mels": 0}, root, 1).extract(utts)


def write_project(base, root, utts: pd.DataFrame, **overrides) -> None:
    """A project folder the stage can run in: params.yaml + data/pairs/utterances.csv."""
    make_project(base, root, **{"features.audio": PARAMS, **overrides})
    full = pd.DataFrame({c: utts[c] if c in utts else "" for c in UTTERANCE_COLUMNS})
    (base / "data/pairs").mkdir(parents=True)
    full.to_csv(base / "data/pairs/utterances.csv", index=False)


def test_stage_end_to_end(result, corpus, tmp_path):
    """`python -m stages.extract audio` on 2 worker processes: same numbers as in-process, the
    failure manifest, and exit 2 with one line naming the param when too many rows fail."""
    root, utts = corpus
    write_project(tmp_path, root, utts, **{"features.workers": 2,
                                           "features.max_failed_fraction": 0.25})
    p = run_stage(["stages.extract", "audio", "--no-progress"], cwd=tmp_path, check=False)
    assert p.returncode == 2, p.stderr
    err = [line for line in p.stderr.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("error: audio: 4/8 utterances failed")
    assert "features.max_failed_fraction=0.25" in err[0]
    # outputs are written before the threshold is judged, so the user can read why
    got = store.read(tmp_path / "features/audio.h5")
    assert np.array_equal(got.ok, result.features.ok)
    np.testing.assert_array_equal(got.pooled, result.features.pooled)  # workers change nothing
    assert all(np.array_equal(a, b) for a, b in zip(got.frames, result.features.frames))
    assert got.attrs["extractor"] == "audio" and got.attrs["params"]["n_mels"] == 24
    manifest = pd.read_csv(tmp_path / "features/audio.failures.csv")
    assert manifest["utt_id"].tolist() == ["corrupt", "empty", "gone", "nowav"]
    assert manifest.set_index("utt_id")["reason"].to_dict() == result.reasons


HIGH_AROUSAL, LOW_AROUSAL = {"ang", "hap", "exc"}, {"sad", "neu"}


def _auc(hi: np.ndarray, lo: np.ndarray) -> float:
    """P(a high-arousal value > a low-arousal value)."""
    return float(np.mean(hi[:, None] > lo[None, :]) + 0.5 * np.mean(hi[:, None] == lo[None, :]))


def test_arousal_shows_in_pitch_and_loudness(tiny_project):
    """On the sample corpus (espeak-ng prosody driven by emotion), high-arousal utterances
    (ang, hap/exc) have higher F0 and loudness than low-arousal ones (sad, neu). Values are
    compared within speaker (minus the speaker's mean): the F/M pitch gap would swamp them."""
    tiny = tiny_project
    utts = tiny.utterances
    f = AudioExtractor(PARAMS, root=tiny.root, workers=1, progress=False).extract(utts)["audio"]
    feats = f.features
    assert feats.ok.all(), f.reasons
    emo = tiny.truth.set_index("utt_id")["emotion"].reindex(list(feats.ids)).to_numpy()
    hi, lo = np.isin(emo, list(HIGH_AROUSAL)), np.isin(emo, list(LOW_AROUSAL))
    assert hi.sum() >= 3 and lo.sum() >= 3
    speaker = (utts["session"].astype(str) + utts["speaker"].astype(str)).to_numpy()
    for name in (F0_MEAN, LOUDNESS_MEAN):
        col = pd.Series(feats.pooled[:, feats.pooled_names.index(name)].astype(float))
        assert col[hi].mean() > col[lo].mean(), name
        rel = (col - col.groupby(speaker).transform("mean")).to_numpy()
        assert _auc(rel[hi], rel[lo]) > 0.8, name


def test_truncated_wav_is_a_failed_row_with_the_reason(tmp_path):
    """A wav cut to 10 % with its header intact (a copy that stopped): libsndfile would read
    the 10 % silently; the row fails and says how much of the declared data is there."""
    from empathic.extractors.audio import wav_shortfall
    sf.write(tmp_path / "whole.wav", voice(180, 0.2), SR, subtype="PCM_16")
    data = (tmp_path / "whole.wav").read_bytes()
    declared = len(data) - 44                                   # the 44-byte PCM header
    (tmp_path / "cut.wav").write_bytes(data[:44 + declared // 10])
    assert sf.info(str(tmp_path / "cut.wav")).frames > 0       # readable: nothing else notices
    assert wav_shortfall(tmp_path / "whole.wav") is None
    assert wav_shortfall(tmp_path / "cut.wav") == (declared // 10, declared)
    utts = pd.DataFrame({"utt_id": ["whole", "cut"], "wav": ["whole.wav", "cut.wav"]})
    res = AudioExtractor(PARAMS, root=tmp_path, workers=1, progress=False).extract(utts)["audio"]
    assert res.features.ok.tolist() == [True, False]
    assert res.reasons == {"cut": f"truncated wav: its data holds {declared // 10} of the "
                                  f"{declared} bytes its header declares (10 %)"}
    assert np.all(np.isnan(res.features.pooled[1]))
