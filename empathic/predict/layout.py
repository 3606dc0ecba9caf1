"""Where the people are in a new video (`--side auto`): faces on a few frames, grouped by place.

A corpus reader says which half of the frame its speaker sits in (IEMOCAP: left / right). A new
video says nothing, so `--side auto` looks: on up to MAX_FRAMES frames spread over the segments,
dlib's detector runs on the whole frame at the face extractor's scales (features.face:
detect_scale first, larger where it finds nothing, up to max_detect_scale), and the faces are
grouped into people by their horizontal place. Then the parts of the frame the extractor reads
per segment (its `video_side` values):

- nobody found: the whole frame (`full`; the extractor then says why no face was found);
- one person, wherever they are (a webcam clip, a face across the middle): `full`;
- two people, each inside one half: `left` and `right` (IEMOCAP's layout: exactly the crops the
  models were trained on);
- otherwise (more people, or a face crossing the middle beside another): one strip of columns
  per person, cut midway between neighbours (`x<a>-<b>`).

With more than one part, each segment takes the part whose face moves its mouth most while the
voice is heard (features.choose_sides): the active speaker.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..extractors.facegeom import scale_ladder
from .segments import Segment

MAX_FRAMES = 12        # frames looked at
SAME_PERSON = 0.6      # a face within this many box widths of a person's place is theirs
SLACK = 0.1           # two people each inside a half, but for this share of a face width
MIN_SEEN = 0.25        # a person is kept when seen on at least this share of the frames with faces


@dataclass
class Person:
    centre: float      # median horizontal centre of their face boxes (source px)
    left: float        # leftmost and rightmost box edges seen
    right: float
    width: float       # median box width
    seen: int          # frames they were found on


def scan_times(segs: list[Segment], n: int = MAX_FRAMES) -> list[float]:
    """Up to `n` times spread over the segments (three per segment, then evenly thinned)."""
    times = [s.start + (k + 0.5) / 3 * (s.end - s.start) for s in segs for k in range(3)]
    if len(times) > n:
        times = [times[int(i)] for i in np.linspace(0, len(times) - 1, n).round()]
    return times


def faces_in(grey: np.ndarray, detector, ladder: list[float]) -> list[tuple[float, float]]:
    """(centre x, width) of every face of the frame (source pixels), over every scale of
    `ladder`: a large face is found at the first, a small one beside it (a wide shot, a photo
    on the wall) only at a larger one; a face found again at a larger scale is kept once."""
    import cv2
    found: list[tuple[float, float]] = []
    for s in ladder:
        img = grey if s == 1 else cv2.resize(
            grey, (max(1, round(grey.shape[1] * s)), max(1, round(grey.shape[0] * s))),
            interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
        for r in detector(img, 0):
            c, w = (r.left() + r.right()) / 2 / s, r.width() / s
            if all(abs(c - c0) >= SAME_PERSON * max(w, w0) for c0, w0 in found):
                found.append((c, w))
    return sorted(found)


def group(frames: list[list[tuple[float, float]]]) -> list[Person]:
    """People from the faces of each frame: boxes near each other across frames are one person
    (left to right; those seen too rarely are dropped)."""
    boxes = sorted((c, w) for faces in frames for c, w in faces)
    clusters: list[list[tuple[float, float]]] = []
    for c, w in boxes:
        if clusters:
            cs = [b[0] for b in clusters[-1]]
            ws = [b[1] for b in clusters[-1]]
            if abs(c - float(np.median(cs))) < SAME_PERSON * max(w, float(np.median(ws))):
                clusters[-1].append((c, w))
                continue
        clusters.append([(c, w)])
    with_faces = sum(1 for f in frames if f)
    people = []
    for cl in clusters:
        cs, ws = np.array([b[0] for b in cl]), np.array([b[1] for b in cl])
        if len(cl) >= max(1, MIN_SEEN * with_faces):
            people.append(Person(float(np.median(cs)), float((cs - ws / 2).min()),
                                 float((cs + ws / 2).max()), float(np.median(ws)), len(cl)))
    return people


def parts(people: list[Person], width: int) -> tuple[str, ...]:
    """The extractor's `video_side` values for these people (see the module doc)."""
    if len(people) <= 1:
        return ("full",)
    half = width / 2
    a, b = people[0], people[-1]
    if len(people) == 2 and a.right - SLACK * a.width <= half <= b.left + SLACK * b.width:
        return ("left", "right")
    cuts = [0] + [int(round((a.centre + b.centre) / 2)) for a, b in zip(people, people[1:])]
    return tuple(f"x{a}-{b}" for a, b in zip(cuts, cuts[1:] + [width]))


def find_parts(video: Path, segs: list[Segment], face_params: dict,
               log=print) -> tuple[str, ...]:
    """Look at the video and return the parts of the frame to read (the module doc)."""
    import cv2
    import dlib

    from ..extractors.face import FaceConfig
    from .media import grab_frames
    cfg = FaceConfig.from_params(face_params)
    ladder = scale_ladder(cfg.detect_scale, cfg.max_detect_scale)
    detector = dlib.get_frontal_face_detector()
    frames = [f for f in grab_frames(video, scan_times(segs)) if f is not None]
    if not frames:
        return ("full",)
    width = frames[0].shape[1]
    faces = [faces_in(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), detector, ladder) for f in frames]
    people = group(faces)
    found = parts(people, width)
    where = ", ".join(f"x {p.centre:.0f} (face ~{p.width:.0f} px, {p.seen} frames)"
                      for p in people) or "none"
    who = f"{len(people)} {'person' if len(people) == 1 else 'people'}"
    log(f"layout: {who} on {len(frames)} frames looked at ({where}); reading "
        f"{' / '.join(found)}")
    return found
