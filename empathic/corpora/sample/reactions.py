"""How a listener's face reacts while the partner speaks (both actors are on screen throughout).

- Mirroring: the listener shows the speaker's emotion at the speaker's true display strength
  (the speaker's curve over their turn, film.timeline's `display`) delayed by an emotion-dependent
  lag and scaled by an emotion-dependent gain (MIRROR) x the actor's style x
  `sample.mirror_strength`, smoothed (the face follows with a time constant); where it exceeds
  the listener's own residue it is what the face shows.
- Backchannels: nods (the head dips), brief smiles, brow flashes, at `sample.backchannel_rate` per
  second of the partner's speech x the actor's style (the kind drawn from the actor's mix, tilted
  by the speaker's emotion: smiles at joy, fewer at anger or sadness), and a nod near many turn
  ends.
- Reply onset: the listener's next own turn starts from what was heard: for its first REPLY_S the
  face shows the mirrored emotion at `sample.reply_carryover` x its level, fading, until the
  reply's own display takes over.
- Per-actor style: mirror gain, lag factor, backchannel rate and mix, nod size.

`react` edits the listener's timeline in place and returns the events for sample_reactions.csv.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# emotion: (mirroring gain, lag in seconds): joy is mirrored most and fastest, anger least
MIRROR = {"neu": (0.0, 0.6), "hap": (0.6, 0.45), "exc": (0.55, 0.35), "sad": (0.45, 0.9),
          "ang": (0.2, 0.7), "fru": (0.3, 0.8)}
FOLLOW_S = 0.35           # time constant of the listener's face following the lagged display
REPLY_S = 1.0             # how long a reply's onset carries what was heard
KINDS = ("nod", "smile", "flash")
TILT = {"hap": (1, 2, 1.2), "exc": (1, 1.8, 1.5), "neu": (1, 1, 1), "sad": (1.3, 0.3, 0.6),
        "ang": (1.2, 0.2, 1.2), "fru": (1.2, 0.4, 0.8)}
DURATION_S = {"nod": (0.5, 0.9), "smile": (0.7, 1.4), "flash": (0.3, 0.5)}


@dataclass(frozen=True)
class Style:
    mirror: float
    lag: float
    rate: float
    mix: tuple[float, float, float]
    nod: float

    @staticmethod
    def draw(rng: np.random.Generator) -> "Style":
        return Style(float(rng.uniform(0.5, 1.5)), float(rng.uniform(0.7, 1.4)),
                     float(rng.uniform(0.4, 1.6)), tuple(float(x) for x in
                                                         rng.dirichlet((3, 2, 1.5))),
                     float(rng.uniform(0.6, 1.4)))


def _follow(x: np.ndarray, fps: int) -> np.ndarray:
    """One-pole smoothing: the face follows its drive with time constant FOLLOW_S."""
    a = 1 - np.exp(-1 / (FOLLOW_S * fps))
    out = np.empty_like(x)
    acc = 0.0
    for i, v in enumerate(x):
        acc += a * (v - acc)
        out[i] = acc
    return out


def react(me: dict, other: dict, turns: list[dict], gender: str, style: Style, cfg, fps: int,
          unit: float, rng: np.random.Generator) -> list[dict]:
    """Add the listening reactions of actor `gender` (`me`, its timeline) to `other`'s turns."""
    from .dialogue import EMOTIONS
    n = len(me["emo"])
    heard = [t for t in sorted(turns, key=lambda t: t["start"]) if t["speaker"] != gender]
    drive = np.zeros(n)
    mir_emo = np.zeros(n, np.int64)
    events = []
    for t in heard:
        gain, lag = MIRROR[t["emotion"]]
        gain *= style.mirror * cfg.mirror_strength
        f0, f1 = int(round(t["start"] * fps)), min(n, int(round(t["end"] * fps)))
        d = int(round(lag * style.lag * fps))
        a, b = min(n, f0 + d), min(n, f1 + d)
        drive[a:b] = np.maximum(drive[a:b], gain * other["display"][f0:f0 + b - a])
        mir_emo[a:] = EMOTIONS.index(t["emotion"])
        if gain > 0:
            events.append(dict(kind="mirror", utt=t["utt_id"], emotion=t["emotion"],
                               start=a / fps, end=b / fps, peak=float(drive[a:b].max(initial=0)),
                               lag_s=d / fps))
    mirror = _follow(drive, fps)
    kind_at = np.full(n, "", dtype=object)
    bc = np.zeros(n)
    for t in heard:
        span = t["end"] - t["start"]
        k = rng.poisson(cfg.backchannel_rate * style.rate * span)
        times = list(np.sort(rng.uniform(t["start"] + 0.3, t["end"], k))) if span > 0.3 else []
        if rng.random() < 0.5:
            times.append(t["end"] + rng.uniform(-0.2, 0.3))          # a nod at the turn's end
        for j, at in enumerate(times):
            w = np.array(style.mix) * TILT[t["emotion"]]
            kind = "nod" if j == len(times) - 1 and at > t["end"] - 0.25 else \
                KINDS[rng.choice(3, p=w / w.sum())]
            dur = rng.uniform(*DURATION_S[kind])
            peak = float(rng.uniform(0.6, 1.0))
            a, b = int(round(at * fps)), min(n, int(round((at + dur) * fps)))
            if b <= a or a >= n:
                continue
            u = np.sin(np.pi * np.arange(b - a) / (b - a)) ** 2       # a smooth bump
            if kind == "nod":
                cycles = 1 + (dur > 0.7)
                dip = np.sin(np.pi * cycles * np.arange(b - a) / (b - a)) ** 2
                me["pose"][a:b, 1] += 0.13 * unit * style.nod * peak * dip
                me["pose"][a:b, 6] -= 0.05 * style.nod * peak * dip
            else:
                level = peak * (0.5 if kind == "smile" else 1.0) * u
                take = level > bc[a:b]
                bc[a:b] = np.where(take, level, bc[a:b])
                kind_at[a:b] = np.where(take, kind, kind_at[a:b])
            events.append(dict(kind=kind, utt=t["utt_id"], emotion=t["emotion"], start=at,
                               end=at + dur, peak=peak, lag_s=at - t["start"]))
    own = me["speaking"]
    # the reply's onset: what was heard, fading, until the reply's own display takes over
    carry = np.zeros(n)
    for f0 in np.flatnonzero(own[1:] & ~own[:-1]) + 1:
        m = int(REPLY_S * fps)
        carry[f0:f0 + m] = cfg.reply_carryover * mirror[f0] * np.exp(
            -np.arange(min(m, n - f0)) / (0.4 * fps))
    shown = np.where(own, 0.0, mirror)
    shown = np.maximum(shown, carry)
    mine = me["strength"].copy()
    use_m = shown > mine
    me["emo"] = np.where(use_m, mir_emo, me["emo"])
    me["strength"] = np.where(use_m, shown, mine)
    me["blend"] = np.where(use_m, "", me["blend"])
    use_b = (~own) & (bc > me["strength"] * 0.6)
    me["emo"] = np.where(use_b & (kind_at == "smile"), EMOTIONS.index("hap"), me["emo"])
    me["emo"] = np.where(use_b & (kind_at == "flash"), len(EMOTIONS), me["emo"])
    me["strength"] = np.where(use_b, np.maximum(bc, me["strength"]), me["strength"])
    me["blend"] = np.where(use_b, "", me["blend"])
    me["style"] = np.where(use_b | use_m, 0, me["style"])
    me["mirror"], me["backchannel"] = np.where(own, carry, mirror), np.where(use_b, kind_at, "")
    for e in events:
        e["listener"] = gender
    return events
