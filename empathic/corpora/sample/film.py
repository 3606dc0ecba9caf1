"""Filming a sample dialogue: the per-frame display of both actors and the AVI with its audio.

Per actor and frame: the emotion of their latest turn, shown in that turn's display style (whole
face, mostly upper face, mostly mouth) with a strength that rises over the turn's onset, holds at
the apex and falls at the offset, then fades to a residue while the partner speaks; the mouth
follows the actor's own speech envelope; blinks every few seconds; head motion (translation,
scale, small rotation) as a sum of slow sinusoids; moments where the head turns aside (in the
studio a squeezed head; filmed as the release, a yaw up to MAX_YAW degrees and back) or a hand
covers the face. The marker wearer (left half) carries motion-capture dots.

While the partner speaks, a listener reacts (react; strengths as sample.mirroring,
sample.backchannel_rate): they mirror the partner's display after a lag and at a share that
depend on the emotion and on their own style (dialogue.Listening), and they nod, smile briefly or
flash their brows. A reply's display rises sooner after a strong display heard than after a weak
one (sample.reply_onset).

The AVI (MPEG-4 part 2, XVID fourcc, the dialogue's stereo track as 16 kHz PCM) is written with
PyAV on one thread, so the same inputs give the same bytes.
"""
from __future__ import annotations

import math
from pathlib import Path

import av
import cv2
import numpy as np

from .dialogue import EMOTIONS
from .faces import ActorFace
from .speech import SAMPLE_RATE, envelope

DISPLAYS = EMOTIONS + ("flash",)   # what a timeline's `emo` indexes: the emotions and a brow flash

RESIDUE = 0.3            # share of the apex strength a face keeps after its turn
FADE_S = 2.5             # time constant of the fade to the residue
OCCLUSIONS_PER_S = 1 / 40  # studio: a turned-away head (squeezed) or a hand, half and half
TURNS_PER_S = 1 / 30       # as the release films: moments where the head turns aside (yaw)
HANDS_PER_S = 1 / 80       # ... and where a hand covers the face
MAX_YAW = 45               # degrees: a turn's peak yaw is uniform in +-[15, MAX_YAW]
# Listening (react): share of the speaker's display a listener mirrors and its lag (s) per
# emotion: joy is caught quickly and strongly, sadness slowly, anger and frustration weakly
# (a listener is hurt or defensive rather than angry back).
MIRROR = {"neu": (0.0, 0.0), "hap": (1.0, 0.4), "exc": (1.0, 0.3), "sad": (0.8, 1.2),
          "ang": (0.5, 0.8), "fru": (0.4, 1.0)}
ATTENDED = 0.3     # a mirrored display shows over what is left of the listener's own where it
#                    is at least this share of it (the listener's attention is on the speaker)
NOD_S, NOD_PX, NOD_PITCH = 0.6, 5.0, 0.07   # a nod: duration, drop (px), vertical foreshortening
SMILE_S, SMILE = 0.9, 0.5                   # a brief smile: duration, display strength
FLASH_S, FLASH = 0.45, 1.0                  # a brow flash: duration, strength
SMILED = ("neu", "hap", "exc")              # what a listener smiles at
HAND_COLOUR = (120, 150, 190)   # BGR


# Motion-capture markers: (landmark a, landmark b, weight of b, dy in inter-ocular units).
_MARKERS = [(17, 17, 0, -0.25), (19, 19, 0, -0.3), (21, 21, 0, -0.3), (22, 22, 0, -0.3),
            (24, 24, 0, -0.3), (26, 26, 0, -0.25), (19, 24, 0.5, -0.75), (20, 23, 0.5, -0.55),
            (1, 31, 0.5, 0), (15, 35, 0.5, 0), (3, 48, 0.5, 0), (13, 54, 0.5, 0),
            (2, 40, 0.5, 0.1), (14, 47, 0.5, 0.1), (27, 27, 0, 0), (30, 30, 0, 0),
            (48, 48, 0, 0), (54, 54, 0, 0), (51, 51, 0, -0.05), (57, 57, 0, 0.05),
            (8, 57, 0.5, 0), (6, 6, 0, -0.05), (10, 10, 0, -0.05)]
MARKER_COLOUR = (235, 240, 240)
MARKER_ALPHA = 0.45


def draw_markers(frame: np.ndarray, pts: np.ndarray, soft: bool = False) -> None:
    """The release's motion-capture dots on the marker wearer's face (in place). soft: sub-pixel
    (1/16 px) and blended in at MARKER_ALPHA, as small matte dots look on video (hard white dots
    hide a small face from dlib's detector)."""
    unit = float(np.linalg.norm(pts[36:42].mean(0) - pts[42:48].mean(0)))
    if not soft:
        r = max(1, int(round(unit * 0.035)))
        for a, b, w, dy in _MARKERS:
            x, y = pts[a] * (1 - w) + pts[b] * w + (0, dy * unit)
            cv2.circle(frame, (int(round(x)), int(round(y))), r, MARKER_COLOUR, -1, cv2.LINE_AA)
        return
    r = int(round(unit * 0.03 * 16))
    x0, y0 = np.floor(pts.min(0) - unit).astype(int).clip(0)
    x1, y1 = np.ceil(pts.max(0) + unit).astype(int)
    patch = frame[y0:y1, x0:x1]
    dots = patch.copy()
    for a, b, w, dy in _MARKERS:
        x, y = pts[a] * (1 - w) + pts[b] * w + (0, dy * unit) - (x0, y0)
        cv2.circle(dots, (int(round(x * 16)), int(round(y * 16))), r, MARKER_COLOUR, -1,
                   cv2.LINE_AA, shift=4)
    cv2.addWeighted(dots, MARKER_ALPHA, patch, 1 - MARKER_ALPHA, 0, dst=patch)


def draw_blink(frame: np.ndarray, pts: np.ndarray) -> None:
    """Closed eyes: each eye painted with the skin just below it and a dark lid line (in place)."""
    for eye in (pts[36:42], pts[42:48]):
        x0, y0 = np.floor(eye.min(0)).astype(int) - 2
        x1, y1 = np.ceil(eye.max(0)).astype(int) + 2
        h = y1 - y0
        skin = frame[y1 + h:y1 + 2 * h, x0:x1].reshape(-1, 3)
        if not len(skin):
            continue
        colour = tuple(int(v) for v in np.median(skin, axis=0))
        cv2.fillPoly(frame, [np.round(eye * 16).astype(np.int32)], colour, cv2.LINE_AA, shift=4)
        lid = np.round(eye[[0, 4, 5, 3]] * 16).astype(np.int32)
        cv2.polylines(frame, [lid], False, (40, 40, 50), 1, cv2.LINE_AA, shift=4)


def timeline(turns: list[dict], audio: list[np.ndarray], n: int, fps: int, gender: str,
             profile, rng: np.random.Generator, release: bool = False,
             reply_onset: float = 0.0) -> dict:
    """Per-frame display of one actor: display index (DISPLAYS), blend, strength, mouth, blink,
    pose. release: head turns are yaw (film as the release), else a squeezed head (the studio).
    reply_onset (sample.reply_onset): how much a turn's display rises sooner after a strong
    display of the partner's (and later after a weak one)."""
    from .dialogue import STYLES
    emo = np.zeros(n, np.int64)
    style = np.zeros(n, np.int64)
    blend = np.full(n, "", dtype=object)
    strength = np.zeros(n)
    mouth = np.zeros(n)
    own = [(t, x) for t, x in sorted(zip(turns, audio), key=lambda p: p[0]["start"])
           if t["speaker"] == gender]
    for k, (t, x) in enumerate(own):
        f0 = int(round(t["start"] * fps))
        f1 = min(n, int(round(t["end"] * fps)))
        f2 = int(round(own[k + 1][0]["start"] * fps)) if k + 1 < len(own) else n
        apex = profile.face * t["intensity"]
        m = max(1, f1 - f0)
        u = np.arange(m) / m
        rise = 0.25
        if reply_onset:    # the partner's latest display before this turn (none: a middling 0.5)
            heard = [p for p in turns if p["speaker"] != gender and p["start"] < t["start"]]
            last = max(heard, key=lambda p: p["start"]) if heard else None
            strong = last["face_gain"] * last["intensity"] if last else 0.5
            rise = float(np.clip(0.25 * (1 + reply_onset * (0.5 - strong) * 1.5), 0.08, 0.45))
        env = np.interp(u, [0, rise, 0.7, 1], [0.35, 1, 1, 0.65])
        emo[f0:] = DISPLAYS.index(t["emotion"])
        blend[f0:] = t["blend"]
        style[f0:] = list(STYLES).index(t["style"])
        strength[f0:f0 + m] = apex * env[:max(0, min(m, n - f0))]
        tail = np.arange(max(0, f2 - f1)) / fps
        strength[f1:f2] = apex * (RESIDUE + (0.65 - RESIDUE) * np.exp(-tail / FADE_S))
        e = envelope(x, fps) ** 0.7
        g1 = min(n, f0 + len(e))
        mouth[f0:g1] = np.maximum(mouth[f0:g1], e[:g1 - f0])
    blink = np.zeros(n, bool)
    t_next = rng.uniform(0.5, 4)
    while t_next * fps < n:
        b0 = int(t_next * fps)
        blink[b0:b0 + max(1, int(round(0.15 * fps)))] = True
        t_next += rng.uniform(2, 6)
    sec = np.arange(n) / fps
    pose = np.zeros((n, 7))   # dx, dy (px), scale, rotation (deg), x squeeze, yaw (deg), pitch
    #                            (y squeeze: a nod)
    for j, amp in enumerate((9.0, 6.0, 0.035, 3.5)):
        for period in (7.0, 2.9):
            ph = rng.uniform(0, 2 * math.pi)
            pose[:, j] += amp * (0.7 if period > 5 else 0.3) * np.sin(2 * math.pi * sec / period
                                                                      + ph)
    pose[:, 2] += 1.0
    pose[:, 4] = 1.0
    pose[:, 6] = 1.0
    hand = np.zeros(n, bool)
    if release:
        for _ in range(rng.poisson(TURNS_PER_S * n / fps)):   # turn aside and back
            a, m = int(rng.uniform(0, n)), max(2, int(rng.uniform(0.6, 1.6) * fps))
            peak = rng.choice((-1, 1)) * rng.uniform(15, MAX_YAW)
            curve = peak * 0.5 * (1 - np.cos(2 * math.pi * np.arange(m) / (m - 1)))
            pose[a:a + m, 5] = curve[:max(0, min(m, n - a))]
        for _ in range(rng.poisson(HANDS_PER_S * n / fps)):
            a = int(rng.uniform(0, n))
            hand[a:min(n, a + int(rng.uniform(0.4, 1.2) * fps))] = True
    for _ in range(0 if release else rng.poisson(OCCLUSIONS_PER_S * n / fps)):
        a = int(rng.uniform(0, n))
        b = min(n, a + int(rng.uniform(0.4, 1.2) * fps))
        if rng.random() < 0.5:               # turned away: the head squeezed as in a profile
            pose[a:b, 4] = 0.45
        else:
            hand[a:b] = True
    return dict(emo=emo, blend=blend, strength=strength, mouth=mouth, blink=blink, pose=pose,
                hand=hand, style=style)


def compose(face: ActorFace, line: dict, i: int, profile, markers: bool,
            release: bool = False) -> np.ndarray:
    """One half frame of an actor at frame i of its timeline."""
    from .dialogue import STYLES
    upper, lower = list(STYLES.values())[line["style"][i]]
    gains = (profile.brows * upper, profile.corners * lower, profile.mouth)
    img, pts = face.posed(DISPLAYS[line["emo"][i]], line["mouth"][i], line["strength"][i],
                          line["blend"][i], gains)
    if markers or line["blink"][i]:
        img = img.copy()
        if line["blink"][i]:
            draw_blink(img, pts)
        if markers:
            draw_markers(img, pts, soft=release)
    dx, dy, s, rot, squeeze, yaw, pitch = line["pose"][i]
    img, pts = face.turned(img, pts, yaw)
    c = pts[27:36].mean(axis=0)
    m = cv2.getRotationMatrix2D((float(c[0]), float(c[1])), float(rot), float(s))
    if squeeze != 1.0:
        m[0] *= squeeze
        m[0, 2] += c[0] * (1 - squeeze)
    if pitch != 1.0:
        m[1] *= pitch
        m[1, 2] += c[1] * (1 - pitch)
    m[:, 2] += (dx * face.zoom, dy * face.zoom)
    h, w = img.shape[:2]
    out = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    if line["hand"][i]:
        q = pts @ m[:, :2].T + m[:, 2]
        centre = tuple(int(v) for v in q[[30, 57]].mean(axis=0))
        axes = (int(0.9 * (q[16, 0] - q[0, 0]) / 2) + 4, int(0.55 * (q[8, 1] - q[27, 1])) + 4)
        cv2.ellipse(out, centre, (abs(axes[0]), abs(axes[1])), 0, 0, 360, HAND_COLOUR, -1,
                    cv2.LINE_AA)
    return out


def react(lines: dict, turns: list[dict], fps: int, styles: dict, mirroring: float,
          rate: float, rng: np.random.Generator) -> None:
    """Listening reactions, in place: while the partner speaks (and for half a second after) and
    the actor does not, the actor mirrors the partner's display (MIRROR: the emotion's share and
    lag, times the actor's style and `mirroring`) where it is at least ATTENDED of what the actor
    still shows of their own; and backchannels at `rate` per second of the partner's turn times
    the actor's: nods, brief smiles (at neutral or happy speech) and brow flashes, in the actor's
    mix."""
    n = len(lines["F"]["emo"])
    shown = {g: (lines[g]["emo"].copy(), lines[g]["strength"].copy()) for g in "FM"}
    for g in "FM":
        me, st = lines[g], styles[g]
        speaking = np.zeros(n, bool)
        for t in turns:
            if t["speaker"] == g:
                speaking[int(round(t["start"] * fps)):int(round(t["end"] * fps))] = True
        emo_o, str_o = shown["M" if g == "F" else "F"]
        for t in sorted((t for t in turns if t["speaker"] != g), key=lambda t: t["start"]):
            f0, f1 = int(round(t["start"] * fps)), min(n, int(round((t["end"] + 0.5) * fps)))
            if f1 <= f0:
                continue
            idx = np.arange(f0, f1)
            share, lag_s = MIRROR[t["emotion"]]
            src = idx - int(round(lag_s * st.lag * fps))
            m = np.where(src >= f0, mirroring * share * st.gain * str_o[src.clip(f0)], 0.0)
            on = ~speaking[idx] & (m > ATTENDED * me["strength"][idx])
            f = idx[on]
            me["emo"][f], me["strength"][f] = emo_o[src[on]], m[on]
            me["blend"][f], me["style"][f] = "", 0
            for _ in range(rng.poisson(rate * st.rate * (f1 - f0) / fps)):
                a, kind = int(rng.integers(f0, f1)), int(rng.choice(3, p=st.mix))
                dur = (NOD_S, SMILE_S, FLASH_S)[kind]
                k = np.arange(a, min(n, a + max(2, int(round(dur * fps)))))
                k = k[~speaking[k]]
                bump = np.sin(math.pi * (k - a + 0.5) / max(2, int(round(dur * fps))))
                if kind == 0:
                    me["pose"][k, 1] += NOD_PX * bump
                    me["pose"][k, 6] -= NOD_PITCH * bump
                    continue
                if kind == 1 and t["emotion"] not in SMILED:
                    continue
                level = (SMILE * st.gain if kind == 1 else FLASH) * bump
                up = level > me["strength"][k]
                me["emo"][k[up]] = DISPLAYS.index("hap" if kind == 1 else "flash")
                me["strength"][k[up]], me["blend"][k[up]] = level[up], ""


def write_avi(path: Path, fps: int, width: int, height: int, frames, track: np.ndarray) -> None:
    """AVI with MPEG-4 video (XVID fourcc) and `track` (int16, samples x 2) as 16 kHz PCM.

    `frames` yields BGR frames; audio goes in one-second chunks interleaved with the video."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="avi") as c:
        vs = c.add_stream("mpeg4", rate=fps)
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        vs.bit_rate = 25_000 * fps        # 250 kbit/s at 10 fps: the same bits a frame
        vs.codec_context.codec_tag = "XVID"
        vs.codec_context.thread_count = 1
        aus = c.add_stream("pcm_s16le", rate=SAMPLE_RATE, layout="stereo")
        pos = 0
        for i, img in enumerate(frames):
            while pos < len(track) and pos <= (i + 1) * SAMPLE_RATE / fps:
                chunk = np.ascontiguousarray(track[pos:pos + SAMPLE_RATE].reshape(1, -1))
                af = av.AudioFrame.from_ndarray(chunk, format="s16", layout="stereo")
                af.sample_rate, af.pts = SAMPLE_RATE, pos
                for p in aus.encode(af):
                    c.mux(p)
                pos += SAMPLE_RATE
            vf = av.VideoFrame.from_ndarray(img, format="bgr24")
            vf.pts = i
            for p in vs.encode(vf):
                c.mux(p)
        for p in vs.encode(None):
            c.mux(p)
        for p in aus.encode(None):
            c.mux(p)


def film(faces: dict, profiles: dict, wearer: str, turns: list[dict], audio: list[np.ndarray],
         track: np.ndarray, fps: int, width: int, height: int, path: Path,
         rng: np.random.Generator, release: bool = False, listening=None) -> int:
    """Write the dialogue's AVI: the marker wearer on the left, the partner on the right;
    release: filmed as the release is (yaw turns, soft markers; the shots, identities and light
    are the faces'); listening: (sample section, styles per actor, rng) for the listeners'
    reactions (react), or None."""
    n = int(math.ceil((max(t["end"] for t in turns) + 0.6) * fps))
    onset = listening[0].reply_onset if listening else 0.0
    lines = {g: timeline(turns, audio, n, fps, g, profiles[g], rng, release, onset) for g in "FM"}
    if listening and (listening[0].mirroring or listening[0].backchannel_rate):
        c, styles, react_rng = listening
        react(lines, turns, fps, styles, c.mirroring, c.backchannel_rate, react_rng)
    left, right = wearer, "M" if wearer == "F" else "F"
    half = width // 2
    frame = np.empty((height, width, 3), np.uint8)

    def frames():
        for i in range(n):
            frame[:, :half] = compose(faces[left], lines[left], i, profiles[left], True, release)
            frame[:, half:] = compose(faces[right], lines[right], i, profiles[right], False,
                                      release)
            yield frame

    need = int(math.ceil(n / fps * SAMPLE_RATE))
    if len(track) < need:
        track = np.vstack([track, np.zeros((need - len(track), 2), np.int16)])
    write_avi(path, fps, width, height, frames(), track[:need])
    return n
