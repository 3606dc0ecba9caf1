"""How a session is filmed: the shot (face size), the room, the light; and how a head turns.

Shots: the release films both actors in one frame, each in one half; how large a face is depends on
the session's camera. SHOTS gives, per session (repeating), the face's jaw width as a fraction of
the half frame's width and the height of the face's centre: a fixed mix of close, medium and wide
shots, so that every sample of >= 3 sessions has a wide shot whose faces are at most ~30 px between
the outer eye corners, and a close one.

Light: per session a brightness, a colour cast and a side light (a ramp across the half frame);
drawn from the session's generator. The room: a vertical gradient in the session's wall colour
behind the actor (the photo's own background is masked off).

Head turns (yaw): a rough depth for each of the 68 landmarks (the head as an ellipsoid, the nose
in front of it) rotated about the vertical axis gives where each point goes; one piecewise-affine
map per actor and yaw step (YAW_STEP degrees) is computed on first use and applied to the
composed half frame's face box with one `cv2.remap`, so a turn costs no landmark warp per frame.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# (jaw width / half-frame width, face centre y / frame height) per session 1, 2, 3, ... (repeating)
SHOTS = ((0.46, 0.47), (0.135, 0.42), (0.30, 0.45), (0.19, 0.44), (0.58, 0.50))
YAW_STEP = 5.0              # degrees between pre-computed turn maps


def shot(session: int) -> tuple[float, float]:
    return SHOTS[(session - 1) % len(SHOTS)]


@dataclass(frozen=True)
class Light:
    gain: float                         # overall brightness
    cast: tuple[float, float, float]    # BGR colour gains
    side: float                         # brightness ramp across the half frame: 1 -+ side
    wall: tuple[float, float, float]    # the room's wall colour (BGR)

    @staticmethod
    def draw(rng: np.random.Generator) -> "Light":
        return Light(float(rng.uniform(0.6, 1.15)),
                     tuple(float(g) for g in rng.uniform(0.86, 1.14, 3)),
                     float(rng.uniform(-0.35, 0.35)),
                     tuple(float(v) for v in rng.uniform(70, 200, 3)))


def room(light: Light, w: int, h: int) -> np.ndarray:
    """The wall behind the actor: the wall colour, darker toward the floor (float32 BGR)."""
    ramp = np.linspace(1.08, 0.7, h, dtype=np.float32)[:, None, None]
    return np.broadcast_to(np.float32(light.wall) * ramp, (h, w, 3)).copy()


def person_mask(pts: np.ndarray, unit: float, w: int, h: int) -> np.ndarray:
    """Soft mask of head, hair and shoulders around the landmarks (float32 in [0, 1])."""
    mask = np.zeros((h, w), np.float32)
    c = pts[27:31].mean(axis=0)
    cv2.ellipse(mask, (int(c[0]), int(c[1] - 0.5 * unit)), (int(2.1 * unit), int(2.7 * unit)),
                0, 0, 360, 1.0, -1)
    chin = pts[8]
    cv2.ellipse(mask, (int(c[0]), int(chin[1] + 3.6 * unit)), (int(4.4 * unit), int(3.4 * unit)),
                0, 0, 360, 1.0, -1)
    return cv2.GaussianBlur(mask, (0, 0), max(1.0, 0.25 * unit))


def lit(img: np.ndarray, light: Light) -> np.ndarray:
    """The half frame under the session's light (uint8)."""
    h, w = img.shape[:2]
    ramp = np.linspace(1 - light.side, 1 + light.side, w, dtype=np.float32)[None, :, None]
    x = img.astype(np.float32) * ramp * np.float32(light.gain) * np.float32(light.cast)
    return np.clip(x, 0, 255).astype(np.uint8)


def _depth(pts: np.ndarray) -> np.ndarray:
    """Rough depth (toward the camera, px) of the 68 landmarks: an ellipsoidal head, the nose in
    front of it, the eyes a little behind the brows."""
    cx = pts[27:31, 0].mean()
    half = (pts[16, 0] - pts[0, 0]) / 2
    u = np.clip((pts[:, 0] - cx) / (1.08 * half), -1, 1)
    z = 0.9 * half * np.sqrt(1 - u ** 2)
    z[27:36] += half * np.array([0.12, 0.2, 0.3, 0.42, 0.12, 0.18, 0.24, 0.18, 0.12])
    z[36:48] -= 0.08 * half
    return z


def turned(pts: np.ndarray, yaw_deg: float) -> np.ndarray:
    """Where the landmarks go when the head turns by `yaw_deg` about its vertical axis."""
    a = np.radians(yaw_deg)
    cx = pts[27:31, 0].mean()
    z = _depth(pts)
    z0 = float(z[0:17].mean())
    out = pts.copy()
    out[:, 0] = cx + (pts[:, 0] - cx) * np.cos(a) + (z - z0) * np.sin(a)
    return out


def head_ring(pts: np.ndarray, unit: float) -> np.ndarray:
    """Points around the head (hair and ears) that turn with it, so the warp reaches them."""
    c = pts[27:31].mean(axis=0) - (0, 0.6 * unit)
    ang = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    return c + np.stack([2.3 * unit * np.cos(ang), 2.7 * unit * np.sin(ang)], axis=1)


def yaw_map(pts: np.ndarray, unit: float, box: tuple[int, int, int, int], yaw_deg: float,
            warp) -> tuple[np.ndarray, np.ndarray]:
    """(map_x, map_y) for cv2.remap on the box: the frontal face moved to the turned one. `warp`
    is faces.piecewise_affine's map builder (dst -> src coordinates)."""
    x0, y0, x1, y1 = box
    ring = head_ring(pts, unit)
    src = np.vstack([pts, ring]) - (x0, y0)
    ring_t = ring.copy()
    a = np.radians(yaw_deg)
    ring_t[:, 0] = pts[27:31, 0].mean() + (ring[:, 0] - pts[27:31, 0].mean()) * np.cos(a)
    dst = np.vstack([turned(pts, yaw_deg), ring_t]) - (x0, y0)
    inside = ((src >= 1) & (src < (x1 - x0 - 1, y1 - y0 - 1))).all(axis=1)
    return warp(y1 - y0, x1 - x0, src[inside], dst[inside])


def apply_yaw(img: np.ndarray, box, maps) -> np.ndarray:
    x0, y0, x1, y1 = box
    out = img.copy()
    out[y0:y1, x0:x1] = cv2.remap(img[y0:y1, x0:x1], maps[0], maps[1], cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE)
    return out
