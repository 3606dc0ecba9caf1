"""Benchmark of the audio extractor: real-time factor on sample-like speech.

    python bench/bench_audio.py [--n 60] [--workers 2] [--wav-dir DIR]

Speech is synthesised with the sample corpus's espeak-ng voices and emotion prosody (or read
from DIR/**/*.wav). Prints the real-time factor (processing seconds per second of audio) of
`extract@audio` on `--workers` processes, with and without the worker start-up, and the
single-process compute RTF, and that compute's ratio to a bare openSMILE functionals pass
(`Smile.process_signal`) on the same samples. Target: at most 0.01 x real time aggregated over 2
cores.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[1] / ".numba_cache"))

import pandas as pd  # noqa: E402
import soundfile as sf  # noqa: E402

from empathic.extractors import audio  # noqa: E402

PARAMS = {"feature_set": "eGeMAPSv02", "sample_rate": 16000, "n_mels": 40}


def synthesize_corpus(out: Path, n: int) -> list[Path]:
    """`n` espeak-ng utterances like the sample corpus's (emotion prosody, F and M voices)."""
    from empathic.corpora.sample.generator import PROSODY
    from empathic.corpora.sample.speech import SAMPLE_RATE, Prosody, Voice, synthesize
    from empathic.corpora.sample.text import TEMPLATES
    voices = [(Voice("benchf", True, 1.0), 52), (Voice("benchm", False, 1.0), 38)]
    emotions = sorted(set(PROSODY) & set(TEMPLATES))
    paths = []
    for i in range(n):
        emo = emotions[i % len(emotions)]
        voice, base = voices[(i // len(emotions)) % 2]
        rate, dpitch, rng, vol = PROSODY[emo]
        text = TEMPLATES[emo][i % len(TEMPLATES[emo])]
        p = out / f"u{i:04d}.wav"
        sf.write(p, synthesize(text, voice, Prosody(rate, base + dpitch, rng, vol)), SAMPLE_RATE,
                 subtype="PCM_16")
        paths.append(p)
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=60, help="utterances to synthesise")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--wav-dir", type=Path, help="use these wavs instead of synthesising")
    a = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = a.wav_dir or Path(tmp)
        paths = sorted(root.rglob("*.wav")) if a.wav_dir else synthesize_corpus(root, a.n)
        seconds = sum(sf.info(p).duration for p in paths)
        utts = pd.DataFrame({"utt_id": [p.stem for p in paths],
                             "wav": [str(p.relative_to(root)) for p in paths]})
        print(f"{len(paths)} utterances, {seconds:.1f} s of audio "
              f"({seconds / len(paths):.2f} s each)")

        # single process, after a warm-up utterance: compute cost per core
        audio._init_worker(audio.config_from(PARAMS))
        audio._analyse(str(paths[0]))
        t, cpu = time.perf_counter(), time.process_time()
        for p in paths:
            audio._analyse(str(p))
        one, one_cpu = (time.perf_counter() - t) / seconds, (time.process_time() - cpu) / seconds
        print(f"1 process, compute only:       RTF {one:.4f} wall, {one_cpu:.4f} CPU "
              f"(= {one_cpu / a.workers:.4f} over {a.workers} cores if it scales)")

        # the reference: a bare openSMILE functionals pass (opensmile.Smile.process_signal) on
        # the same samples; the extractor's one pass also yields the LLDs, and adds the log-mel
        smile = audio._smile(PARAMS["feature_set"], "Functionals")
        signals = [audio.load_audio(p, PARAMS["sample_rate"]) for p in paths]
        smile.process_signal(signals[0], PARAMS["sample_rate"])
        cpu = time.process_time()
        for x in signals:
            smile.process_signal(x, PARAMS["sample_rate"])
        bare = (time.process_time() - cpu) / seconds
        print(f"bare openSMILE functionals:    RTF {bare:.4f} CPU; the extractor costs "
              f"{one_cpu / bare:.2f}x it (functionals + LLDs in one pass, + log-mel, + reading)")

        ex = audio.AudioExtractor(PARAMS, root=root, workers=a.workers, progress=False)
        t = time.perf_counter()
        res = ex.extract(utts)["audio"]
        wall = time.perf_counter() - t
        assert res.features.ok.all(), res.reasons
        print(f"{a.workers} processes, incl. start-up: RTF {wall / seconds:.4f} "
              f"({wall:.1f} s wall; target <= 0.01)")
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
              "(shared machine: figures are pessimistic when it is loaded)")


if __name__ == "__main__":
    main()
