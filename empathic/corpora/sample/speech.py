"""Speech synthesis with espeak-ng through the pip package `espeakng-loader`.

The package bundles libespeak-ng and its data folder; we call the C API with ctypes in
synchronous mode, collect the 22,050 Hz samples from the synth callback and resample them to
16 kHz mono int16. Prosody (rate, pitch, pitch range, volume) is set per utterance.

Determinism: libespeak-ng keeps state across calls that Initialize does not reset (the pitch
flutter phase, the echo buffer, rand() for noise), so the same text would sound slightly
different depending on what was spoken before in the process. We therefore speak only with our
own voice variants that switch flutter, roughness and echo off, and reseed rand() before each
call. The variants live in a private data folder: symlinks to the package's data plus our
`voices/!v/<name>` files (the package folder may be read-only).
"""
from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass
import hashlib
import shutil
import tempfile
from functools import lru_cache
from multiprocessing.util import Finalize
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from ...errors import EmpathicError

SAMPLE_RATE = 16000

# espeak_ng C enums (speak_lib.h)
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_RATE, _VOLUME, _PITCH, _RANGE = 1, 2, 3, 4
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RAND_SEED = 12345
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.c_void_p)


@dataclass(frozen=True)
class Voice:
    """An actor's voice: an espeak-ng variant without state-carrying effects."""
    name: str
    female: bool
    formant_scale: float  # scales formant frequencies: the actor's vocal tract

    def variant_text(self) -> str:
        lo, hi = (150, 250) if self.female else (80, 125)
        f = self.formant_scale * (1.12 if self.female else 1.0)
        lines = ["language variant", f"name {self.name}",
                 f"gender {'female' if self.female else 'male'}", f"pitch {lo} {hi}"]
        lines += [f"formant {i} {round(100 * f)} 100 100" for i in range(1, 5)]
        lines += ["flutter 0", "roughness 0", "echo 0 0", "breath 0"]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Prosody:
    """espeak-ng settings: words/minute, pitch 0-99, pitch range 0-99, volume 0-200."""
    rate: int
    pitch: int
    range: int
    volume: int


class _Espeak:
    """One initialised libespeak-ng per process (the library keeps global state)."""

    def __init__(self) -> None:
        try:
            import espeakng_loader
            self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
            data = _private_data(Path(espeakng_loader.get_data_path()))
        except (ImportError, OSError, RuntimeError) as e:
            raise EmpathicError(f"espeak-ng not available (pip package espeakng-loader): {e}") \
                from None
        self.lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p,
                                               ctypes.c_int]
        self.variants = Path(data) / "voices" / "!v"
        self.rate_in = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0,
                                                  data.encode(), 0)
        if self.rate_in <= 0:
            raise EmpathicError(f"espeak-ng failed to initialise with data at {data}")
        self.chunks: list[np.ndarray] = []
        self._cb = _CALLBACK(self._collect)  # keep a reference: ctypes does not
        self.lib.espeak_SetSynthCallback(self._cb)
        self.lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self.lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint,
                                          ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
                                          ctypes.c_void_p, ctypes.c_void_p]

    def _collect(self, wav, n, events) -> int:
        if wav and n > 0:
            self.chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    def synth(self, text: str, voice: Voice, p: Prosody, language: str) -> np.ndarray:
        text_v = voice.variant_text()
        name = "e" + hashlib.sha1(text_v.encode()).hexdigest()[:10]   # content-named: no stale file
        variant = self.variants / name
        if not variant.exists():
            variant.write_text(text_v, encoding="ascii")
        if self.lib.espeak_SetVoiceByName(f"{language}+{name}".encode()) != 0:
            raise EmpathicError(f"espeak-ng could not load voice {language}+{voice.name}")
        for key, val in ((_RATE, p.rate), (_PITCH, p.pitch), (_RANGE, p.range),
                         (_VOLUME, p.volume)):
            self.lib.espeak_SetParameter(key, int(val), 0)
        self.lib.espeak_ng_SetRandSeed(_RAND_SEED)  # noise sources use rand(): reseed per call
        self.chunks = []
        buf = text.encode("utf-8") + b"\0"
        rc = self.lib.espeak_Synth(buf, len(buf), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        self.lib.espeak_Synchronize()
        if rc != 0 or not self.chunks:
            raise EmpathicError(f"espeak-ng failed to synthesise {text!r} (code {rc})")
        return np.concatenate(self.chunks)


def _private_data(package_data: Path) -> str:
    """A temp copy of the espeak-ng data folder (symlinks) where we can add voice variants."""
    root = Path(tempfile.mkdtemp(prefix="empathic-espeak-"))
    # removed at exit, in a pool worker too (which runs multiprocessing's exit hooks, not atexit's)
    Finalize(None, shutil.rmtree, (root, True), exitpriority=0)
    data = root / "espeak-ng-data"
    data.mkdir()
    for entry in package_data.iterdir():
        if entry.name != "voices":
            (data / entry.name).symlink_to(entry)
    (data / "voices" / "!v").mkdir(parents=True)
    return str(data)


@lru_cache(maxsize=1)
def _engine() -> _Espeak:
    return _Espeak()


def synthesize(text: str, voice: Voice, prosody: Prosody, language: str = "en-us") -> np.ndarray:
    """Speak `text` in an espeak-ng language (en-us, ko, ...) with an actor's voice; int16
    samples at 16 kHz."""
    eng = _engine()
    x = eng.synth(text, voice, prosody, language).astype(np.float64)
    g = np.gcd(SAMPLE_RATE, eng.rate_in)
    y = resample_poly(x, SAMPLE_RATE // g, eng.rate_in // g)
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


def envelope(samples: np.ndarray, fps: float, sr: int = SAMPLE_RATE) -> np.ndarray:
    """RMS loudness per video frame, scaled to 0-1 by the utterance's 95th percentile."""
    hop = sr / fps
    n = max(1, int(np.ceil(len(samples) / hop)))
    x = samples.astype(np.float64) / 32768.0
    rms = np.array([np.sqrt(np.mean(x[int(i * hop):int((i + 1) * hop)] ** 2) + 1e-12)
                    for i in range(n)])
    ref = np.percentile(rms, 95)
    return np.clip(rms / ref, 0.0, 1.0) if ref > 1e-4 else np.zeros(n)


def room_noise(n: int, rng: np.random.Generator, rms: float, tilt: float, hum: float) -> np.ndarray:
    """`n` samples of a room's background: low-passed noise (one pole at `tilt`, 0-1: darker
    with higher values) plus mains hum (`hum`: its share of the level), scaled to `rms` (int16
    units)."""
    from scipy.signal import lfilter
    x = lfilter([1 - tilt], [1, -tilt], rng.standard_normal(n))
    t = np.arange(n) / SAMPLE_RATE
    x = x / (np.std(x) + 1e-12) + hum * math.sqrt(2) * np.sin(2 * math.pi * 60 * t)
    return x * (rms / math.sqrt(1 + hum ** 2))


def mix_channels(turns: list[dict], audio: list[np.ndarray], n: int, noise: dict,
                 crosstalk: float) -> dict:
    """Each actor's close-talk channel (float, int16 units): their own speech, the partner's
    speech leaking in at `crosstalk` (amplitude ratio), and their room noise `noise[g]`."""
    out = {g: noise[g].astype(np.float64).copy() for g in "FM"}
    for t, x in zip(turns, audio):
        a = int(round(t["start"] * SAMPLE_RATE))
        y = x[:max(0, n - a)].astype(np.float64)
        other = "M" if t["speaker"] == "F" else "F"
        out[t["speaker"]][a:a + len(y)] += y
        out[other][a:a + len(y)] += crosstalk * y
    return out


def to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)
