"""facehog.hog gives skimage.feature.hog's values bit for bit (the face extractor's descriptor)."""
from __future__ import annotations

import numpy as np
import pytest
import skimage.data
from skimage.feature import hog as skimage_hog

from empathic.extractors import facehog


def reference(chip: np.ndarray, cell: int) -> np.ndarray:
    return skimage_hog(chip, orientations=9, pixels_per_cell=(cell, cell), cells_per_block=(2, 2),
                       block_norm="L2-Hys", feature_vector=True).astype(np.float32)


def chips():
    """Random, smooth, few-level (gradient ties, orientations on bin edges) and face chips, of
    sizes that are and are not whole cells."""
    rng = np.random.default_rng(5)
    face = skimage.data.astronaut()[30:230, 150:350].mean(axis=2).astype(np.uint8)
    for k in range(240):
        size, cell = [(64, 16), (64, 8), (61, 12), (48, 7), (80, 16)][k % 5]
        kind = k // 5 % 4
        if kind == 0:
            chip = rng.integers(0, 256, (size, size), dtype=np.uint8)
        elif kind == 1:
            chip = (rng.normal(0, 30, (size, size)).cumsum(axis=0) % 256).astype(np.uint8)
        elif kind == 2:
            chip = (rng.integers(0, 3, (size, size)) * 127).astype(np.uint8)
        else:
            y, x = rng.integers(0, 200 - size, 2)
            chip = np.ascontiguousarray(face[y:y + size, x:x + size])
        yield chip, cell


def test_hog_is_skimages_bit_for_bit():
    n = 0
    for chip, cell in chips():
        ours, theirs = facehog.hog(chip, cell), reference(chip, cell)
        assert ours.dtype == theirs.dtype == np.float32
        assert ours.shape == theirs.shape
        assert ours.tobytes() == theirs.tobytes(), (chip.shape, cell)
        n += 1
    assert n == 240


def test_flat_and_non_contiguous_chips():
    flat = np.full((64, 64), 77, np.uint8)                 # no gradient: all zeros, as skimage
    assert facehog.hog(flat, 16).tobytes() == reference(flat, 16).tobytes()
    view = np.random.default_rng(1).integers(0, 256, (64, 128), dtype=np.uint8)[:, ::2]
    assert facehog.hog(view, 16).tobytes() == reference(view, 16).tobytes()


def test_bad_chips_are_refused():
    with pytest.raises(ValueError, match="uint8"):
        facehog.hog(np.zeros((64, 64), np.float32), 16)
    with pytest.raises(ValueError, match="too small"):
        facehog.hog(np.zeros((20, 64), np.uint8), 16)
