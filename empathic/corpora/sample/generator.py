"""The sample-corpus generator: plan dialogues, speak them, annotate them, film them.

Everything random comes from `numpy.random.default_rng([seed, session, dialog index])`, so each
dialogue is independent of the others and of the worker that renders it; the same params give
byte-identical files.

The empathic link: each turn's emotion is drawn from `EMPATHY[e]`, where `e` is the emotion of the
latest turn by the OTHER speaker (the first turn of a dialogue, and turns before the partner has
spoken, draw from `PRIOR`). The drawn emotion drives that speaker's prosody and face, so a model
can learn that A's signals predict B's response.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ... import params as P
from ...errors import ParamError
from ...parallel import pmap
from . import iemocap_layout as L
from .faces import ActorFace, Look
from .speech import SAMPLE_RATE, Prosody, Voice, envelope, synthesize
from .text import SCRIPTS, TEMPLATES

EMOTIONS = ("neu", "hap", "exc", "sad", "ang", "fru")

# Response emotion given the prompt emotion (the other speaker's latest turn). Each prompt
# emotion has a distinct dominant response (p = 0.65), the other five share the rest evenly:
#   neu -> hap  (a calm remark gets a friendly reply)     hap -> exc  (joy is amplified)
#   exc -> neu  (excitement is met with calm)             sad -> fru  (helpless frustration)
#   ang -> sad  (hurt by anger)                           fru -> ang  (frustration escalates)
DOMINANT = {"neu": "hap", "hap": "exc", "exc": "neu", "sad": "fru", "ang": "sad", "fru": "ang"}
P_DOMINANT = 0.65
EMPATHY = np.array([[P_DOMINANT if DOMINANT[a] == b else (1 - P_DOMINANT) / (len(EMOTIONS) - 1)
                     for b in EMOTIONS] for a in EMOTIONS])
PRIOR = np.full(len(EMOTIONS), 1 / len(EMOTIONS))

# Prosody per emotion: espeak rate (words/min), pitch offset from the actor's base (0-99 scale),
# pitch range (0-99), volume (0-200).
PROSODY = {"neu": (160, 0, 35, 100), "hap": (175, 10, 65, 120), "exc": (200, 18, 90, 150),
           "sad": (115, -12, 12, 70), "ang": (190, 4, 60, 185), "fru": (165, -4, 30, 130)}
# Mean (valence, activation, dominance) per emotion on IEMOCAP's 1-5 scale.
VAD = {"neu": (3.0, 2.4, 2.8), "hap": (4.0, 3.1, 3.2), "exc": (4.3, 4.0, 3.5),
       "sad": (1.8, 1.9, 2.1), "ang": (1.6, 4.1, 4.0), "fru": (2.0, 3.3, 3.1)}
# What a dissenting rater says instead.
CONFUSIONS = {"neu": ("fru", "sad", "hap"), "hap": ("exc", "neu"), "exc": ("hap", "sur"),
              "sad": ("neu", "fru"), "ang": ("fru", "dis"), "fru": ("ang", "neu", "sad")}
RATERS = ("E1", "E2", "E3", "E4", "E5", "E6")


@dataclass(frozen=True)
class Config:
    """Validated `sample` params (see `validate`)."""
    seed: int
    sessions: int
    dialogs_per_session: int
    turns_per_dialog: int
    fps: int
    width: int
    height: int
    overlap_rate: float
    same_speaker_rate: float
    xxx_rate: float


def validate(cfg: dict) -> Config:
    """Check the `sample` section; a bad value is one ParamError naming `sample.<key>`."""
    p = {"sample": cfg}
    P.choice(p, "sample.layout", ["iemocap"], "iemocap")
    c = Config(
        seed=P.number(p, "sample.seed", 7, lo=0, integer=True),
        sessions=P.number(p, "sample.sessions", 5, lo=3, hi=99, integer=True),
        dialogs_per_session=P.number(p, "sample.dialogs_per_session", 4, lo=1, hi=40,
                                     integer=True),
        turns_per_dialog=P.number(p, "sample.turns_per_dialog", 16, lo=2, hi=200, integer=True),
        fps=P.number(p, "sample.fps", 30, lo=5, hi=60, integer=True),
        width=P.number(p, "sample.width", 720, lo=320, hi=1920, integer=True),
        height=P.number(p, "sample.height", 480, lo=240, hi=1080, integer=True),
        overlap_rate=P.number(p, "sample.overlap_rate", 0.3, lo=0, hi=0.9),
        same_speaker_rate=P.number(p, "sample.same_speaker_rate", 0.1, lo=0, hi=0.5),
        xxx_rate=P.number(p, "sample.xxx_rate", 0.12, lo=0, hi=0.9),
    )
    if c.width % 4:
        raise ParamError(f"param 'sample.width' is {c.width}; must be a multiple of 4")
    return c


@dataclass(frozen=True)
class DialogSpec:
    session: int
    index: int
    name: str            # e.g. Ses01F_script01_1
    kind: str            # impro or script
    script: str          # script key for scripted dialogues, else ""
    wearer: str          # F or M: the actor in the left half


def plan(c: Config) -> list[DialogSpec]:
    """Dialogue names per session: impro and scripted alternate, the marker wearer alternates,
    Session3's last improvisation carries a suffix (impro02b), Session5's last script too."""
    specs = []
    for s in range(1, c.sessions + 1):
        kinds = ["impro" if j % 2 == 0 else "script" for j in range(c.dialogs_per_session)]
        last = {k: max(j for j, x in enumerate(kinds) if x == k) for k in set(kinds)}
        for j, kind in enumerate(kinds):
            wearer = "F" if (s + j) % 2 == 0 else "M"
            n = j // 2
            if kind == "impro":
                base, script = f"impro{n + 1:02d}", ""
            else:
                script = sorted(SCRIPTS)[n % len(SCRIPTS)]
                base = f"{script}_{n // len(SCRIPTS) + 1}"
            if (s == 3 and kind == "impro" or s == 5 and kind == "script") and j == last[kind]:
                base += "b"
            specs.append(DialogSpec(s, j, f"Ses{s:02d}{wearer}_{base}", kind, script, wearer))
    return specs


def actor_voice(c: Config, session: int, gender: str) -> tuple[Voice, int]:
    """The actor's espeak voice variant and base pitch (0-99)."""
    rng = np.random.default_rng([c.seed, session, ord(gender), 1])
    voice = Voice(f"emp{session:02d}{gender.lower()}", gender == "F",
                  float(rng.uniform(0.92, 1.08)))
    return voice, int(rng.integers(45, 60) if gender == "F" else rng.integers(30, 45))


def actor_look(c: Config, session: int, gender: str) -> Look:
    rng = np.random.default_rng([c.seed, session, ord(gender), 2])
    return Look.draw(rng, mirror=(session + (gender == "M")) % 2 == 1)


_FACES: dict[tuple, ActorFace] = {}


def actor_face(c: Config, session: int, gender: str) -> ActorFace:
    """The actor's face bank, built once per process."""
    key = (c, session, gender)
    if key not in _FACES:
        _FACES[key] = ActorFace(actor_look(c, session, gender), c.width // 2, c.height)
    return _FACES[key]


def draw_turns(c: Config, spec: DialogSpec, rng: np.random.Generator) -> list[dict]:
    """Speakers, emotions and texts of a dialogue, in time order (no timing yet)."""
    turns, last = [], {}
    speaker = spec.wearer if spec.kind == "script" else "FM"[rng.integers(2)]
    counts = {"F": 0, "M": 0}
    for t in range(c.turns_per_dialog):
        if t:
            same = spec.kind == "impro" and rng.random() < c.same_speaker_rate
            speaker = speaker if same else ("M" if speaker == "F" else "F")
        other = "M" if speaker == "F" else "F"
        prompt = last.get(other, "")
        probs = EMPATHY[EMOTIONS.index(prompt)] if prompt else PRIOR
        emo = EMOTIONS[rng.choice(len(EMOTIONS), p=probs)]
        if spec.kind == "script":
            lines = SCRIPTS[spec.script]
            text = lines[t % len(lines)]
        else:
            text = TEMPLATES[emo][rng.integers(len(TEMPLATES[emo]))]
        turns.append(dict(speaker=speaker, emotion=emo, prompt_emotion=prompt, text=text,
                          utt_id=f"{spec.name}_{speaker}{counts[speaker]:03d}"))
        counts[speaker] += 1
        last[speaker] = emo
    return turns


def speak(c: Config, spec: DialogSpec, turns: list[dict]) -> list[np.ndarray]:
    out = []
    for t in turns:
        voice, base = actor_voice(c, spec.session, t["speaker"])
        rate, dpitch, rng_, vol = PROSODY[t["emotion"]]
        out.append(synthesize(t["text"], voice, Prosody(rate, base + dpitch, rng_, vol)))
    return out


def place(c: Config, turns: list[dict], audio: list[np.ndarray], rng: np.random.Generator) -> None:
    """Start and end times: mostly alternating turns, some overlapping the previous one."""
    end_of = {"F": -1.0, "M": -1.0}
    prev = None
    for t, x in zip(turns, audio):
        dur = len(x) / SAMPLE_RATE
        if prev is None:
            start = 0.5 + rng.uniform(0, 0.5)
        elif prev["speaker"] != t["speaker"] and rng.random() < c.overlap_rate:
            start = prev["end"] - rng.uniform(0.15, min(0.8, 0.5 * (prev["end"] - prev["start"])))
        else:
            start = prev["end"] + rng.uniform(0.15, 0.9)
        if prev is not None:
            start = max(start, prev["start"] + 0.3)
        start = round(max(start, end_of[t["speaker"]] + 0.15), 4)
        t["start"], t["end"] = start, round(start + dur, 4)
        end_of[t["speaker"]] = t["end"]
        prev = t


def annotate(c: Config, turns: list[dict], rng: np.random.Generator) -> None:
    """Three raters per turn: categorical labels (no majority -> xxx) and integer V/A/D."""
    raters = [RATERS[i] for i in sorted(rng.choice(len(RATERS), 3, replace=False))]
    for t in turns:
        emo = t["emotion"]
        alt = CONFUSIONS[emo]
        if rng.random() < c.xxx_rate:
            others = [e for e in EMOTIONS + ("sur", "oth") if e != emo]
            first = alt[rng.integers(len(alt))]
            second = [e for e in others if e != first][rng.integers(len(others) - 1)]
            labels = [emo, first, second]
        else:
            labels = [emo, emo, emo if rng.random() < 0.6 else alt[rng.integers(len(alt))]]
        t["labels"] = [labels[i] for i in rng.permutation(3)]
        t["consensus"] = emo if labels.count(emo) >= 2 else "xxx"
        mean = np.array(VAD[emo])
        ratings = np.clip(np.round(mean + rng.normal(0, 0.45, (3, 3))), 1, 5).astype(int)
        t["raters"] = raters
        t["ratings"] = [tuple(int(v) for v in r) for r in ratings]
        t["vad"] = tuple(float(v) for v in ratings.mean(axis=0))


def film(c: Config, spec: DialogSpec, turns: list[dict], audio: list[np.ndarray],
         path: Path) -> int:
    """Write the dialogue's AVI: the marker wearer on the left, the partner on the right; the
    speaker's mouth follows its speech envelope, each face shows its latest emotion."""
    n = int(math.ceil((max(t["end"] for t in turns) + 0.6) * c.fps))
    expr = {g: np.zeros(n, dtype=np.int64) for g in "FM"}
    mouth = {g: np.zeros(n) for g in "FM"}
    for t, x in sorted(zip(turns, audio), key=lambda p: p[0]["start"]):
        g, f0 = t["speaker"], int(round(t["start"] * c.fps))
        expr[g][f0:] = EMOTIONS.index(t["emotion"])
        env = envelope(x, c.fps) ** 0.7
        f1 = min(n, f0 + len(env))
        mouth[g][f0:f1] = np.maximum(mouth[g][f0:f1], env[:f1 - f0])
    left, right = spec.wearer, "M" if spec.wearer == "F" else "F"
    faces = {g: actor_face(c, spec.session, g) for g in "FM"}
    writer = L.AviWriter(path, c.fps, c.width, c.height)
    frame = np.empty((c.height, c.width, 3), dtype=np.uint8)
    half = c.width // 2
    try:
        for i in range(n):
            frame[:, :half] = faces[left].frame(EMOTIONS[expr[left][i]], mouth[left][i])
            frame[:, half:] = faces[right].frame(EMOTIONS[expr[right][i]], mouth[right][i])
            writer.write(frame)
    finally:
        writer.close()
    return n


def arousal_level(a: float) -> str:
    return "low" if a < 2.5 else "high" if a > 3.5 else "mid"


def render_dialog(job: tuple[Config, DialogSpec, str]) -> dict:
    """Generate one dialogue's files under root; return its truth rows and sizes."""
    c, spec, root_s = job
    cpu0 = time.process_time()
    root = Path(root_s)
    rng = np.random.default_rng([c.seed, spec.session, spec.index])
    turns = draw_turns(c, spec, rng)
    audio = speak(c, spec, turns)
    place(c, turns, audio, rng)
    annotate(c, turns, rng)
    for t, x in zip(turns, audio):
        L.write_wav(L.wav_path(root, spec.session, spec.name, t["utt_id"]), x, SAMPLE_RATE)
    avi = L.avi_path(root, spec.session, spec.name)
    frames = film(c, spec, turns, audio, avi)
    timed = sorted(turns, key=lambda t: t["start"])
    for path, text in ((L.emo_eval_path(root, spec.session, spec.name), L.emo_evaluation(timed)),
                       (L.transcription_path(root, spec.session, spec.name),
                        L.transcription(timed, noise_after=min(1, len(timed) - 1)))):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    rows = [dict(utt_id=t["utt_id"], session=f"Ses{spec.session:02d}", dialog=spec.name,
                 kind=spec.kind, speaker=t["speaker"],
                 side="L" if t["speaker"] == spec.wearer else "R", start=f"{t['start']:.4f}",
                 end=f"{t['end']:.4f}", emotion=t["emotion"], consensus=t["consensus"],
                 valence=f"{t['vad'][0]:.4f}", arousal=f"{t['vad'][1]:.4f}",
                 dominance=f"{t['vad'][2]:.4f}", arousal_level=arousal_level(VAD[t["emotion"]][1]),
                 prompt_emotion=t["prompt_emotion"], text=t["text"],
                 wav=L.wav_path(root, spec.session, spec.name, t["utt_id"]).relative_to(root)
                 .as_posix(), video=avi.relative_to(root).as_posix()) for t in timed]
    return dict(rows=rows, frames=frames, audio_s=sum(len(x) for x in audio) / SAMPLE_RATE,
                cpu_s=time.process_time() - cpu0)


def generate(root: Path, cfg: dict, workers: int = 1, progress: bool = False) -> dict:
    """Write a sample corpus into `root` (the IEMOCAP_full_release folder; created).

    cfg: the params.yaml `sample` section; keys (defaults): seed (7), sessions (5, >= 3),
    dialogs_per_session (4), turns_per_dialog (16), fps (30), width (720), height (480),
    overlap_rate (0.3: share of speaker changes that overlap the previous turn),
    same_speaker_rate (0.1: improvised turns by the same speaker twice), xxx_rate (0.12: turns
    whose raters disagree, consensus `xxx`), layout ('iemocap'); `out` is the stage's and ignored.
    A tiny corpus for tests: sessions 3, dialogs_per_session 2, turns_per_dialog 4 (seconds).
    Output does not depend on `workers`. Returns a summary dict: counts, seconds of speech and
    video, frames, and cpu_seconds (CPU time of the dialogue jobs, all threads; for benchmarks).
    """
    c = validate(cfg)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    specs = plan(c)
    results = pmap(render_dialog, [(c, s, str(root)) for s in specs], workers,
                   desc="sample dialogues", progress=progress, unit="dialog")
    rows = [r for res in results for r in res["rows"]]
    L.write_truth(root / "sample_truth.csv", rows)
    return dict(sessions=c.sessions, dialogues=len(specs), utterances=len(rows),
                audio_seconds=round(sum(r["audio_s"] for r in results), 1),
                video_seconds=round(sum(r["frames"] for r in results) / c.fps, 1),
                frames=sum(r["frames"] for r in results),
                cpu_seconds=round(sum(r["cpu_s"] for r in results), 1))
