"""Who the sample's actors are: two real face photos made into ten identities.

Photos (both public domain, both shipped in packages the project already installs):
- `skimage.data.astronaut()` (scikit-image): Eileen Collins, NASA portrait;
- `grace_hopper.jpg` in matplotlib's sample data (`matplotlib.cbook.get_sample_data`):
  Grace Hopper, official U.S. Navy photograph.

An identity is a photo, its side (mirrored or not), a skin tone, hair colour and accessories drawn
on the face: glasses (dark or light frames), a beard or stubble, a moustache, heavier brows.
The face's geometry is NOT what tells identities apart: every actor is rendered onto the same
canonical landmark shape (plus the small per-actor warps of `faces.Look`), because an unseen
actor's face shape is a part of the response landmarks no prompt can predict. A face-recognition
embedding (dlib's ResNet, `bench/bench_identities.py`) is what says they are different people.

Accessories are drawn on each bank frame from its landmarks, so they follow the expression
(brows rise, a beard drops with the jaw), the head motion and the turns.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np


@dataclass(frozen=True)
class Identity:
    photo: str                              # astronaut or hopper
    mirror: bool
    skin: tuple[float, float, float]        # BGR gains on the face and neck
    hair: tuple[float, float, float]        # BGR gains on the hair (dark pixels above the brows)
    glasses: str = ""                       # "", dark, light
    beard: float = 0.0                      # darkening of the jaw and chin (0: none)
    moustache: float = 0.0
    brows: int = 0                          # extra brow thickness (px at an IOD of 60 px)


# Actor (session s, F/M) -> IDENTITIES[(2 (s - 1) + (M)) % 10]: a fixed mix whatever the seed;
# no glasses in session 2 (the wide shot: glasses on a ~30 px face hide it from dlib's detector).
IDENTITIES = (
    Identity("astronaut", False, (1.0, 1.0, 1.0), (1.0, 1.0, 1.0)),
    Identity("hopper", False, (0.9, 0.95, 1.0), (1.0, 1.0, 1.0), beard=0.55, brows=4),
    Identity("astronaut", False, (0.85, 0.92, 1.05), (0.75, 1.1, 1.5), beard=0.6, moustache=0.5,
             brows=4),
    Identity("hopper", True, (0.58, 0.64, 0.74), (0.4, 0.4, 0.4), brows=5),
    Identity("astronaut", True, (0.62, 0.68, 0.78), (0.6, 0.6, 0.6), glasses="dark"),
    Identity("hopper", True, (0.7, 0.78, 0.9), (0.45, 0.5, 0.55), glasses="light", moustache=0.6),
    Identity("astronaut", True, (0.75, 0.82, 0.95), (0.5, 0.5, 0.5), glasses="light", beard=0.3),
    Identity("hopper", False, (1.05, 1.05, 1.05), (1.0, 1.0, 1.0), glasses="dark"),
    Identity("astronaut", False, (1.08, 1.06, 1.02), (1.5, 1.5, 1.5), moustache=0.7,
             glasses="dark"),
    Identity("hopper", False, (0.8, 0.86, 0.98), (0.6, 0.7, 0.8), beard=0.35, glasses="light"),
)


def identity_of(session: int, gender: str) -> Identity:
    return IDENTITIES[(2 * (session - 1) + (gender == "M")) % len(IDENTITIES)]


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



# dlib's 68 landmarks of matplotlib's grace_hopper.jpg (frontal detector, no upsampling, then the
# 68-point predictor); tests/test_sample.py checks them against dlib.
HOPPER_LANDMARKS = np.array([
    [181, 202], [185, 225], [190, 248], [195, 270], [204, 290], [217, 307], [234, 319],
    [254, 328], [276, 331], [299, 326], [320, 316], [338, 302], [353, 286], [363, 265],
    [366, 242], [368, 217], [369, 192], [186, 182], [194, 165], [210, 159], [228, 161],
    [243, 169], [282, 166], [297, 156], [316, 153], [334, 157], [346, 171], [264, 191],
    [265, 206], [266, 222], [266, 238], [245, 247], [256, 250], [268, 253], [279, 250],
    [289, 246], [207, 199], [216, 192], [227, 191], [239, 198], [228, 201], [216, 202],
    [294, 195], [304, 187], [316, 186], [327, 190], [318, 195], [306, 196], [233, 278],
    [245, 274], [257, 272], [266, 274], [275, 271], [291, 273], [309, 272], [292, 286],
    [278, 290], [268, 291], [259, 291], [246, 287], [239, 278], [258, 280], [267, 280],
    [276, 279], [302, 274], [276, 279], [268, 280], [258, 280]], dtype=np.float64)


@lru_cache(maxsize=2)
def photo(name: str) -> tuple[np.ndarray, np.ndarray]:
    """A base photo (BGR) and its 68 landmarks (x, y)."""
    if name == "astronaut":
        return astronaut()
    import matplotlib.cbook as cbook
    img = cv2.imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
    return img, HOPPER_LANDMARKS


def _face_mask(shape: tuple[int, int], pts: np.ndarray, unit: float) -> np.ndarray:
    """Soft mask of the face and the neck below it (float32 in [0, 1])."""
    mask = np.zeros(shape, np.float32)
    top = pts[17:27] - (0, 0.5 * unit)
    hull = cv2.convexHull(np.round(np.vstack([pts[0:17], top])).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 1.0)
    neck = np.array([pts[4], pts[12], pts[12] + (0, 1.5 * unit), pts[4] + (0, 1.5 * unit)])
    cv2.fillConvexPoly(mask, np.round(neck).astype(np.int32), 1.0)
    return cv2.GaussianBlur(mask, (0, 0), max(1.0, 0.12 * unit))


def _hair_mask(img: np.ndarray, pts: np.ndarray, unit: float) -> np.ndarray:
    """Soft mask of the hair: darker pixels in a head-sized region above the brows and beside the
    face, outside the face itself."""
    h, w = img.shape[:2]
    region = np.zeros((h, w), np.float32)
    c = pts[27]
    axes = (int(2.4 * unit), int(2.6 * unit))
    cv2.ellipse(region, (int(c[0]), int(c[1] - 0.4 * unit)), axes, 0, 0, 360, 1.0, -1)
    region[int(pts[8, 1]):] = 0
    region *= 1 - np.clip(_face_mask((h, w), pts, unit) * 1.5, 0, 1)
    grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32)
    dark = np.clip((150 - grey) / 60, 0, 1)
    return cv2.GaussianBlur(region * dark, (0, 0), max(1.0, 0.05 * unit))


def dress_photo(img: np.ndarray, pts: np.ndarray, ident: Identity, unit: float) -> np.ndarray:
    """The photo with the identity's skin tone and hair colour (static: before any warp)."""
    x = img.astype(np.float32)
    for mask, gains in ((_hair_mask(img, pts, unit), ident.hair),
                        (_face_mask(img.shape[:2], pts, unit), ident.skin)):
        m = mask[..., None]
        x = x * (1 - m) + x * np.float32(gains) * m
    return np.clip(x, 0, 255).astype(np.uint8)


def draw_accessories(frame: np.ndarray, pts: np.ndarray, ident: Identity) -> None:
    """Beard, moustache, brows and glasses on a rendered frame, from its landmarks (in place)."""
    unit = float(np.linalg.norm(pts[36] - pts[45])) / 1.4     # ~ eye-centre distance
    s = unit / 43.0
    if ident.beard or ident.moustache:
        mask = np.zeros(frame.shape[:2], np.float32)
        if ident.beard:
            poly = np.vstack([pts[2:15], pts[[54, 55, 56, 57, 58, 59, 48]]])
            cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], ident.beard)
        if ident.moustache:
            poly = np.vstack([pts[[48, 49, 50, 51, 52, 53, 54]], pts[[35, 33, 31]] + (0, 2 * s)])
            cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], ident.moustache)
        mask = cv2.GaussianBlur(mask, (0, 0), max(0.8, 2.5 * s))
        tex = _stubble(frame.shape[:2])
        f = 1 - mask * tex
        frame[:] = np.clip(frame * f[..., None], 0, 255).astype(np.uint8)
    if ident.brows:
        th = max(1, int(round(ident.brows * s)))
        for a, b in ((17, 22), (22, 27)):
            cv2.polylines(frame, [np.round(pts[a:b] * 16).astype(np.int32)], False, (28, 32, 42),
                          th, cv2.LINE_AA, shift=4)
    if ident.glasses:
        colour, th = ((22, 22, 22), 3) if ident.glasses == "dark" else ((175, 185, 195), 2)
        th = max(1, int(round(th * s)))
        for eye in (pts[36:42], pts[42:48]):
            c = eye.mean(0)
            ax = (0.85 * (eye[:, 0].max() - eye[:, 0].min()), 0.6 * (eye[:, 0].max()
                                                                   - eye[:, 0].min()))
            cv2.ellipse(frame, (int(round(c[0] * 16)), int(round(c[1] * 16))),
                        (int(ax[0] * 16), int(ax[1] * 16)), 0, 0, 360, colour, th, cv2.LINE_AA,
                        shift=4)
        a, b = pts[39] + (3 * s, -3 * s), pts[42] + (-3 * s, -3 * s)
        cv2.line(frame, tuple(np.round(a * 16).astype(int)), tuple(np.round(b * 16).astype(int)),
                 colour, th, cv2.LINE_AA, shift=4)


@lru_cache(maxsize=4)
def _stubble_base(h: int, w: int) -> np.ndarray:
    rng = np.random.default_rng(12345)
    return (0.55 + 0.45 * rng.random((h, w))).astype(np.float32)


def _stubble(shape: tuple[int, int]) -> np.ndarray:
    return _stubble_base(*shape)
