"""Audio extractor: openSMILE functionals + log-mel statistics per utterance, LLD frames.

For every utterance wav (relative to data.root) it writes to ``features/audio.h5``:

- ``pooled``: the openSMILE functionals of ``features.audio.feature_set`` (eGeMAPSv02: 88,
  named as openSMILE names them) followed by the mean and standard deviation of each log-mel
  band (``logmel_mean_00``..., ``logmel_std_00``...; ``features.audio.n_mels`` bands, 25 ms
  Hann window, 10 ms hop, 10*log10 power);
- ``frames``: the feature set's low-level descriptors, one row per 10 ms (eGeMAPSv02: 25),
  ``frame_names`` their names, attribute ``frame_rate`` = 100.

Audio is mixed to mono and resampled to ``features.audio.sample_rate`` when the wav differs.
openSMILE computes LLDs and functionals in one pass (one configuration, two sinks), so the
frames and the functionals always come from the same analysis. Utterances run in parallel on
``features.workers`` processes, one thread each; results do not depend on the worker count.
Rows stream to the file as batches complete (Extractor.stream; a few batches in flight).
Missing, unreadable, empty or too-short audio is a failed row with a reason. So is a truncated
wav (its data chunk shorter than its header declares, e.g. a copy cut off): its samples cover
only the start of the utterance, so features from them would describe another span; the row
fails with "truncated wav: ..." rather than being kept with a warning.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import opensmile
import pandas as pd
from opensmile.core.lib import OpenSMILE, OpenSmileException

from ..config import params as P
from ..execution import limit_threads
from ..store import Head, Row
from . import Extractor, Stream, register

FRAME_RATE = 100            # openSMILE LLD hop (10 ms) and the log-mel hop
WIN_S, HOP_S = 0.025, 0.010
AMIN = 1e-10                # floor of the mel power before the log


@dataclass(frozen=True)
class Config:
    """What a worker needs to analyse one utterance (picklable)."""
    feature_set: str
    sample_rate: int
    n_mels: int


def _smile(feature_set: str, level: str) -> opensmile.Smile:
    return opensmile.Smile(feature_set=opensmile.FeatureSet[feature_set],
                           feature_level=opensmile.FeatureLevel[level])


def feature_names(feature_set: str) -> tuple[list[str], list[str]]:
    """(functional names, LLD names) of an openSMILE feature set."""
    return (list(_smile(feature_set, "Functionals").feature_names),
            list(_smile(feature_set, "LowLevelDescriptors").feature_names))


def logmel_names(n_mels: int) -> list[str]:
    return ([f"logmel_mean_{i:02d}" for i in range(n_mels)]
            + [f"logmel_std_{i:02d}" for i in range(n_mels)])


class _Analyser:
    """Per-process state: openSMILE configuration and the mel filterbank, built once."""

    def __init__(self, cfg: Config):
        import librosa
        self.cfg = cfg
        smile = _smile(cfg.feature_set, "Functionals")
        self.config_file = smile.config_path
        root = smile.default_config_root
        self.options = {
            "source": os.path.join(root, "shared/standard_external_wave_input.conf.inc"),
            "sink": os.path.join(root, "shared/standard_external_data_output_multi.conf.inc"),
            "sinkLevelLLD": "lld", "sinkLevelFunc": "func",
            "bufferModeRbConf": os.path.join(root, "shared/BufferModeRb.conf.inc"),
            "frameModeFunctionalsConf": os.path.join(root, "shared/FrameModeFunctionals.conf.inc"),
            "sampleRate": cfg.sample_rate, "nBits": 16,
        }
        self.n_func = len(smile.feature_names)
        self.n_lld = len(_smile(cfg.feature_set, "LowLevelDescriptors").feature_names)
        self.n_fft = int(round(WIN_S * cfg.sample_rate))
        self.hop = int(round(HOP_S * cfg.sample_rate))
        self.mel = librosa.filters.mel(sr=cfg.sample_rate, n_fft=self.n_fft, n_mels=cfg.n_mels)

    def smile(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(functionals (F,), LLD frames (T, L)) of float samples in [-1, 1]."""
        lld, func = [], []
        sm = OpenSMILE()
        sm.initialize(config_file=self.config_file, options=self.options, loglevel=0)
        try:
            sm.external_sink_set_callback("extsinklld", lambda d: lld.append(d.copy()))
            sm.external_sink_set_callback("extsinkfunc", lambda d: func.append(d.copy()))
            pcm = np.clip(np.round(x * 32768.0), -32768, 32767).astype("<i2")
            sm.external_audio_source_write_data("extsource", pcm.tobytes())
            sm.external_audio_source_set_eoi("extsource")
            sm.run()
        finally:
            sm.free()
        frames = np.array(lld, np.float32).reshape(-1, self.n_lld)
        return (np.array(func[0], np.float32) if func else np.full(self.n_func, np.nan, np.float32),
                frames)

    def logmel(self, x: np.ndarray) -> np.ndarray:
        """Mean and std of each log-mel band over the utterance, (2 * n_mels,)."""
        import librosa
        spec = np.abs(librosa.stft(x.astype(np.float64), n_fft=self.n_fft, hop_length=self.hop,
                                   window="hann", center=True)) ** 2
        lm = 10.0 * np.log10(np.maximum(self.mel @ spec, AMIN))
        return np.concatenate([lm.mean(axis=1), lm.std(axis=1)]).astype(np.float32)


_STATE: dict = {}


def _init_worker(cfg: Config) -> None:
    limit_threads(1)
    _STATE["analyser"] = _Analyser(cfg)


class TruncatedAudio(RuntimeError):
    """A wav whose data chunk is shorter than its header says."""


def wav_shortfall(path: Path) -> tuple[int, int] | None:
    """(bytes present, bytes declared) of a RIFF/WAVE file's data chunk when fewer are present
    than its header declares; None when complete, not a RIFF wav, or of unknown length."""
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        size, pos = os.fstat(f.fileno()).st_size, 12
        while pos + 8 <= size:
            f.seek(pos)
            chunk = f.read(8)
            n = int.from_bytes(chunk[4:], "little")
            if chunk[:4] == b"data":
                have = size - pos - 8
                if n in (0, 0xFFFFFFFF):        # a streamed wav: the length was never written
                    return None
                return (have, n) if have < n else None
            pos += 8 + n + (n & 1)
    return None


def load_audio(path: Path, sample_rate: int) -> np.ndarray:
    """Mono float64 samples at `sample_rate`; raises TruncatedAudio for a wav cut short and
    OSError/RuntimeError when unreadable."""
    import soundfile as sf
    short = wav_shortfall(path)
    if short:
        have, declared = short
        raise TruncatedAudio(f"truncated wav: its data holds {have} of the {declared} bytes its "
                             f"header declares ({100 * have / declared:.0f} %)")
    x, sr = sf.read(str(path), dtype="float64", always_2d=True)
    x = x.mean(axis=1)
    if sr != sample_rate and len(x):
        import librosa
        x = librosa.resample(x, orig_sr=sr, target_sr=sample_rate, res_type="soxr_hq")
    return x


def _analyse(path: str) -> tuple[np.ndarray | None, np.ndarray | None, str | None]:
    """One utterance wav -> (pooled, frames, None) or (None, None, reason)."""
    an: _Analyser = _STATE["analyser"]
    if not path:
        return None, None, "missing wav: no wav path in utterances.csv"
    p = Path(path)
    if not p.is_file():
        return None, None, f"missing wav: {path}"
    try:
        x = load_audio(p, an.cfg.sample_rate)
    except TruncatedAudio as e:
        return None, None, str(e)
    except Exception as e:  # soundfile raises several types (LibsndfileError, RuntimeError...)
        return None, None, f"unreadable wav: {(str(e) or type(e).__name__).splitlines()[0]}"
    if len(x) == 0:
        return None, None, "empty audio"
    if not np.any(x):
        return None, None, "empty audio (all samples are zero)"
    if not np.all(np.isfinite(x)):
        return None, None, "unreadable wav: non-finite samples"
    try:
        func, frames = an.smile(x)
    except OpenSmileException as e:
        return None, None, f"openSMILE failed: {(str(e) or type(e).__name__).splitlines()[0]}"
    if not np.all(np.isfinite(func)) or len(frames) == 0:
        ms = len(x) / an.cfg.sample_rate * 1000
        return None, None, f"audio too short for {an.cfg.feature_set} ({ms:.0f} ms)"
    return np.concatenate([func, an.logmel(x)]), frames, None


FEATURE_SETS = ("eGeMAPSv02", "eGeMAPSv01b", "GeMAPSv01b", "ComParE_2016")  # LLD + functionals


def config_from(section: dict) -> Config:
    """From the `features.audio` section, validated by the schema (its choices and ranges)."""
    s = P.section({"features": {"audio": section or {}}}, "features.audio")
    return Config(feature_set=s.feature_set, sample_rate=s.sample_rate, n_mels=s.n_mels)


@register
class AudioExtractor(Extractor):
    name = "audio"
    version = "1"

    def stream(self, utts: pd.DataFrame) -> Stream:
        cfg = config_from(self.params)
        func_names, lld_names = feature_names(cfg.feature_set)
        names = func_names + logmel_names(cfg.n_mels)
        head = Head("audio", names, {"frames": (len(lld_names),)}, lld_names,
                    attrs={"frame_rate": FRAME_RATE, "feature_set": cfg.feature_set,
                           "sample_rate": cfg.sample_rate, "n_mels": cfg.n_mels})
        paths = [str(self.root / w) if w else "" for w in utts["wav"]]
        # A batch of 4 utterances is one unit of work (one Dask task, one pool task).
        out = self.executor.imap(_analyse, paths, desc="audio", progress=self.progress,
                                 initializer=_init_worker, initargs=(cfg,), chunksize=4,
                                 unit="utt")
        failed = Row(np.full(len(names), np.nan, np.float32),
                     {"frames": np.zeros((0, len(lld_names)), np.float32)})

        def rows():
            for i, (vec, fr, why) in enumerate(out):
                row = Row(vec, {"frames": fr}) if why is None else Row(
                    failed.pooled, failed.seqs, why)
                yield i, {"audio": row}
        return Stream({"audio": head}, rows())
