"""Write small IEMOCAP_full_release folders in the exact file formats, for the reader tests.

`write_corpus(root)` writes three sessions whose dialogues carry every quirk of the real corpus:
a `%` header, per-rater C-/A- lines, `xxx`, a scripted part id, the `impro08b` and `script01_1b`
suffixes, latin-1 bytes, a transcription line that does not start with `Ses`, an utterance with
no transcription line, overlapping turns, files not in time order (ids sort differently from
start times), and dialogues whose marker wearer is F or M.
"""
from __future__ import annotations

import wave
from dataclasses import dataclass, field
from pathlib import Path

HEADER = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"


@dataclass
class Turn:
    utt: str                      # utterance id, e.g. Ses01F_impro01_F000
    start: float
    end: float
    text: str = "Hello there."
    emotion: str = "neu"
    vad: tuple = (2.5, 3.0, 2.0)
    raters: list = field(default_factory=lambda: [("E2", "Neutral;"), ("E3", "Neutral; Anger;"),
                                                  ("F1", "Neutral;")])


def session_folder(utt: str) -> str:
    return f"Session{int(utt[3:5])}"


def emo_block(t: Turn) -> str:
    v, a, d = t.vad
    lines = [f"[{t.start:.4f} - {t.end:.4f}]\t{t.utt}\t{t.emotion}\t[{v:.4f}, {a:.4f}, {d:.4f}]"]
    lines += [f"C-{r}:\t{lab}\t()" for r, lab in t.raters]
    lines += ["A-E3:\tval 3; act 2; dom  2;\t()", "A-F1:\tval 4; act 3; dom  1;\t(tense)"]
    return "\n".join(lines) + "\n\n"


def trans_line(t: Turn) -> str:
    return f"{t.utt} [{t.start:08.4f}-{t.end:08.4f}]: {t.text}\n"


def write_wav(path: Path, seconds: float = 0.05) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\x00\x00" * int(16000 * seconds))


def write_dialog(root: Path, dialog: str, turns: list[Turn], *, encoding: str = "utf-8",
                 extra_trans: tuple[str, ...] = (), untranscribed: tuple[str, ...] = (),
                 video: bool = True, wavs: bool = True) -> None:
    """One dialogue: EmoEvaluation (in time order), transcription (in id order), wavs, avi."""
    sess = root / session_folder(dialog)
    emo = sess / "dialog" / "EmoEvaluation" / f"{dialog}.txt"
    trans = sess / "dialog" / "transcriptions" / f"{dialog}.txt"
    for p in (emo, trans):
        p.parent.mkdir(parents=True, exist_ok=True)
    by_time = sorted(turns, key=lambda t: t.start)
    emo.write_bytes((HEADER + "".join(emo_block(t) for t in by_time)).encode(encoding))
    lines = [trans_line(t) for t in sorted(turns, key=lambda t: t.utt) if t.utt not in untranscribed]
    trans.write_bytes(("".join(lines) + "".join(extra_trans)).encode(encoding))
    if wavs:
        for t in turns:
            write_wav(sess / "sentences" / "wav" / dialog / f"{t.utt}.wav")
    if video:
        avi = sess / "dialog" / "avi" / "DivX" / f"{dialog}.avi"
        avi.parent.mkdir(parents=True, exist_ok=True)
        avi.write_bytes(b"RIFF\x00\x00\x00\x00AVI ")


def alternating(dialog: str, n: int, t0: float = 1.0) -> list[Turn]:
    """n turns alternating F, M (F first), 2 s long, each starting 2.5 s after the previous."""
    out, count = [], {"F": 0, "M": 0}
    for k in range(n):
        g = "FM"[k % 2]
        s = t0 + 2.5 * k
        out.append(Turn(f"{dialog}_{g}{count[g]:03d}", s, s + 2.0, text=f"Turn {k} of {dialog}."))
        count[g] += 1
    return out


# The first dialogue, spelled out: overlap, a long silence, a double turn, ids out of time order.
IMPRO01 = [
    Turn("Ses01F_impro01_F000", 1.0, 3.0, "Excuse me."),
    Turn("Ses01F_impro01_M000", 2.5, 4.0, "Do you have your forms?", "fru", (2.0, 3.5, 3.5)),
    Turn("Ses01F_impro01_F001", 4.2, 6.0, "Yes, here they are."),
    Turn("Ses01F_impro01_M001", 6.3, 7.0, "Thanks."),
    Turn("Ses01F_impro01_F002", 7.1, 8.0, "And this one?", "xxx"),
    Turn("Ses01F_impro01_F003", 20.0, 21.0, "Hello?"),                 # M answers 9 s later
    # M's id 002 starts AFTER M's id 003: ids do not give the time order.
    Turn("Ses01F_impro01_M003", 30.0, 31.5, "Sorry, I was away."),
    Turn("Ses01F_impro01_M002", 29.0, 29.5, "Hm."),
    Turn("Ses01F_impro01_F004", 32.0, 33.0, "No problem."),          # no M turn after it
]


def write_corpus(root: Path) -> Path:
    """The standard fixture corpus (3 sessions, 6 dialogues); returns root."""
    write_dialog(root, "Ses01F_impro01", IMPRO01)
    script = alternating("Ses01F_script01_1", 4)
    script[1].text = "Caf\u00e9 au lait, s'il vous pla\u00eet."
    script[1].raters = [("E1", "Happiness;"), ("E2", "Excited;")]
    write_dialog(root, "Ses01F_script01_1", script, encoding="latin-1")
    write_dialog(root, "Ses02M_impro08b", alternating("Ses02M_impro08b", 4))
    write_dialog(root, "Ses02M_script01_1b", alternating("Ses02M_script01_1b", 4))
    impro = alternating("Ses03F_impro02", 4)
    write_dialog(root, "Ses03F_impro02", impro,
                 extra_trans=("M: [LAUGHTER] (not an utterance line)\n",),
                 untranscribed=(impro[3].utt,))
    write_dialog(root, "Ses03M_impro03", alternating("Ses03M_impro03", 4), video=False)
    return root
