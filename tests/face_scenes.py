"""Frames of a real face photo at a chosen size, place, head turn and light (tests and benches).

skimage's astronaut (BSD-licensed, in scikit-image) is scaled so that the distance between its
eye centres (inter-ocular distance, IOD; 43.4 px in the photo) is `iod` pixels, and placed with
its eyes' midpoint at a fraction of the frame's width, over a fixed textured background. A head
turn (yaw) is simulated by a cylindrical warp of the photo around the face; `light` dims it
(low contrast and dark: a badly lit room) or lights it from one side. Each frame drifts a few
pixels and breathes a little in scale, as a seated speaker does.

    frames = scene_frames(placed(25, "centre", yaw=30), n=8)      # BGR (480, 720, 3) each
    write_scenes(path, [Scene(iod=15, x=0.25), ...], n=8, fps=10)  # one video, scene after scene
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import skimage.data

WIDTH, HEIGHT = 720, 480
EYES_MID = (225.0, 102.7)     # midpoint of the photo's eye centres (dlib 68 points)
PHOTO_IOD = 43.4              # distance between the photo's eye centres
FACE_X, HEAD_R = 222.5, 62.0  # face centre and head radius (photo pixels) for the yaw warp
BOX_PER_IOD = 2.03            # dlib's face box width over the IOD, measured on the photo
POSITIONS = {"left": 0.25, "centre": 0.5, "right": 0.75}


@dataclass(frozen=True)
class Scene:
    iod: float                # target inter-ocular distance, frame pixels
    x: float = 0.5            # eyes' midpoint as a fraction of the frame width
    yaw: float = 0.0          # head turn, degrees (+: towards the frame's right)
    light: str = "even"       # even, dim or side
    y: float = 0.4            # eyes' midpoint as a fraction of the frame height


def _photo() -> np.ndarray:
    return np.ascontiguousarray(skimage.data.astronaut()[:, :, ::-1])


def turned(img: np.ndarray, yaw: float) -> np.ndarray:
    """The photo with its head turned by `yaw` degrees: a vertical cylinder of radius HEAD_R
    around the face, rotated; outside it the image is shifted to stay continuous."""
    if yaw == 0:
        return img
    a = np.radians(yaw)
    xs = np.arange(img.shape[1], dtype=np.float64) - FACE_X
    inside = np.abs(xs) <= HEAD_R
    phi = np.arcsin(np.clip(xs / HEAD_R, -1, 1)) - a
    src = np.where(inside, HEAD_R * np.sin(np.clip(phi, -np.pi / 2, np.pi / 2)), xs)
    # continuity outside the cylinder: shift by the offset at its edge
    right_edge = HEAD_R * np.sin(np.clip(np.pi / 2 - a, -np.pi / 2, np.pi / 2)) - HEAD_R
    left_edge = HEAD_R * np.sin(np.clip(-np.pi / 2 - a, -np.pi / 2, np.pi / 2)) + HEAD_R
    src = np.where(xs > HEAD_R, xs + right_edge, np.where(xs < -HEAD_R, xs + left_edge, src))
    map_x = np.tile((src + FACE_X).astype(np.float32), (img.shape[0], 1))
    map_y = np.tile(np.arange(img.shape[0], dtype=np.float32)[:, None], (1, img.shape[1]))
    return cv2.remap(img, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def eyes_at(scene: Scene) -> tuple[float, float]:
    """Where the eyes' midpoint of the scene's face is drawn (frame pixels, before the drift):
    a turned head carries it round the cylinder."""
    phi = np.arcsin((EYES_MID[0] - FACE_X) / HEAD_R) + np.radians(scene.yaw)
    shift = FACE_X + HEAD_R * np.sin(phi) - EYES_MID[0]
    return scene.x * WIDTH + shift * scene.iod / PHOTO_IOD, scene.y * HEIGHT


def placed(iod: float, where: str, yaw: float = 0.0, light: str = "even") -> Scene:
    """A scene whose face is drawn at the left, centre or right (POSITIONS) of the frame, moved
    inwards as far as its face box needs to stay inside the frame."""
    half = BOX_PER_IOD * iod / 2 + 8
    target = float(np.clip(POSITIONS[where] * WIDTH, half, WIDTH - half))
    shift = eyes_at(Scene(iod, 0.0, yaw))[0]
    return Scene(iod, (target - shift) / WIDTH, yaw, light)


def background(seed: int = 3) -> np.ndarray:
    """A fixed room-like background: a soft gradient with blurred texture."""
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.normal(0, 30, (HEIGHT, WIDTH)).astype(np.float32), (0, 0), 6)
    ramp = np.linspace(70, 130, WIDTH, dtype=np.float32)[None, :] + np.zeros((HEIGHT, 1),
                                                                              np.float32)
    grey = np.clip(ramp + noise, 0, 255)
    return np.stack([grey * 0.9, grey, grey * 1.1], axis=-1).clip(0, 255).astype(np.uint8)


def lit(frame: np.ndarray, light: str) -> np.ndarray:
    if light == "even":
        return frame
    f = frame.astype(np.float32)
    if light == "dim":                       # dark, low contrast
        f = 12 + 0.35 * f
    elif light == "side":                    # lit from the left, dark on the right
        f = f * np.linspace(1.15, 0.3, f.shape[1], dtype=np.float32)[None, :, None]
    else:
        raise ValueError(f"light {light!r}")
    return f.clip(0, 255).astype(np.uint8)


def scene_frames(scene: Scene, n: int, photo: np.ndarray | None = None,
                 back: np.ndarray | None = None) -> list[np.ndarray]:
    """`n` BGR frames (HEIGHT, WIDTH, 3) of the scene."""
    img = turned(_photo() if photo is None else photo, scene.yaw)
    back = background() if back is None else back
    out = []
    for i in range(n):
        k = scene.iod / PHOTO_IOD * (1 + 0.02 * np.sin(i / 2))
        tx = scene.x * WIDTH + 3 * np.sin(i) - k * EYES_MID[0]
        ty = scene.y * HEIGHT + 2 * np.cos(i) - k * EYES_MID[1]
        m = np.array([[k, 0, tx], [0, k, ty]], np.float32)
        fr = back.copy()
        cv2.warpAffine(img, m, (WIDTH, HEIGHT), dst=fr, flags=cv2.INTER_AREA if k < 1 else
                       cv2.INTER_LINEAR, borderMode=cv2.BORDER_TRANSPARENT)
        out.append(lit(fr, scene.light))
    return out


def write_scenes(path: Path, scenes: list[Scene], n: int, fps: float = 10,
                 fourcc: str = "XVID") -> list[tuple[float, float]]:
    """One video (`fourcc` in AVI) of the scenes one after the other, `n` frames each; returns
    each scene's span [start, end) in seconds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (WIDTH, HEIGHT))
    if not vw.isOpened():
        raise RuntimeError(f"cannot write {path}")
    photo, back, spans = _photo(), background(), []
    for j, sc in enumerate(scenes):
        for fr in scene_frames(sc, n, photo, back):
            vw.write(fr)
        spans.append((j * n / fps, (j + 1) * n / fps))
    vw.release()
    return spans
