"""The sample-corpus generator: plan dialogues, speak them, annotate them, film them.

Everything random comes from `numpy.random.default_rng([seed, session, dialog index])`, so each
dialogue is independent of the others and of the worker that renders it; the same params give
byte-identical files. What a dialogue contains (emotion dynamics, display intensity, actor
profiles, raters) is drawn in dialogue.py; faces.py and film.py draw it, speech.py speaks it.

Audio: each actor has a close-talk channel (own speech, the partner's speech leaking in, the
session's room noise at `sample.snr_db`); an utterance's wav is its span of the speaker's channel,
so where turns overlap the partner is audible. The dialogue's stereo track (left: the marker
wearer) is written to `dialog/wav/<dialog>.wav` and muxed into the AVI.
"""
from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...config import params as P
from ...config.schema import Sample
from ...execution import ProcessExecutor
from . import iemocap_layout as L
from .dialogue import (CONFUSIONS, DOMINANT, EMOTIONS, PRIOR, VAD, actor_profile, annotate,  # noqa: F401
                       draw_styles, draw_turns, empathy_matrix, listening_style)
from .faces import ActorFace, Light, Look, recent
from .identity import identity_of, identity_photo
from .film import film
from .speech import SAMPLE_RATE, Prosody, Voice, mix_channels, room_noise, synthesize, to_int16
from .text import SCRIPTS

EMPATHY = empathy_matrix(0.95)    # the link at sample.empathy = 0.95 (the params.yaml value)

# Prosody per emotion (means): espeak rate (words/min), pitch offset from the actor's base (0-99
# scale), pitch range (0-99), volume (0-200). Arousal separates (ang/exc/hap vs sad/neu); within
# an arousal level the means differ less (happiness: higher and livelier pitch; anger: louder,
# flatter) and the per-turn spread (JITTER) overlaps them.
PROSODY = {"neu": (158, 0, 30, 100), "hap": (174, 10, 64, 138), "exc": (194, 13, 74, 172),
           "sad": (132, -10, 12, 64), "ang": (190, 2, 42, 186), "fru": (166, 2, 42, 130)}
JITTER = (6.0, 1.5, 4.0, 6.0)
REF_RMS = 3000.0          # speech level (int16 RMS) that `sample.snr_db` refers to


def validate(cfg: Mapping | Sample) -> Sample:
    """The schema's validated `sample` section (a mapping is validated first: a bad value is one
    ParamError naming `sample.<key>`); every range and rule lives in the schema."""
    if isinstance(cfg, Sample):
        return cfg
    return P.section({"sample": dict(cfg)}, "sample")


@dataclass(frozen=True)
class DialogSpec:
    session: int
    index: int
    name: str            # e.g. Ses01F_script01_1
    kind: str            # impro or script
    script: str          # script key for scripted dialogues, else ""
    wearer: str          # F or M: the actor in the left half


def plan(c: Sample) -> list[DialogSpec]:
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


def actor_voice(c: Sample, session: int, gender: str) -> tuple[Voice, int, np.ndarray]:
    """The actor's espeak voice variant, base pitch (0-99) and habits (offsets of rate, pitch,
    pitch range and volume)."""
    rng = np.random.default_rng([c.seed, session, ord(gender), 1])
    voice = Voice(f"emp{session:02d}{gender.lower()}", gender == "F",
                  float(rng.uniform(0.92, 1.08)))
    base = int(rng.integers(45, 60) if gender == "F" else rng.integers(30, 45))
    habit = rng.uniform(-1, 1, 4) * (14.0, 0.0, 10.0, 18.0)
    return voice, base, habit


def actor_look(c: Sample, session: int, gender: str) -> Look:
    rng = np.random.default_rng([c.seed, session, ord(gender), 2])
    mirror = (identity_of(session, gender).mirror if c.filming == "release"
              else (session + (gender == "M")) % 2 == 1)
    return Look.draw(rng, mirror=mirror)


# Shots (jaw width as a share of the half frame, face centre height): close (~105 px between the
# outer eye corners at 720x480), medium (~60 px) and wide (~29 px, a two-person shot with small
# faces). Filmed as the release (sample.filming), dialogue j of session s is in SHOTS[(s + j) % 3],
# so every session has each; in the studio every dialogue is in the close shot.
SHOTS = ((0.46, 0.47), (0.26, 0.45), (0.125, 0.42))


def shot_of(c: Sample, spec: DialogSpec) -> int:
    return (spec.session + spec.index) % len(SHOTS) if c.filming == "release" else 0


def session_light(c: Sample, session: int) -> Light:
    """The session's room light: gain, side light, gamma and tint differ between sessions."""
    rng = np.random.default_rng([c.seed, session, 6])
    return Light(float(rng.uniform(0.65, 1.1)), float(rng.choice((-1, 1)) * rng.uniform(0.1, 0.35)),
                 float(rng.uniform(0.8, 1.25)), tuple(float(g) for g in rng.uniform(0.92, 1.08, 3)))


_FACES: OrderedDict[tuple, ActorFace] = OrderedDict()
FACES_KEPT = 8      # a session's faces (2 actors x 3 shots): plan() orders dialogues by session


def actor_face(c: Sample, session: int, gender: str, shot: int = 0) -> ActorFace:
    """The actor's face bank in one shot, built on first use; a process keeps the FACES_KEPT most
    recently used (a session's). In the studio: the astronaut, close, even light. As the release
    films: the actor's identity (identity.py) in the shot and the session's light."""
    def make() -> ActorFace:
        look = actor_look(c, session, gender)
        if c.filming == "studio":
            return ActorFace(look, c.width // 2, c.height)
        width, centre = SHOTS[shot]
        return ActorFace(look, c.width // 2, c.height, identity_photo(identity_of(session, gender)),
                         width, centre, session_light(c, session))
    return recent(_FACES, (c, session, gender, shot), make, FACES_KEPT)


def speak(c: Sample, spec: DialogSpec, turns: list[dict], rng: np.random.Generator
          ) -> list[np.ndarray]:
    """Each turn's speech with silence before and after (as the release's segments have):
    prosody = the actor's habits + the emotion's offset from neutral scaled by the actor's voice
    gain and the turn's intensity + per-turn jitter."""
    out = []
    neu = np.array(PROSODY["neu"], dtype=float)
    for t in turns:
        voice, base, habit = actor_voice(c, spec.session, t["speaker"])
        g = t["voice_gain"] * (0.5 + 0.5 * t["intensity"])
        v = neu + (np.array(PROSODY[t["emotion"]]) - neu) * g + habit
        v += rng.normal(0, 1, 4) * JITTER
        rate, dpitch, prange, vol = (int(round(x)) for x in v)
        x = synthesize(t["text"], voice, Prosody(int(np.clip(rate, 90, 260)),
                                                  int(np.clip(base + dpitch, 0, 99)),
                                                  int(np.clip(prange, 0, 99)),
                                                  int(np.clip(vol, 30, 200))))
        pre, post = (int(rng.uniform(lo, hi) * SAMPLE_RATE) for lo, hi in ((0.05, 0.45),
                                                                          (0.05, 0.6)))
        out.append(np.concatenate([np.zeros(pre, np.int16), x, np.zeros(post, np.int16)]))
    return out


def place(c: Sample, turns: list[dict], audio: list[np.ndarray], rng: np.random.Generator) -> None:
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


def arousal_level(a: float) -> str:
    return "low" if a < 2.5 else "high" if a > 3.5 else "mid"


def session_room(c: Sample, session: int) -> tuple[float, float, float]:
    """The session's room: noise colour (one-pole coefficient), hum share, SNR (dB)."""
    rng = np.random.default_rng([c.seed, session, 5])
    return (float(rng.uniform(0.5, 0.95)), float(rng.uniform(0, 0.4)),
            float(c.snr_db + rng.uniform(-5, 5)))


def render_dialog(job: tuple[Sample, DialogSpec, str]) -> dict:
    """Generate one dialogue's files under root; return its truth rows and sizes."""
    c, spec, root_s = job
    cpu0 = time.process_time()
    root = Path(root_s)
    rng = np.random.default_rng([c.seed, spec.session, spec.index])
    turns = draw_turns(c, spec, rng)
    draw_styles(turns, np.random.default_rng([c.seed, spec.session, spec.index, 9]))
    profiles = {g: actor_profile(c.seed, spec.session, g) for g in "FM"}
    for t in turns:
        t["face_gain"], t["voice_gain"] = profiles[t["speaker"]].face, profiles[t["speaker"]].voice
    audio = speak(c, spec, turns, rng)
    place(c, turns, audio, rng)
    annotate(c, turns, rng)
    n = int(math.ceil((max(t["end"] for t in turns) + 0.6) * SAMPLE_RATE))
    tilt, hum, snr = session_room(c, spec.session)
    noise = {g: room_noise(n, rng, REF_RMS / 10 ** (snr / 20), tilt, hum) for g in "FM"}
    chans = mix_channels(turns, audio, n, noise, 10 ** (c.crosstalk_db / 20))
    for t, x in zip(turns, audio):
        a = int(round(t["start"] * SAMPLE_RATE))
        L.write_wav(L.wav_path(root, spec.session, spec.name, t["utt_id"]),
                    to_int16(chans[t["speaker"]][a:a + len(x)]), SAMPLE_RATE)
    right = "M" if spec.wearer == "F" else "F"
    track = np.stack([to_int16(chans[spec.wearer]), to_int16(chans[right])], axis=1)
    L.write_wav(L.dialog_wav_path(root, spec.session, spec.name), track, SAMPLE_RATE)
    avi = L.avi_path(root, spec.session, spec.name)
    faces = {g: actor_face(c, spec.session, g, shot_of(c, spec)) for g in "FM"}
    listening = (c, {g: listening_style(c.seed, spec.session, g) for g in "FM"},
                 np.random.default_rng([c.seed, spec.session, spec.index, 13]))
    frames = film(faces, profiles, spec.wearer, turns, audio, track, c.fps, c.width, c.height,
                  avi, rng, c.filming == "release", listening)
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
                 .as_posix(), video=avi.relative_to(root).as_posix(),
                 intensity=f"{t['intensity']:.4f}", blend=t["blend"], style=t["style"],
                 actor_kind=profiles[t["speaker"]].kind, ratings=";".join(t["labels"]))
            for t in timed]
    return dict(rows=rows, frames=frames, audio_s=sum(len(x) for x in audio) / SAMPLE_RATE,
                cpu_s=time.process_time() - cpu0)


def generate(root: Path, cfg: Mapping | Sample, workers: int = 1, progress: bool = False) -> dict:
    """Write a sample corpus into `root` (the IEMOCAP_full_release folder; created).

    cfg: the params.yaml `sample` section, typed (`params.section(prm, "sample")`) or a mapping
    the schema validates (see params.yaml for each key's meaning); `out` and `kemdy` are the
    stage's and not read here.
    A tiny corpus for tests: sessions 3, dialogs_per_session 2, turns_per_dialog 4 (seconds).
    Output does not depend on `workers`. Returns a summary dict: counts, seconds of speech and
    video, frames, and cpu_seconds (CPU time of the dialogue jobs, all threads; for benchmarks).
    """
    c = validate(cfg)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    specs = plan(c)
    results = ProcessExecutor(workers).map(render_dialog, [(c, s, str(root)) for s in specs],
                                           desc="sample dialogues", progress=progress, unit="dialog")
    rows = [r for res in results for r in res["rows"]]
    L.write_truth(root / "sample_truth.csv", rows)
    return dict(sessions=c.sessions, dialogues=len(specs), utterances=len(rows),
                audio_seconds=round(sum(r["audio_s"] for r in results), 1),
                video_seconds=round(sum(r["frames"] for r in results) / c.fps, 1),
                frames=sum(r["frames"] for r in results),
                cpu_seconds=round(sum(r["cpu_s"] for r in results), 1))
