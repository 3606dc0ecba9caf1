"""Benchmark of the SSL extractor's encoding on the CPU: the tiny test models, and what a
base-size encoder costs per hour of audio.

    python bench/bench_ssl.py [--n 40] [--threads 1] [--base-seconds 20] [--no-base]

1. Tiny models (2 layers, 32 wide; tests/ssl_models.py), every family: utterances per second
   (wall clock, and per CPU second of this process) through `Encoder.encode` in the extractor's batches (length-sorted, batch_size 8), on
   `--n` utterances of 1-6 s (noise; the cost depends on the length only).
2. Base size (unless --no-base): WavLM-base (12 layers, 768 wide, 94 M parameters, the
   transformers default config) and Whisper-base's encoder (6 layers, 512 wide), randomly
   initialised: the same architecture and arithmetic as the released checkpoints, so their
   speed is measured, not guessed. Encoded: `--base-seconds` of audio as 10 s utterances
   (Whisper pads every chunk to its 30 s window, so its cost is per chunk, not per second).
   The cost per hour of audio is that measured rate scaled to 3600 s (an extrapolation in
   length only: the per-second cost of these encoders is flat above a few seconds, apart from
   attention, which grows with the chunk length, here 10 s).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".numba_cache"))

import numpy as np  # noqa: E402

import ssl_models  # noqa: E402
from empathic.extractors import ssl  # noqa: E402

SR = 16000


def utterances(n: int, lo: float = 1.0, hi: float = 6.0) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.normal(0, 0.1, int(rng.uniform(lo, hi) * SR)).astype(np.float32)
            for _ in range(n)]


def encode_all(enc: ssl.Encoder, xs: list[np.ndarray], batch: int = 8) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) to encode `xs` in the extractor's
    length-sorted batches. On a shared machine the wall time includes waiting for a core; the
    CPU time is the cost."""
    order = sorted(range(len(xs)), key=lambda i: len(xs[i]))
    t0, c0 = time.perf_counter(), time.process_time()
    for k in range(0, len(order), batch):
        enc.encode([xs[i] for i in order[k:k + batch]], "all")
    return time.perf_counter() - t0, time.process_time() - c0


def base_model(family: str, out: Path) -> Path:
    import torch
    import transformers as T
    T.utils.logging.disable_progress_bar()
    torch.manual_seed(0)
    if family == "wavlm":
        T.WavLMModel(T.WavLMConfig()).save_pretrained(out)
        T.Wav2Vec2FeatureExtractor(return_attention_mask=True).save_pretrained(out)
    else:   # whisper-base: d_model 512, 6 encoder layers, 8 heads, 80 mel bins
        cfg = T.WhisperConfig(d_model=512, encoder_layers=6, decoder_layers=1,
                              encoder_attention_heads=8, decoder_attention_heads=8,
                              encoder_ffn_dim=2048, decoder_ffn_dim=2048, num_mel_bins=80)
        T.WhisperModel(cfg).save_pretrained(out)
        T.WhisperFeatureExtractor(feature_size=80).save_pretrained(out)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the extractor's "
                    "CPU workers run one each)")
    ap.add_argument("--base-seconds", type=float, default=20.0)
    ap.add_argument("--no-base", action="store_true")
    a = ap.parse_args()
    import torch
    torch.set_num_threads(a.threads)
    xs = utterances(a.n)
    audio_s = sum(len(x) for x in xs) / SR
    print(f"CPU, {a.threads} torch thread(s); {a.n} utterances, {audio_s:.0f} s of audio\n")
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'model':22} {'params':>8} {'utt/s':>8} {'utt/CPU s':>10} {'x real time':>12} "
              f"{'CPU h / audio h':>16}")
        for fam in ssl_models.FAMILIES:
            enc = ssl.Encoder(str(ssl_models.build(fam, Path(tmp) / fam)))
            encode_all(enc, xs[:4])                                   # warm-up
            wall, cpu = encode_all(enc, xs)
            n_par = sum(p.numel() for p in enc.net.parameters())
            print(f"tiny {fam:17} {n_par / 1e6:7.2f}M {a.n / wall:8.1f} {a.n / cpu:10.1f} "
                  f"{audio_s / cpu:11.1f}x {cpu / audio_s:16.4f}")
        if a.no_base:
            return
        n10 = max(1, int(round(a.base_seconds / 10)))
        xb = [np.random.default_rng(i).normal(0, 0.1, 10 * SR).astype(np.float32)
              for i in range(n10)]
        for fam in ("wavlm", "whisper"):
            enc = ssl.Encoder(str(base_model(fam, Path(tmp) / f"base_{fam}")))
            encode_all(enc, xb[:1], batch=1)                          # warm-up
            wall, cpu = encode_all(enc, xb, batch=1)
            n_par = sum(p.numel() for p in enc.net.parameters())
            per_h = cpu / (10 * n10) * 3600
            print(f"{fam + '-base (random)':22} {n_par / 1e6:7.1f}M {n10 / wall:8.2f} "
                  f"{n10 / cpu:10.2f} {10 * n10 / cpu:11.1f}x {cpu / (10 * n10):16.4f}   -> "
                  f"{per_h / 60:.1f} CPU min per hour of audio (measured on {10 * n10} s)")


if __name__ == "__main__":
    main()
