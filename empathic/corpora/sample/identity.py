"""Who the sample's actors are: two real face photos made into ten identities.

Photos (both public domain, both in packages the project already installs):
- `skimage.data.astronaut()` (scikit-image): Eileen Collins, NASA portrait;
- `grace_hopper.jpg` in matplotlib's sample data: Grace Hopper, official U.S. Navy photograph.

Both are brought into one geometry, the astronaut's 68 landmarks (Hopper by a similarity
transform, then a piecewise-affine warp of her landmarks onto the astronaut's), so every actor
shares the face shape of `faces.ActorFace` and the per-actor warps of `faces.Look`: an unseen
actor's face shape is a part of the response landmarks no prompt can predict.

What tells identities apart is texture: an identity takes its canvas (hair, clothes, background)
from one photo and each of three face regions (eyes and brows, nose, mouth and chin) from either
photo, blended in with soft masks and matched to the canvas's skin colour; then a skin tone, a
hair colour and accessories (a moustache, heavier brows) drawn onto the photo, so
they follow every warp of the face. dlib's face-recognition embedding measures how far apart they
are (`bench/bench_identities.py`).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from .faces import ASTRONAUT_LANDMARKS, astronaut, piecewise_affine

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

A, H = "astronaut", "hopper"
# Face regions (landmark indices whose hull, grown, is the region).
REGIONS = {"eyes": list(range(17, 27)) + list(range(36, 48)),
           "nose": [27, 31, 32, 33, 34, 35, 39, 42],
           "mouth": list(range(48, 68)) + [5, 6, 7, 8, 9, 10, 11]}


@dataclass(frozen=True)
class Identity:
    canvas: str                             # photo of the hair, clothes and background
    eyes: str                               # photo of each face region
    nose: str
    mouth: str
    mirror: bool
    skin: tuple[float, float, float]        # BGR gains on the face and neck
    hair: tuple[float, float, float]        # BGR gains on the hair (dark pixels around the face)
    moustache: float = 0.0                  # darkening above the upper lip (0: none)
    brows: float = 0.0                      # extra brow thickness (inter-ocular units)


# Actor (session s, F/M) -> IDENTITIES[(2 (s - 1) + (M)) % 10]: a fixed mix whatever the seed.
# Every identity keeps the astronaut's canvas (hair, clothes, background) and mouth: dlib's
# 68-point fit follows an expression on them about as well as on the astronaut herself (the
# correlation of fitted with rendered point displacements 0.78-0.87 in the close and medium
# shots), while Hopper's canvas (0.2-0.6 in the medium shot), her mouth (0.5-0.75) and a beard
# (0.45-0.7) let the fit sit still while the face moves, which took the face modalities' signal
# with it. People differ by eyes, brows and nose (either photo), mirroring, skin and hair tones,
# and a moustache; bench/bench_identities.py prints how far apart dlib's
# face-recognition embedding puts them.
IDENTITIES = (
    Identity(A, A, A, A, True, (1.0, 1.0, 1.0), (1.0, 1.0, 1.0)),
    Identity(A, H, A, A, False, (0.64, 0.7, 0.8), (0.55, 0.55, 0.6), brows=0.06),
    Identity(A, A, H, A, True, (0.88, 0.93, 1.0), (0.5, 0.5, 0.5), moustache=0.4),
    Identity(A, H, H, A, False, (0.74, 0.82, 0.94), (0.45, 0.5, 0.55), moustache=0.6),
    Identity(A, A, A, A, False, (0.62, 0.68, 0.78), (1.4, 1.4, 1.4), moustache=0.6),
    Identity(A, H, A, A, True, (0.85, 0.92, 1.05), (0.75, 1.1, 1.5), brows=0.06),
    Identity(A, A, H, A, False, (1.06, 1.04, 1.0), (0.4, 0.4, 0.4), brows=0.06),
    Identity(A, H, H, A, True, (0.58, 0.64, 0.74), (0.6, 0.7, 0.8)),
    Identity(A, A, H, A, False, (0.8, 0.86, 0.98), (0.3, 0.3, 0.3), moustache=0.5),
    Identity(A, H, A, A, True, (0.7, 0.76, 0.86), (1.2, 1.0, 0.8), moustache=0.4),
)


def identity_of(session: int, gender: str) -> Identity:
    return IDENTITIES[(2 * (session - 1) + (gender == "M")) % len(IDENTITIES)]


@lru_cache(maxsize=1)
def _hopper() -> np.ndarray:
    """Grace Hopper's photo (BGR) in the astronaut's frame and face shape."""
    import matplotlib.cbook as cbook
    img = cv2.imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
    base, pts = astronaut()
    m, _ = cv2.estimateAffinePartial2D(HOPPER_LANDMARKS.astype(np.float32),
                                       pts.astype(np.float32))
    moved = cv2.warpAffine(img, m, base.shape[1::-1], flags=cv2.INTER_AREA,
                           borderMode=cv2.BORDER_REPLICATE)
    return piecewise_affine(moved, HOPPER_LANDMARKS @ m[:, :2].T + m[:, 2], pts)


def _photo(name: str) -> np.ndarray:
    return astronaut()[0] if name == A else _hopper()


def _hull_mask(shape: tuple[int, int], pts: np.ndarray, grow: float, blur: float) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.round(pts).astype(np.int32)), 1)
    k = max(1, int(round(grow)))
    mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1)))
    return cv2.GaussianBlur(mask.astype(np.float32), (0, 0), blur)


def face_mask(shape: tuple[int, int], pts: np.ndarray, unit: float) -> np.ndarray:
    """Soft mask of the face (jaw line up to above the brows) and the neck below it."""
    mask = np.zeros(shape, np.float32)
    top = pts[17:27] - (0, 0.5 * unit)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.round(np.vstack([pts[0:17], top])).astype(
        np.int32)), 1.0)
    neck = np.array([pts[4], pts[12], pts[12] + (0, 1.5 * unit), pts[4] + (0, 1.5 * unit)])
    cv2.fillConvexPoly(mask, np.round(neck).astype(np.int32), 1.0)
    return cv2.GaussianBlur(mask, (0, 0), max(1.0, 0.12 * unit))


def _hair_mask(img: np.ndarray, pts: np.ndarray, unit: float) -> np.ndarray:
    """Soft mask of the hair: darker pixels in a head-sized region around the face, outside it."""
    h, w = img.shape[:2]
    region = np.zeros((h, w), np.float32)
    c = pts[27]
    cv2.ellipse(region, (int(c[0]), int(c[1] - 0.4 * unit)), (int(2.4 * unit), int(2.6 * unit)),
                0, 0, 360, 1.0, -1)
    region[int(pts[8, 1]):] = 0
    region *= 1 - np.clip(face_mask((h, w), pts, unit) * 1.5, 0, 1)
    grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return cv2.GaussianBlur(region * np.clip((150 - grey) / 60, 0, 1), (0, 0),
                            max(1.0, 0.05 * unit))


@lru_cache(maxsize=16)
def identity_photo(ident: Identity) -> np.ndarray:
    """The identity's photo (BGR, the astronaut's frame and landmarks): canvas, face regions,
    skin and hair tone, accessories; mirroring is left to the caller (faces.ActorFace)."""
    pts = ASTRONAUT_LANDMARKS
    unit = float(np.linalg.norm(pts[36] - pts[45]))
    canvas = _photo(ident.canvas).astype(np.float32)
    out = canvas.copy()
    skin = face_mask(canvas.shape[:2], pts, unit / 1.4)[..., None]
    ref = (canvas * skin).sum((0, 1)) / skin.sum()
    for region, idx in REGIONS.items():
        src = getattr(ident, region)
        if src == ident.canvas:
            continue
        donor = _photo(src).astype(np.float32)
        m = _hull_mask(canvas.shape[:2], pts[idx], 0.12 * unit, 0.06 * unit)[..., None]
        # the donor's skin colour matched to the canvas's, so the region differs in its
        # features, not as a patch of another colour
        d_ref = (donor * skin).sum((0, 1)) / skin.sum()
        out = out * (1 - m) + donor * (ref / d_ref) * m
    hair = _hair_mask(np.clip(out, 0, 255).astype(np.uint8), pts, unit / 1.4)[..., None]
    out = out * (1 - hair) + out * np.float32(ident.hair) * hair
    out = out * (1 - skin) + out * np.float32(ident.skin) * skin
    img = np.clip(out, 0, 255).astype(np.uint8)
    draw_accessories(img, pts, ident)
    return img


@lru_cache(maxsize=1)
def _stubble(h: int, w: int) -> np.ndarray:
    rng = np.random.default_rng(12345)
    return cv2.GaussianBlur((0.55 + 0.45 * rng.random((h, w))).astype(np.float32), (0, 0), 0.7)


def draw_accessories(img: np.ndarray, pts: np.ndarray, ident: Identity) -> None:
    """Moustache and brows drawn on the photo from its landmarks (in place). (Glasses and a
    beard were tried: they kept dlib's fit from following the face, see IDENTITIES.)"""
    unit = float(np.linalg.norm(pts[36] - pts[45]))
    if ident.moustache:
        mask = np.zeros(img.shape[:2], np.float32)
        poly = np.vstack([pts[[48, 49, 50, 51, 52, 53, 54]], pts[[35, 33, 31]] + (0, 0.03 * unit)])
        cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], ident.moustache)
        mask = cv2.GaussianBlur(mask, (0, 0), max(0.8, 0.04 * unit))
        f = 1 - mask * _stubble(*img.shape[:2])
        img[:] = np.clip(img * f[..., None], 0, 255).astype(np.uint8)
    if ident.brows:
        th = max(1, int(round(ident.brows * unit)))
        for a, b in ((17, 22), (22, 27)):
            cv2.polylines(img, [np.round(pts[a:b] * 16).astype(np.int32)], False, (28, 32, 42),
                          th, cv2.LINE_AA, shift=4)