"""Biosignals of the KEMDy sample: arousal-driven EDA, TEMP and heart beats, in the real files.

Each participant's streams follow their arousal (own emotion while speaking, listener state
while listening): EDA (4 Hz) tonic level and phasic responses rise with arousal, TEMP (4 Hz)
drops slightly, heart rate rises (IBI rows for KEMDy20, a 256 Hz ECG trace for KEMDy19).
`write_signals20` / `write_signals19` write them in each release's layout (kemdy.py plans the
dialogues and calls them with its Config `c` and Dialog `d`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

EDA_RATE, TEMP_RATE, ECG_RATE = 4.0, 4.0, 256.0
# (valence, arousal) of each emotion: the raters' centre and the biosignals' drive
VA = {"neutral": (3.0, 2.4), "happy": (4.2, 3.6), "surprise": (3.6, 4.2), "angry": (1.6, 4.4),
      "sad": (1.8, 1.7), "disgust": (1.8, 3.2), "fear": (1.7, 3.9)}


# ------------------------------------------------------------------------------ biosignals

def arousal_track(t: np.ndarray, turns: list[dict], gender: str) -> np.ndarray:
    """A participant's arousal over time: own emotion while speaking, the listener state while
    the partner speaks, held in between."""
    a = np.full(len(t), np.nan)
    for tr in turns:
        emo = tr["emotion"] if tr["gender"] == gender else tr["listener_emotion"]
        m = (t >= tr["start"]) & (t <= tr["end"])
        if tr["gender"] == gender or np.isnan(a[m]).all():
            a[m] = VA[emo][1]
    idx = np.where(~np.isnan(a), np.arange(len(a)), 0)
    np.maximum.accumulate(idx, out=idx)
    a = a[idx]
    return np.where(np.isnan(a), VA["neutral"][1], a)


def _smooth(x: np.ndarray, fs: float, tau: float) -> np.ndarray:
    k = 1.0 - np.exp(-1.0 / (fs * tau))
    out = np.empty_like(x)
    acc = x[0]
    for i, v in enumerate(x):
        acc += k * (v - acc)
        out[i] = acc
    return out


def signals(t_end: float, turns: list[dict], gender: str, rng: np.random.Generator,
            ecg: bool) -> dict:
    """One participant's streams over a dialogue, on its wav clock: {name: (times, values)}
    for eda, temp, ibi (interval at each beat) and, when `ecg`, a 256 Hz ECG trace."""
    t = np.arange(0.0, t_end, 1 / EDA_RATE)
    a = arousal_track(t, turns, gender)
    eda = 1.0 + 0.6 * (_smooth(a, EDA_RATE, 1.5) - 1.0)
    for onset in t[rng.random(len(t)) < 0.08 * a / EDA_RATE]:    # ~0.3 responses/s at a = 4
        dt = t - onset
        eda += np.where(dt >= 0, rng.uniform(0.05, 0.25) * (1 - np.exp(-dt / 0.7)) *
                        np.exp(-np.maximum(dt, 0) / 3.0), 0)
    eda += 0.003 * rng.standard_normal(len(t))
    temp = 33.6 - 0.15 * (_smooth(a, TEMP_RATE, 5.0) - 3.0) + 0.005 * rng.standard_normal(len(t))
    beats = [0.3]
    while beats[-1] < t_end:
        hr = 60.0 + 7.0 * float(np.interp(beats[-1], t, a))
        beats.append(beats[-1] + 60.0 / hr * (1 + 0.03 * rng.standard_normal()))
    beats = np.array(beats)
    out = {"eda": (t, eda), "temp": (t, temp), "ibi": (beats[1:], np.diff(beats))}
    if ecg:
        out["ecg"] = ecg_trace(t_end, beats, rng)
    return out


def ecg_trace(t_end: float, beats: np.ndarray, rng: np.random.Generator) -> tuple:
    t = np.arange(0.0, t_end, 1 / ECG_RATE)
    v = 0.02 * rng.standard_normal(len(t)) + 0.1 * np.sin(2 * np.pi * 0.25 * t)
    for b in beats:
        near = slice(max(0, int((b - 0.1) * ECG_RATE)), int((b + 0.5) * ECG_RATE))
        tt = t[near]
        v[near] += (np.exp(-0.5 * ((tt - b) / 0.012) ** 2)
                    + 0.3 * np.exp(-0.5 * ((tt - b - 0.25) / 0.04) ** 2))
    return t, v


def _tags(times: np.ndarray, turns: list[dict]) -> np.ndarray:
    """The id of the segment being spoken at each time ('' between segments)."""
    out = np.full(len(times), "", dtype=object)
    for tr in turns:
        out[(times >= tr["start"]) & (times <= tr["end"])] = tr["id"]
    return out


def signal_csv(path: Path, header: list[str], columns: list[np.ndarray],
               tags: np.ndarray) -> None:
    """Header lines, then per sample the columns' numbers and the segment id where there is one."""
    lines = list(header)
    for i, row in enumerate(zip(*columns)):
        tag = f",{tags[i]}" if tags[i] else ""
        lines.append(",".join(f"{x:.6f}" for x in row) + tag)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="ascii")


def lacks_eda(c, d, gender: str) -> bool:
    """Participant M of the last session's first dialogue lacks EDA: its file (KEMDy20) or its
    EDA/TEMP start/end cells in the annotation (KEMDy19, as the real Sess01_impro03/04)."""
    return gender == "M" and d.session == c.sessions and d.index == 0


def write_signals20(root: Path, c, d, res: dict, clock: float) -> list[str]:
    """KEMDy20: per participant and topic `<SIG>/SessionNN/<dialog>_<user>.csv`; EDA/TEMP with
    E4's two header lines (start time, rate) and `value,timestamp[,id]` rows, IBI with E4's
    `start, IBI` line and `offset,interval,timestamp[,id]` rows. Returns files left out."""
    missing = []
    for gender, user in zip("FM", d.users):
        st = res["streams"][gender]
        for sig, (t, v) in (("EDA", st["eda"]), ("TEMP", st["temp"]), ("IBI", st["ibi"])):
            path = root / sig / f"Session{d.session:02d}" / f"{d.name}_{user}.csv"
            if sig == "EDA" and lacks_eda(c, d, gender):
                missing.append(path.relative_to(root).as_posix())
                continue
            if sig == "IBI":
                header, cols = [f"{clock:.6f}, IBI"], [t, v, t + clock]
            else:
                header, cols = [f"{clock:.6f}", f"{EDA_RATE:.6f}"], [v, t + clock]
            signal_csv(path, header, cols, _tags(t, res["turns"]))
    return missing


def write_signals19(root: Path, session: int, dialogs: list[tuple],
                    clocks: dict) -> None:
    """KEMDy19: per participant and session `<SIG>/SessionNN/Original/SessNN<F|M>.csv`, the
    session's dialogues one after the other on the device clock; rows `value,index,timestamp[,id]`
    (EDA, TEMP) or `index,value,timestamp[,id]` (ECG), no header lines."""
    for gender in "FM":
        for sig, key in (("ECG", "ecg"), ("EDA", "eda"), ("TEMP", "temp")):
            path = (root / sig / f"Session{session:02d}" / "Original"
                    / f"Sess{session:02d}{gender}.csv")
            times, values, tags = [], [], []
            for d, res, base in dialogs:
                t, v = res["streams"][gender][key]
                times.append(t + base + clocks[gender][key])
                values.append(v)
                tags.append(_tags(t, res["turns"]))
            t, v = np.concatenate(times), np.concatenate(values)
            idx = np.arange(len(t), dtype=float)
            signal_csv(path, [], [idx, v, t] if sig == "ECG" else [v, idx, t],
                       np.concatenate(tags))
