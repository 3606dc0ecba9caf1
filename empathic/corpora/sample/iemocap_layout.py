"""Writing the sample corpus's files in the real IEMOCAP_full_release formats.

Pure formatting: every function takes the generated turns (time-ordered) and returns text or
writes one file, in the formats empathic/corpora/iemocap.py reads.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import soundfile as sf


EMO_NAMES = {"neu": "Neutral", "hap": "Happiness", "exc": "Excited", "sad": "Sadness",
             "ang": "Anger", "fru": "Frustration", "sur": "Surprise", "fea": "Fear",
             "dis": "Disgust", "oth": "Other"}
EMO_HEADER = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]"
TRUTH_COLUMNS = ("utt_id", "session", "dialog", "kind", "speaker", "side", "start", "end",
                 "emotion", "consensus", "valence", "arousal", "dominance", "arousal_level",
                 "prompt_emotion", "text", "wav", "video", "intensity", "blend", "style",
                 "actor_kind", "ratings")


def session_dir(root: Path, session: int) -> Path:
    return root / f"Session{session}"


def wav_path(root: Path, session: int, dialog: str, utt_id: str) -> Path:
    return session_dir(root, session) / "sentences" / "wav" / dialog / f"{utt_id}.wav"


def avi_path(root: Path, session: int, dialog: str) -> Path:
    return session_dir(root, session) / "dialog" / "avi" / "DivX" / f"{dialog}.avi"


def dialog_wav_path(root: Path, session: int, dialog: str) -> Path:
    return session_dir(root, session) / "dialog" / "wav" / f"{dialog}.wav"


def emo_eval_path(root: Path, session: int, dialog: str) -> Path:
    return session_dir(root, session) / "dialog" / "EmoEvaluation" / f"{dialog}.txt"


def transcription_path(root: Path, session: int, dialog: str) -> Path:
    return session_dir(root, session) / "dialog" / "transcriptions" / f"{dialog}.txt"


def emo_evaluation(turns: list[dict]) -> str:
    """EmoEvaluation text: header, then one block per turn (consensus, C- and A- rater lines)."""
    lines = [EMO_HEADER, ""]
    for t in turns:
        vad = ", ".join(f"{v:.4f}" for v in t["vad"])
        lines.append(f"[{t['start']:.4f} - {t['end']:.4f}]\t{t['utt_id']}\t{t['consensus']}"
                     f"\t[{vad}]")
        for rater, label in zip(t["raters"], t["labels"]):
            lines.append(f"C-{rater}:\t{EMO_NAMES[label]};\t()")
        for rater, (v, a, d) in zip(t["raters"], t["ratings"]):
            lines.append(f"A-{rater}:\tval {v}; act {a}; dom  {d};\t()")
        lines.append("")
    return "\n".join(lines) + "\n"


def transcription(turns: list[dict], noise_after: int) -> str:
    """Transcription lines in time order, plus one non-utterance line (no `Ses` prefix)."""
    lines = []
    for i, t in enumerate(turns):
        lines.append(f"{t['utt_id']} [{t['start']:08.4f}-{t['end']:08.4f}]: {t['text']}")
        if i == noise_after:
            lines.append(f"{t['speaker']}: [BREATHING]")
    return "\n".join(lines) + "\n"


def write_wav(path: Path, samples: np.ndarray, sr: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), samples, sr, subtype="PCM_16", format="WAV")


def write_truth(path: Path, rows: list[dict]) -> None:
    """sample_truth.csv: the generator's ground truth (the real reader ignores it)."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=TRUTH_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
