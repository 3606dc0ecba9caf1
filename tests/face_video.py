"""A small two-actor dialogue video for the face extractor tests and benchmark.

720x480 at 30 fps (XVID in AVI, like IEMOCAP's DivX): the face of skimage's astronaut on the
left half, its mirror image on the right half, both drifting a few pixels; from `blank_from`
seconds on the right half is empty (no face), for the "no face in span" case.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import skimage.data

WIDTH, HEIGHT, FPS = 720, 480, 30
# The astronaut's face (dlib box x 179-266, y 83-170 of 512x512), cropped and doubled: the
# face box is ~165 px, found by the detector at half scale.
_CROP = (slice(30, 250), slice(140, 310))
_SCALE = 1.9
LEFT_AT, RIGHT_AT = (15, 25), (375, 25)   # top-left corners of the two actors (x, y)


def actor() -> np.ndarray:
    """The actor image (BGR), 418x323."""
    img = skimage.data.astronaut()[_CROP][:, :, ::-1]
    return cv2.resize(img, None, fx=_SCALE, fy=_SCALE, interpolation=cv2.INTER_LINEAR)


def frame_at(i: int, face: np.ndarray, blank_right: bool) -> np.ndarray:
    fr = np.full((HEIGHT, WIDTH, 3), 90, np.uint8)
    h, w = face.shape[:2]
    dx, dy = int(round(6 * np.sin(i / 9))), int(round(5 * np.cos(i / 13)))
    (lx, ly), (rx, ry) = LEFT_AT, RIGHT_AT
    fr[ly + dy:ly + dy + h, lx + dx:lx + dx + w] = face
    if not blank_right:
        fr[ry - dy:ry - dy + h, rx - dx:rx - dx + w] = face[:, ::-1]
    return fr


def write_video(path: Path, seconds: float = 4.0, blank_from: float = 3.0) -> Path:
    """Write the test video to `path` (.avi) and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    face = actor()
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"XVID"), FPS, (WIDTH, HEIGHT))
    if not vw.isOpened():
        raise RuntimeError(f"cannot write {path}")
    for i in range(int(round(seconds * FPS))):
        vw.write(frame_at(i, face, blank_right=i >= blank_from * FPS))
    vw.release()
    return path
