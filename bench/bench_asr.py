"""Benchmark of predict's offline speech recognition: word error rate against the sample
corpus's transcripts, and speed.

    python bench/bench_asr.py [--root data/sample/IEMOCAP_full_release] [--n 24] [--asr pocketsphinx]
    python bench/bench_asr.py --asr whisper --asr-model path/to/whisper-small

Without --root (or when it does not exist) a small sample corpus is generated into a temporary
folder with the params.yaml `sample` section (3 sessions x 2 dialogues x 12 turns). The first
`--n` utterances (by id) are recognised from their own wavs, i.e. with the true segment times;
WER = word edits / reference words over all of them (case and punctuation ignored). The sample's
speech is espeak-ng synthesis with emotional prosody, room noise and the partner's crosstalk,
which a recogniser trained on read speech finds harder than real studio speech.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[1] / ".numba_cache"))

from bench_vad import corpus  # noqa: E402
from empathic.corpora.iemocap import read_iemocap  # noqa: E402
from empathic.extractors.audio import load_audio  # noqa: E402
from empathic.predict import asr  # noqa: E402

SR = 16000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default="data/sample/IEMOCAP_full_release")
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--asr", default="pocketsphinx", choices=asr.RECOGNISERS[1:-1])
    ap.add_argument("--asr-model")
    ap.add_argument("--show", type=int, default=5, help="print this many reference/hypothesis pairs")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = corpus(a.root, Path(tmp))
        utts = read_iemocap(root).sort_values("utt_id").head(a.n)
        xs = [load_audio(root / w, SR) for w in utts["wav"]]
    edits = words = 0
    audio_s = sum(len(x) for x in xs) / SR
    t0, c0 = time.perf_counter(), time.process_time()
    hyps = [asr.transcribe(x, SR, [(0.0, len(x) / SR)], a.asr, a.asr_model)[0] for x in xs]
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    for (ref, hyp), i in zip(zip(utts["text"], hyps), range(len(hyps))):
        e, n = asr.wer(ref, hyp)
        edits, words = edits + e, words + n
        if i < a.show:
            print(f"  {ref!r}\n    -> {hyp!r}")
    empty = sum(not h for h in hyps)
    print(f"\n{a.asr}: WER {edits / max(words, 1):.3f} ({edits} edits / {words} words) on "
          f"{len(hyps)} sample utterances ({audio_s:.0f} s), {empty} with no words; "
          f"{cpu / audio_s:.2f} CPU s per second of audio ({wall / audio_s:.2f} wall)")


if __name__ == "__main__":
    main()
