"""Tiny KEMDy19 / KEMDy20 corpora written from the releases' documented formats (no licensed data).

Both writers return the segment plan (one dict per segment, with the values the physiological
streams were built from) so tests can check what the readers and extract@physio recover.

Signal files: KEMDy20 EDA/TEMP have two header lines (E4 start time, sample rate) then
`value,timestamp[,segment id]` rows, its IBI one header line then
`offset,interval,timestamp[,segment id]`; KEMDy19's are described in `write_kemdy19`. Each
participant's signals run on their own clock (an offset from the wav clock) so "own clock"
mistakes show.

Per participant and segment the streams are: EDA `level + slope * (t - start)` with one phasic
bump in the participant's first segment of each dialogue; TEMP constant `temp`; heartbeats
alternating 0.78 s / 0.82 s (HR 75 bpm, RMSSD 40 ms), as IBI rows (KEMDy20) or as an ECG trace
at 256 Hz (KEMDy19). Outside its speaker's segments a participant's EDA is 1.0.
"""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

EDA_RATE, TEMP_RATE, ECG_RATE = 4.0, 4.0, 256.0
EDA_SLOPE = 0.05
IBI_PATTERN = (0.78, 0.82)
EMOTIONS = ["neutral", "happy", "sad", "angry", "disqust", "happy;neutral", "surprise", "fear"]
TEXTS = ["오늘 날씨가 정말 좋네요.", "그게 무슨 말이야?", "너무 슬퍼요.", "정말 화가 나네!"]
# KEMDy19 signal clocks: offset of each participant's ECG/EDA/TEMP clock from the wav clock.
CLOCK19 = {"F": {"ecg": 50.0, "eda": 100.0, "temp": 200.0},
           "M": {"ecg": 60.0, "eda": 110.0, "temp": 210.0}}
CLOCK20 = {"eda": 1000.0, "temp": 1000.5, "ibi": 999.0}
DIALOGS19, DIALOG_SPAN19 = ["impro01", "script01"], 100.0


def _wav(path: Path, seconds: float = 0.2) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(16000 * seconds)) / 16000
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((3000 * np.sin(2 * np.pi * 220 * t)).astype("<i2").tobytes())


def _text(path: Path, text: str, encoding: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))


def _csv(path: Path, lines: list[str], encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))


def _plan(n_sessions: int, dialogs: list[str], speakers: dict, n_turns: int, step: float,
          dur: float, id_of) -> list[dict]:
    """Alternating turns (F first), each `dur` s long starting every `step` s."""
    segs, k = [], 0
    for s in range(1, n_sessions + 1):
        for d in dialogs:
            count = {"F": 0, "M": 0}
            for i in range(n_turns):
                g = "FM"[i % 2]
                count[g] += 1
                start = 0.5 + i * step
                segs.append({
                    "id": id_of(s, d, speakers(s)[g], count[g]), "sess": s, "dialog": d,
                    "gender": g, "other": "MF"[i % 2], "start": start, "end": start + dur,
                    "emotion": EMOTIONS[k % len(EMOTIONS)],
                    "listener_emotion": EMOTIONS[(k + 3) % len(EMOTIONS)],
                    "valence": 1 + (k % 5), "arousal": 5 - (k % 5),
                    "listener_valence": 2.5, "listener_arousal": 1 + (k % 3),
                    "text": TEXTS[k % len(TEXTS)], "level": 2.0 + 0.25 * (k % 7),
                    "temp": 32.0 + 0.1 * (k % 9), "bump": count[g] == 1})
                k += 1
    return segs


def _eda(t: np.ndarray, segs: list[dict]) -> np.ndarray:
    """One participant's EDA on the wav clock, built from the segments they speak."""
    v = np.ones_like(t)
    for sg in segs:
        m = (t >= sg["start"]) & (t <= sg["end"])
        v[m] = sg["level"] + EDA_SLOPE * (t[m] - sg["start"])
        if sg["bump"]:
            mid = (sg["start"] + sg["end"]) / 2
            v[m] += 0.3 * np.exp(-0.5 * ((t[m] - mid) / 0.3) ** 2)
    return v


def _temp(t: np.ndarray, segs: list[dict]) -> np.ndarray:
    v = np.full_like(t, 31.0)
    for sg in segs:
        v[(t >= sg["start"]) & (t <= sg["end"])] = sg["temp"]
    return v


def _beats(t_end: float) -> np.ndarray:
    n = int(t_end / 0.8) + 2
    return np.cumsum([IBI_PATTERN[i % 2] for i in range(n)])


def _ecg(t: np.ndarray, beats: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    v = 0.02 * rng.standard_normal(len(t)) + 0.1 * np.sin(2 * np.pi * 0.2 * t)
    for b in beats:
        v += (np.exp(-0.5 * ((t - b) / 0.012) ** 2)
              + 0.3 * np.exp(-0.5 * ((t - b - 0.25) / 0.04) ** 2))
    return v


def _signal_lines(header: list[str], columns: list, tags=None) -> list[str]:
    """Header lines, then one row per sample: the columns' numbers, then the tag if any."""
    lines = list(header)
    for i, row in enumerate(zip(*columns)):
        line = ",".join(f"{x:.6f}" for x in row)
        if tags is not None and tags[i]:
            line += f",{tags[i]}"
        lines.append(line)
    return lines


def _tags(t: np.ndarray, segs: list[dict]) -> np.ndarray:
    out = np.full(len(t), "", dtype=object)
    for sg in segs:
        out[(t >= sg["start"]) & (t <= sg["end"])] = sg["id"]
    return out


# ----------------------------------------------------------------------------------------- KEMDy19

def kemdy19_id(s: int, d: str, g: str, n: int) -> str:
    return f"Sess{s:02d}_{d}_{g}{n:03d}"


def write_kemdy19(root: Path, n_sessions: int = 2, n_turns: int = 4,
                  missing: tuple[str, ...] = ()) -> list[dict]:
    """Write a KEMDy19-layout corpus; `missing` lists signal files (relative paths) left out.

    Signals: one file per participant and session (`EDA/Session01/Original/Sess01F.csv`), no
    header lines, rows `value,index,timestamp[,segment id]` (EDA, TEMP) and
    `index,value,timestamp[,segment id]` (ECG); the session's dialogues follow each other on the
    device clock, dialogue k starting DIALOG_SPAN19 * k seconds after the clock's offset."""
    root = Path(root)
    segs = _plan(n_sessions, DIALOGS19, lambda s: {"F": "F", "M": "M"}, n_turns,
                 step=3.5, dur=4.0, id_of=kemdy19_id)
    for sg in segs:
        sg["base"] = DIALOG_SPAN19 * DIALOGS19.index(sg["dialog"])
    rng = np.random.default_rng(0)
    raters = [f"Eval{r:02d}" for r in range(1, 11)]
    head1 = ["Numb", "Wav", "", "ECG", "", "E4-EDA", "", "E4-TEMP", "", "Segment ID",
             "Total Evaluation", "", ""] + sum(([r, "", ""] for r in raters), [])
    head2 = ["", "start", "end", "start", "end", "start", "end", "start", "end", "",
             "Emotion", "Valence", "Arousal"] + ["Emotion", "Valence", "Arousal"] * 10
    for s in range(1, n_sessions + 1):
        sess = [sg for sg in segs if sg["sess"] == s]
        for g in "FM":
            rows = [",".join(head1), ",".join(head2)]
            # rows in id order (F001, F002, ..., M001, ...), not in time order
            for n, sg in enumerate(sorted(sess, key=lambda x: x["id"]), 1):
                own = sg["gender"] == g
                emo = sg["emotion"] if own else sg["listener_emotion"]
                val = sg["valence"] if own else sg["listener_valence"]
                aro = sg["arousal"] if own else sg["listener_arousal"]
                clock = CLOCK19[g]
                times = [sg["start"], sg["end"]] + [x + sg["base"] + clock[c]
                                                    for c in ("ecg", "eda", "temp")
                                                    for x in (sg["start"], sg["end"])]
                rater = sum(([emo.split(";")[0], str(val), str(aro)] for _ in raters), [])
                rows.append(",".join([str(n)] + [f"{x:.3f}" for x in times] +
                                     [sg["id"], emo, str(val), str(aro)] + rater))
            _csv(root / "annotation" / f"Session{s:02d}_{g}_res.csv", rows)
        for sg in sess:
            folder = root / "wav" / f"Session{s:02d}" / f"Sess{s:02d}_{sg['dialog']}"
            _wav(folder / f"{sg['id']}.wav")
            _text(folder / f"{sg['id']}.txt", sg["text"],
                  "cp949" if sg["gender"] == "M" else "utf-8")
        # the session on one clock: segments shifted by their dialogue's base
        shifted = [{**sg, "start": sg["start"] + sg["base"], "end": sg["end"] + sg["base"]}
                   for sg in sess]
        t_end = max(sg["end"] for sg in shifted) + 2.0
        for g in "FM":
            mine = [sg for sg in shifted if sg["gender"] == g]
            clock = CLOCK19[g]
            t = np.arange(0, t_end, 1 / EDA_RATE)
            te = np.arange(0, t_end, 1 / ECG_RATE)
            idx, idx_e = np.arange(len(t)), np.arange(len(te))
            files = {
                "EDA": _signal_lines([], [_eda(t, mine), idx, t + clock["eda"]],
                                     _tags(t, shifted)),
                "TEMP": _signal_lines([], [_temp(t, mine), idx, t + clock["temp"]],
                                      _tags(t, shifted)),
                "ECG": _signal_lines([], [idx_e, _ecg(te, _beats(t_end), rng),
                                          te + clock["ecg"]], _tags(te, shifted))}
            for sig, lines in files.items():
                rel = f"{sig}/Session{s:02d}/Original/Sess{s:02d}{g}.csv"
                if rel not in missing:
                    _csv(root / rel, lines)
    return segs


# ----------------------------------------------------------------------------------------- KEMDy20

def kemdy20_user(s: int, g: str) -> str:
    return f"User{2 * s - (g == 'F'):03d}{g}"


def kemdy20_id(s: int, d: str, user: str, n: int) -> str:
    return f"Sess{s:02d}_{d}_{user}_{n:03d}"


def write_kemdy20(root: Path, n_sessions: int = 2, n_turns: int = 4,
                  missing: tuple[str, ...] = ()) -> list[dict]:
    """Write a KEMDy20-layout corpus; `missing` lists signal files (relative paths) left out."""
    root = Path(root)
    users = lambda s: {g: kemdy20_user(s, g) for g in "FM"}  # noqa: E731
    segs = _plan(n_sessions, ["script01", "script02"], users, n_turns, step=4.3, dur=4.0,
                 id_of=lambda s, d, u, n: kemdy20_id(s, d, u, n))
    raters = [f"Eval{r:02d}{'FM'[r % 2]}" for r in range(1, 11)]
    head1 = ["Numb", "Wav", "", "Segment ID", "Total Evaluation", "", ""] + \
        sum(([r, "", ""] for r in raters), [])
    head2 = ["", "start", "end", "", "Emotion", "Valence", "Arousal"] + \
        ["Emotion", "Valence", "Arousal"] * 10
    for s in range(1, n_sessions + 1):
        sess = [sg for sg in segs if sg["sess"] == s]
        rows = [",".join(head1), ",".join(head2)]
        for n, sg in enumerate(sorted(sess, key=lambda x: x["id"]), 1):
            rater = sum(([sg["emotion"].split(";")[0], str(sg["valence"]), str(sg["arousal"])]
                         for _ in raters), [])
            rows.append(",".join([str(n), f"{sg['start']:.3f}", f"{sg['end']:.3f}", sg["id"],
                                  sg["emotion"], str(sg["valence"]), str(sg["arousal"])] + rater))
        _csv(root / "annotation" / f"Sess{s:02d}_eval.csv", rows)
        for sg in sess:
            _wav(root / "wav" / f"Session{s:02d}" / f"{sg['id']}.wav")
            _text(root / "wav" / f"Session{s:02d}" / f"{sg['id']}.txt", sg["text"], "cp949")
        for d in ("script01", "script02"):
            dsegs = [sg for sg in sess if sg["dialog"] == d]
            t_end = max(sg["end"] for sg in dsegs) + 2.0
            for g in "FM":
                mine = [sg for sg in dsegs if sg["gender"] == g]
                t = np.arange(0, t_end, 1 / EDA_RATE)
                beats = _beats(t_end)
                e4 = [f"{CLOCK20['eda']:.6f}", f"{EDA_RATE:.6f}"]   # E4: start time, rate
                files = {
                    "EDA": _signal_lines(e4, [_eda(t, mine), t + CLOCK20["eda"]], _tags(t, dsegs)),
                    "TEMP": _signal_lines(e4, [_temp(t, mine), t + CLOCK20["temp"]],
                                          _tags(t, dsegs)),
                    # E4's IBI file: `start, IBI`, then offset, interval (+ timestamp, id)
                    "IBI": _signal_lines([f"{CLOCK20['ibi']:.6f}, IBI"],
                                         [beats[1:], np.diff(beats), beats[1:] + CLOCK20["ibi"]],
                                         _tags(beats[1:], dsegs))}
                for sig, lines in files.items():
                    rel = f"{sig}/Session{s:02d}/Sess{s:02d}_{d}_{users(s)[g]}.csv"
                    if rel not in missing:
                        _csv(root / rel, lines)
    return segs
