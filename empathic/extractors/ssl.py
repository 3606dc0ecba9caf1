"""SSL extractor: hidden states of a self-supervised speech encoder (wav2vec2, HuBERT, WavLM, or
Whisper's encoder) for every utterance wav, written to ``features/ssl.h5``.

``features.ssl.model`` names the checkpoint: a local directory (``save_pretrained`` layout: a
config, the weights and a feature-extractor config) or a hub id, which `transformers` resolves
through its cache, and downloads only when the user has switched HF_HUB_OFFLINE off. ``null``
(the default) means not configured: the stage writes every row as failed with that reason, and
the tasks leave ``ssl`` out.

- the representation: ``features.ssl.layers`` = an int (0 = the input of the first transformer
  layer, n = the output of layer n) or ``all`` (the unweighted mean of the outputs of every
  transformer layer); frames at the encoder's rate (20 ms for all four families);
- ``pooled``: mean and standard deviation of that representation over the utterance
  (``ssl_mean_000``..., ``ssl_std_000``...);
- ``frames``: the representation averaged into bins of 1 / ``features.ssl.frame_rate`` s.

Utterances longer than ``features.ssl.chunk_s`` are cut into equal chunks (Whisper: at most its
30 s window), encoded separately and concatenated. Chunks are sorted by length and cut into
batches of ``features.ssl.batch_size``: the batches depend on the data alone, so on the CPU
(``features.workers`` processes, or Dask workers, of one thread each, as the text extractor)
the file is byte-identical whatever the worker count. On a GPU (``features.ssl.device``: auto or cuda) the
batches run in this process under bf16 autocast. Checkpoints whose feature extractor takes no
attention mask (wav2vec2-base and -large) see the zero padding of the shorter chunks in a batch,
as in their own batched use; sorting by length keeps that padding small. Missing, unreadable,
empty or too-short audio is a failed row with a reason.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import params as P
from ..errors import EmpathicError, ParamError
from ..execution import limit_threads
from ..store import Features
from . import Extractor, Result, register
from .audio import TruncatedAudio, load_audio


@dataclass(frozen=True)
class Config:
    model: str
    layers: int | str
    frame_rate: float
    chunk_s: float
    batch_size: int
    device: str


def config_from(section: dict) -> Config:
    """From the `features.ssl` section, validated by the schema (its choices and ranges); the
    model must be set (null or "" is not configured: `SslExtractor.unavailable`)."""
    s = P.section({"features": {"ssl": section or {}}}, "features.ssl")
    if not s.model:
        raise ParamError("param 'features.ssl.model' is not set; expected a local model "
                         "directory or a hub id")
    return Config(model=s.model, layers=s.layers, frame_rate=s.frame_rate, chunk_s=s.chunk_s,
                  batch_size=s.batch_size, device=s.device)


def model_source(model: str) -> str:
    """A local directory (resolved) or the hub id as given."""
    return str(Path(model).resolve()) if Path(model).is_dir() else model


class Encoder:
    """A loaded checkpoint: its feature extractor, the encoder and its timing facts."""

    def __init__(self, model: str, device: str = "cpu"):
        import torch
        from transformers import AutoConfig, AutoFeatureExtractor, AutoModel
        from transformers.utils import logging as hf_logging
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        src = model_source(model)
        try:
            config = AutoConfig.from_pretrained(src)
            self.fe = AutoFeatureExtractor.from_pretrained(src)
            self.whisper = config.model_type == "whisper"
            if self.whisper:
                from transformers import WhisperModel
                net = WhisperModel.from_pretrained(src).get_encoder()
            else:
                net = AutoModel.from_pretrained(src)
        except Exception as e:  # hub/network/format errors come in many types
            msg = (str(e) or type(e).__name__).splitlines()[0]
            raise EmpathicError(f"cannot load SSL model features.ssl.model={model!r} ({src}): "
                                f"{msg}") from None
        self.device = torch.device(device)
        self.net = net.eval().to(self.device)
        self.sample_rate = int(self.fe.sampling_rate)
        if self.whisper:
            self.hop = int(self.fe.hop_length) * 2              # mel hop x conv stride 2
            self.max_samples = int(self.fe.n_samples)           # the 30 s window
        else:
            self.hop = int(np.prod(config.conv_stride))
            self.max_samples = None
        self.n_layers = int(config.num_hidden_layers if not self.whisper else config.encoder_layers)
        self.dim = int(config.hidden_size if not self.whisper else config.d_model)

    @property
    def rate(self) -> float:
        return self.sample_rate / self.hop

    def n_frames(self, n_samples: int) -> int:
        """Encoder frames for a chunk of `n_samples` (0 when too short)."""
        if self.whisper:
            return math.ceil(n_samples / self.hop)
        return int(self.net._get_feat_extract_output_lengths(n_samples))

    def encode(self, chunks: list[np.ndarray], layers: int | str) -> list[np.ndarray]:
        """Representations (T_i, dim) float32 of a batch of chunks."""
        import torch
        sr = self.sample_rate
        if self.whisper:
            inp = self.fe(chunks, sampling_rate=sr, return_tensors="pt")
        else:
            inp = self.fe(chunks, sampling_rate=sr, padding=True, return_tensors="pt",
                          return_attention_mask=bool(getattr(self.fe, "return_attention_mask",
                                                             False)))
        inp = {k: v.to(self.device) for k, v in inp.items() if k in ("input_features",
                                                                    "input_values",
                                                                    "attention_mask")}
        cuda = self.device.type == "cuda"
        with torch.inference_mode(), torch.autocast("cuda", torch.bfloat16, enabled=cuda):
            hs = self.net(**inp, output_hidden_states=True).hidden_states
        rep = torch.stack(hs[1:]).float().mean(0) if layers == "all" else hs[layers].float()
        rep = rep.cpu().numpy()
        return [rep[i, :self.n_frames(len(c))].astype(np.float32) for i, c in enumerate(chunks)]


@lru_cache(maxsize=2)
def load_encoder(model: str, device: str = "cpu") -> Encoder:
    return Encoder(model, device)


def bin_frames(rep: np.ndarray, rate: float, frame_rate: float) -> np.ndarray:
    """Average `rep` (T, F) at `rate` frames/s into bins of 1/frame_rate s (last bin partial)."""
    if not len(rep):
        return rep
    b = np.floor(np.arange(len(rep)) / rate * frame_rate + 1e-9).astype(np.int64)
    sums = np.zeros((b[-1] + 1, rep.shape[1]), np.float64)
    np.add.at(sums, b, rep)
    return (sums / np.bincount(b)[:, None]).astype(np.float32)


def split_chunks(x: np.ndarray, max_len: int) -> list[np.ndarray]:
    """`x` cut into the fewest equal chunks of at most `max_len` samples."""
    n = max(1, math.ceil(len(x) / max_len))
    size = math.ceil(len(x) / n)
    return [x[i:i + size] for i in range(0, len(x), size)]


_STATE: dict = {}


def _init_worker(model: str, threads: int) -> None:
    limit_threads(threads)
    _STATE["encoder"] = load_encoder(model, "cpu")


def _encode_batch(job: tuple[list[np.ndarray], int | str]) -> list[np.ndarray]:
    chunks, layers = job
    return _STATE["encoder"].encode(chunks, layers)


def _read(path: str, sr: int, min_samples: int) -> tuple[np.ndarray | None, str | None]:
    if not path:
        return None, "missing wav: no wav path in utterances.csv"
    if not Path(path).is_file():
        return None, f"missing wav: {path}"
    try:
        x = load_audio(Path(path), sr).astype(np.float32)
    except TruncatedAudio as e:
        return None, str(e)
    except Exception as e:  # soundfile raises several types
        return None, f"unreadable wav: {(str(e) or type(e).__name__).splitlines()[0]}"
    if not len(x) or not np.any(x):
        return None, "empty audio"
    if not np.all(np.isfinite(x)):
        return None, "unreadable wav: non-finite samples"
    if len(x) < min_samples:
        return None, f"audio too short for the SSL encoder ({len(x) / sr * 1000:.0f} ms)"
    return x, None


def pick_device(device: str) -> str:
    import torch
    if device == "cuda" and not torch.cuda.is_available():
        raise ParamError("param 'features.ssl.device' is 'cuda' but no CUDA device is visible")
    return "cuda" if device != "cpu" and torch.cuda.is_available() else "cpu"


@register
class SslExtractor(Extractor):
    name = "ssl"
    version = "1"

    def unavailable(self, utts: pd.DataFrame) -> str | None:
        if self.params.get("model") in (None, ""):
            return "no SSL speech model configured (features.ssl.model is null)"
        return None

    def extract(self, utts: pd.DataFrame) -> dict[str, Result]:
        cfg = config_from(self.params)
        device = pick_device(cfg.device)
        enc = load_encoder(cfg.model, device)
        if cfg.layers != "all" and cfg.layers > enc.n_layers:
            raise ParamError(f"param 'features.ssl.layers' is {cfg.layers}; {cfg.model} has "
                             f"{enc.n_layers} layers (0..{enc.n_layers}, or 'all')")
        sr = enc.sample_rate
        max_len = int(cfg.chunk_s * sr)
        if enc.max_samples:
            max_len = min(max_len, enc.max_samples)
        min_samples = next(n for n in range(1, 4 * enc.hop + 1024) if enc.n_frames(n) >= 1)
        ids = list(utts["utt_id"])
        reasons, chunks, owner = {}, [], []
        for i, (u, w) in enumerate(zip(ids, utts["wav"])):
            x, why = _read(str(self.root / w) if w else "", sr, min_samples)
            if why:
                reasons[u] = why
                continue
            for c in split_chunks(x, max_len):
                chunks.append(c)
                owner.append(i)
        order = sorted(range(len(chunks)), key=lambda j: (len(chunks[j]), j))
        batches = [order[k:k + cfg.batch_size] for k in range(0, len(order), cfg.batch_size)]
        jobs = [([chunks[j] for j in b], cfg.layers) for b in batches]
        if device == "cuda":
            out = [enc.encode(c, lay) for c, lay in jobs]
        else:
            out = self.executor.map(_encode_batch, jobs, desc="ssl", progress=self.progress,
                                    initializer=_init_worker, initargs=(cfg.model, 1),
                                    unit="batch")
        reps: list[list] = [[] for _ in ids]
        for b, res in zip(batches, out):       # chunks of one utterance stay in time order
            for j, r in zip(b, res):
                reps[owner[j]].append((j, r))
        dim = enc.dim
        names = [f"ssl_mean_{k:03d}" for k in range(dim)] + [f"ssl_std_{k:03d}" for k in range(dim)]
        pooled = np.full((len(ids), 2 * dim), np.nan, np.float32)
        frames = []
        for i, u in enumerate(ids):
            rep = (np.concatenate([r for _, r in sorted(reps[i], key=lambda t: t[0])])
                   if reps[i] else np.zeros((0, dim), np.float32))
            if u not in reasons and not (len(rep) and np.all(np.isfinite(rep))):
                reasons[u] = "SSL encoder gave no frames or non-finite values"
            if u in reasons:
                frames.append(np.zeros((0, dim), np.float32))
                continue
            rep64 = rep.astype(np.float64)
            pooled[i] = np.concatenate([rep64.mean(0), rep64.std(0)])
            frames.append(bin_frames(rep, enc.rate, cfg.frame_rate))
        ok = np.array([u not in reasons for u in ids], bool)
        feats = Features("ssl", ids, ok, pooled, names, frames=frames,
                         frame_names=[f"ssl_{k:03d}" for k in range(dim)],
                         attrs={"frame_rate": float(cfg.frame_rate), "model": cfg.model,
                                "layers": str(cfg.layers), "encoder_rate": float(enc.rate),
                                "sample_rate": sr, "dimension": dim})
        return {"ssl": Result(feats, reasons)}
