"""What happens in a sample dialogue: who speaks, what they portray, how strongly, what they say,
and what three raters make of it.

Emotion dynamics (both strengths are params):
- inertia: with probability `sample.inertia` a speaker keeps the emotion of their own previous
  turn;
- the empathic link: otherwise the turn's emotion is drawn from `empathy_matrix(sample.empathy)[e]`,
  where `e` is the emotion of the latest turn by the OTHER speaker (the first turns draw from
  PRIOR). Each prompt emotion has one dominant response with probability `sample.empathy`.

Display: each turn has an intensity in (0, 1] (a continuous draw, many near-neutral displays),
sometimes a blend toward a second emotion; each actor has an expressivity profile (face and
voice gains; some actors show emotion mostly in the voice, some mostly in the face).

Labels: three raters per turn. A turn reads as the portrayed emotion with a probability that
grows with how strongly it was shown, else as a confusion that follows IEMOCAP's (neutral-
frustrated-sad, happy-excited-neutral, angry-frustrated); raters mostly name that reading. The
consensus is the majority, `xxx` without one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .text import NEUTRAL_LINES, SCRIPTS, improvised_line, neutral_lines, session_pool

EMOTIONS = ("neu", "hap", "exc", "sad", "ang", "fru")

# Dominant response per prompt emotion:
#   neu -> hap  (a calm remark gets a friendly reply)     hap -> exc  (joy is amplified)
#   exc -> fru  (exuberance grates)                       fru -> ang  (frustration escalates)
#   ang -> sad  (hurt by anger)                           sad -> neu  (sadness is met with calm)
# One cycle through all six: with two three-emotion loops (positive, negative) a dialogue stayed in
# the loop it started in, so a session's mix of emotions was a matter of luck.
DOMINANT = {"neu": "hap", "hap": "exc", "exc": "fru", "fru": "ang", "ang": "sad", "sad": "neu"}
PRIOR = np.full(len(EMOTIONS), 1 / len(EMOTIONS))


def empathy_matrix(strength: float) -> np.ndarray:
    """Row e: response-emotion probabilities given prompt emotion e; the dominant response has
    probability `strength`, the other five share the rest evenly."""
    k = len(EMOTIONS)
    return np.array([[strength if DOMINANT[a] == b else (1 - strength) / (k - 1)
                      for b in EMOTIONS] for a in EMOTIONS])


# Mean (valence, activation, dominance) per label on IEMOCAP's 1-5 scale.
VAD = {"neu": (3.0, 2.4, 2.8), "hap": (4.0, 3.1, 3.2), "exc": (4.3, 4.0, 3.5),
       "sad": (1.8, 1.9, 2.1), "ang": (1.6, 4.1, 4.0), "fru": (2.0, 3.3, 3.1),
       "sur": (3.6, 3.9, 3.0), "dis": (1.8, 3.3, 3.4), "fea": (1.9, 3.6, 2.0),
       "oth": (3.0, 3.0, 3.0)}
# What a rater says instead of the portrayed emotion (weights), after IEMOCAP's confusions.
CONFUSIONS = {"neu": {"fru": 0.4, "sad": 0.3, "hap": 0.3},
              "hap": {"exc": 0.5, "neu": 0.4, "sur": 0.1},
              "exc": {"hap": 0.6, "neu": 0.2, "sur": 0.2},
              "sad": {"neu": 0.55, "fru": 0.4, "fea": 0.05},
              "ang": {"fru": 0.8, "dis": 0.1, "neu": 0.1},
              "fru": {"neu": 0.4, "ang": 0.4, "sad": 0.2}}
RATERS = ("E1", "E2", "E3", "E4", "E5", "E6")
BLENDS = {"neu": ("sad", "hap", "fru"), "hap": ("exc", "neu"), "exc": ("hap",),
          "sad": ("fru", "neu"), "ang": ("fru",), "fru": ("ang", "sad")}
BLEND_RATE = 0.3
# Where a turn's display shows (gains of the upper face, of the mouth): people show the same
# emotion with the whole face, mostly with brows and eyes, or mostly with the mouth, so no one
# facial measure carries a class.
STYLES = {"both": (1.0, 1.0), "upper": (1.0, 0.35), "lower": (0.35, 1.0)}
STYLE_P = (0.5, 0.25, 0.25)
POOL_SIZE = 40            # improvised sentences per emotion and session
NEAR_RATE = 0.1           # improvised turns that use a near emotion's sentence


@dataclass(frozen=True)
class Profile:
    """An actor's expressivity: how much of an emotion shows in face and voice."""
    face: float        # overall face gain
    voice: float       # overall prosody gain
    brows: float       # relative gains of face parts
    corners: float
    mouth: float       # emotion-driven mouth opening and speech-driven articulation
    kind: str          # balanced, voice (emotion mostly in the voice) or face


@dataclass(frozen=True)
class Listening:
    """An actor's reaction style while the partner speaks (film.react)."""
    gain: float                        # share of the partner's display mirrored, x sample.mirroring
    lag: float                         # the emotion's mirroring lag x this
    rate: float                        # backchannels per second x this
    mix: tuple[float, float, float]    # shares of nods, brief smiles and brow flashes


def listening_style(seed: int, session: int, gender: str) -> Listening:
    """Per-actor reaction style: strong or weak mirroring, quick or slow, nodder or smiler."""
    rng = np.random.default_rng([seed, session, ord(gender), 12])
    gain, lag, rate = rng.uniform((0.5, 0.7, 0.5), (1.5, 1.4, 1.5))
    return Listening(float(gain), float(lag), float(rate),
                     tuple(float(v) for v in rng.dirichlet((2.0, 2.0, 2.0))))


# Expressivity kinds of the (F, M) actors of sessions 1, 2, 3, ... (repeating): a fixed mix, so
# that every sample has the same share of voice-mostly and face-mostly actors (a random draw over
# ten actors made the corpus's difficulty swing from one seed to the next).
KINDS = (("voice", "balanced"), ("voice", "face"), ("face", "balanced"),
         ("voice", "face"), ("balanced", "balanced"))


def actor_profile(seed: int, session: int, gender: str) -> Profile:
    """Per-actor profile: the kind from KINDS, the gains drawn around it."""
    rng = np.random.default_rng([seed, session, ord(gender), 3])
    kind = KINDS[(session - 1) % len(KINDS)][gender == "M"]
    face, voice = {"balanced": (1.0, 1.0), "voice": (0.45, 1.2), "face": (1.15, 0.6)}[kind]
    # The overall face and voice gains vary little within a kind (+-8 %): with five responders,
    # a wider draw decided alone how much of the response faces an emotion could explain.
    g = rng.uniform(0.8, 1.2, 4)
    overall = 1 + (g[:2] - 1) * 0.4
    return Profile(face * float(overall[0]), voice * float(overall[1]), float(g[2]), float(g[3]),
                   float(rng.uniform(0.85, 1.15)), kind)


def draw_turns(c, spec, rng: np.random.Generator) -> list[dict]:
    """Speakers, emotions, display and texts of a dialogue, in turn order (no timing yet).

    `c` is the schema's validated `sample` section (seed, turns_per_dialog, same_speaker_rate,
    inertia, empathy, neutral_line_rate), `spec` the DialogSpec."""
    turns, last = [], {}
    matrix = empathy_matrix(c.empathy)
    pools = {e: session_pool(e, c.seed, spec.session, POOL_SIZE) for e in EMOTIONS}
    pools["none"] = neutral_lines(c.seed, spec.session)
    speaker = spec.wearer if spec.kind == "script" else "FM"[rng.integers(2)]
    counts = {"F": 0, "M": 0}
    for t in range(c.turns_per_dialog):
        if t:
            same = spec.kind == "impro" and rng.random() < c.same_speaker_rate
            speaker = speaker if same else ("M" if speaker == "F" else "F")
        other = "M" if speaker == "F" else "F"
        prompt = last.get(other, "")
        probs = matrix[EMOTIONS.index(prompt)] if prompt else PRIOR
        drawn = EMOTIONS[rng.choice(len(EMOTIONS), p=probs)]
        keep = speaker in last and rng.random() < c.inertia
        emo = last[speaker] if keep else drawn
        intensity = float(np.clip(rng.beta(1.6, 1.6), 0.04, 1.0))
        blend = ""
        if rng.random() < BLEND_RATE:
            blend = BLENDS[emo][rng.integers(len(BLENDS[emo]))]
        if spec.kind == "script":
            lines = SCRIPTS[spec.script]
            text = lines[t % len(lines)]
        else:
            text = improvised_line(emo, pools, rng, c.neutral_line_rate, NEAR_RATE)
        turns.append(dict(speaker=speaker, emotion=emo, prompt_emotion=prompt, text=text,
                          intensity=round(intensity, 4), blend=blend,
                          utt_id=f"{spec.name}_{speaker}{counts[speaker]:03d}"))
        counts[speaker] += 1
        last[speaker] = emo
    return turns


def draw_styles(turns: list[dict], rng: np.random.Generator) -> None:
    """Each turn's display style (a key of STYLES), from its own generator so that the face's
    channels do not shift the speech, text or label draws."""
    for t in turns:
        t["style"] = list(STYLES)[rng.choice(len(STYLES), p=STYLE_P)]


def _confusion(emo: str, rng: np.random.Generator) -> str:
    alt = CONFUSIONS[emo]
    return list(alt)[rng.choice(len(alt), p=np.array(list(alt.values())))]


def _rater_labels(emo: str, shown: float, accuracy: float, rng: np.random.Generator) -> list[str]:
    """Three raters' labels. The turn reads as the portrayed emotion with a probability that grows
    with how strongly it was shown, else as one of its confusions (raters share that reading);
    each rater then names the reading (p = 0.75), the portrayed emotion or another confusion."""
    p = accuracy + 0.1 if emo == "neu" else accuracy * (0.7 + 0.6 * shown)
    reading = emo if rng.random() < min(0.97, p) else _confusion(emo, rng)
    out = []
    for _ in range(3):
        u = rng.random()
        out.append(reading if u < 0.75 else emo if u < 0.85 else _confusion(emo, rng))
    return out


def annotate(c, turns: list[dict], rng: np.random.Generator) -> None:
    """Three raters per turn: categorical labels (majority consensus, `xxx` without one) and
    integer V/A/D around each rater's own label (weaker displays pulled toward neutral)."""
    raters = [RATERS[i] for i in sorted(rng.choice(len(RATERS), 3, replace=False))]
    for t in turns:
        emo = t["emotion"]
        shown = t["intensity"] * max(t["face_gain"], t["voice_gain"]) / 1.2
        if rng.random() < c.xxx_rate:       # raters who see three different things
            first = list(CONFUSIONS[emo])[rng.integers(len(CONFUSIONS[emo]))]
            rest = [e for e in EMOTIONS + ("sur", "oth") if e not in (emo, first)]
            labels = [emo, first, rest[rng.integers(len(rest))]]
            labels = [labels[i] for i in rng.permutation(3)]
        else:
            labels = _rater_labels(emo, shown, c.rater_accuracy, rng)
        votes = {lab: labels.count(lab) for lab in labels}
        top = max(votes.values())
        t["labels"] = labels
        t["consensus"] = next(lab for lab in labels if votes[lab] == top) if top >= 2 else "xxx"
        neutral = np.array(VAD["neu"])
        means = np.array([neutral + (np.array(VAD[lab]) - neutral) * (0.5 + 0.5 * shown)
                          for lab in labels])
        ratings = np.clip(np.round(means + rng.normal(0, 0.45, (3, 3))), 1, 5).astype(int)
        t["raters"] = raters
        t["ratings"] = [tuple(int(v) for v in r) for r in ratings]
        t["vad"] = tuple(float(v) for v in ratings.mean(axis=0))


__all__ = ["EMOTIONS", "DOMINANT", "PRIOR", "VAD", "CONFUSIONS", "NEUTRAL_LINES",
           "STYLES", "empathy_matrix", "actor_profile", "draw_turns", "draw_styles", "annotate"]
