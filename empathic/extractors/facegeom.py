"""Geometry of the 68 dlib face landmarks: alignment, expression measures, and the face tracker
(with the detector's scale search), plus the parts of a frame a `video_side` names.

Alignment is a similarity (Procrustes: translation, scale, in-plane rotation, no reflection)
fitted per frame on the RIGID points (nose and eye corners) and applied to all 68 points, so
that the expression (mouth, brows, lids, jaw) is not absorbed by the fit. The canonical shape is
a fixed mean shape (the 68-point template of OpenFace's align_dlib.py, Apache-2.0), rotated so
the eye centres are level, scaled to unit inter-ocular distance (IOD) and centred on the eyes'
midpoint; image convention, x to the right and y DOWN. Aligned coordinates are therefore in
IOD units, and so are the measures below.
"""
from __future__ import annotations

import math
import re

import numpy as np

# OpenFace (cmusatyalab/openface, openface/align_dlib.py) TEMPLATE: the mean of dlib's 68 points.
_TEMPLATE = np.array([
    (0.0792396913815, 0.339223741112), (0.0829219487236, 0.456955367943),
    (0.0967927109165, 0.575648016728), (0.122141515615, 0.691921601066),
    (0.168687863544, 0.800341263616), (0.239789390707, 0.895732504778),
    (0.325662452515, 0.977068762493), (0.422318282013, 1.04329000149),
    (0.531777802068, 1.06080371126), (0.641296298053, 1.03981924107),
    (0.738105872266, 0.972268833998), (0.824444363295, 0.889624082279),
    (0.894792677532, 0.792494155836), (0.939395486253, 0.681546643421),
    (0.96111933829, 0.562238253072), (0.970579841181, 0.441758925744),
    (0.971193274221, 0.322118743967), (0.163846223133, 0.249151738053),
    (0.21780354657, 0.204255863861), (0.291299351124, 0.192367318323),
    (0.367460241458, 0.203582210627), (0.4392945113, 0.233135599851),
    (0.586445962425, 0.228141644834), (0.660152671635, 0.195923841854),
    (0.737466449096, 0.182360984545), (0.813236546239, 0.192828009114),
    (0.8707571886, 0.235293377042), (0.51534533827, 0.31863546193),
    (0.516221448289, 0.396200446263), (0.517118861835, 0.473797687758),
    (0.51816430343, 0.553157797772), (0.433701156035, 0.604054457668),
    (0.475501237769, 0.62076344024), (0.520712933176, 0.634268222208),
    (0.565874114041, 0.618796581487), (0.607054002672, 0.60157671656),
    (0.252418718401, 0.331052263829), (0.298663015648, 0.302646354002),
    (0.355749724218, 0.303020650651), (0.403718978315, 0.33867711083),
    (0.352507175597, 0.349987615384), (0.296791759886, 0.350478978225),
    (0.631326076346, 0.334136672344), (0.679073381078, 0.29645404267),
    (0.73597236153, 0.294721285802), (0.782865376271, 0.321305281656),
    (0.740312274764, 0.341849376713), (0.68499850091, 0.343734332172),
    (0.353167761422, 0.746189164237), (0.414587777921, 0.719053835073),
    (0.477677654595, 0.706835892494), (0.522732900812, 0.717092275768),
    (0.569832064287, 0.705414478982), (0.635195811927, 0.71565572516),
    (0.69951672331, 0.739419187253), (0.639447159575, 0.805236879972),
    (0.576410514055, 0.835436670169), (0.525398405766, 0.841706377792),
    (0.47641545769, 0.837505914975), (0.41379548902, 0.810045601727),
    (0.380084785646, 0.749979603086), (0.477955996282, 0.74513234612),
    (0.523389793327, 0.748924302636), (0.571057789237, 0.74332894691),
    (0.672409137852, 0.744177032192), (0.572539621444, 0.776609286626),
    (0.5240106503, 0.783370783245), (0.477561227414, 0.778476346951)])

N_POINTS = 68
EYE_L = list(range(36, 42))          # the eye on the image's left
EYE_R = list(range(42, 48))
BROWS = list(range(17, 27))
NOSE = list(range(27, 36))
EYE_CORNERS = [36, 39, 42, 45]
RIGID = NOSE + EYE_CORNERS           # points the alignment is fitted on
MOUTH_CORNERS = [48, 54]
MOUTH_CENTRE = [62, 66]              # inner lip midpoints; their mean drops by half the lip gap
INNER_LIP_PAIRS = [(61, 67), (62, 66), (63, 65)]       # (upper, lower)
EYELID_PAIRS = [(37, 41), (38, 40), (43, 47), (44, 46)]  # (upper, lower)

# Per-frame measures, in IOD units unless said otherwise (heights: up is positive).
MEASURES = [
    "mouth_open",      # mean gap between the inner lips
    "mouth_width",     # corner to corner
    "mouth_corner",    # corners' height above the mouth centre (smile > 0 > frown); an open
                       # mouth raises it too (the centre drops by half the lip gap)
    "brow_height",     # brows' height above the eye corners
    "eye_open",        # mean gap between the eyelids
    "head_roll",       # in-plane rotation of the face in the frame, degrees
    "face_size",       # inter-ocular distance in source pixels
]


def _canonical() -> np.ndarray:
    t = _TEMPLATE.astype(np.float64)
    left, right = t[EYE_L].mean(0), t[EYE_R].mean(0)
    d = right - left
    angle = np.arctan2(d[1], d[0])
    c, s = np.cos(-angle), np.sin(-angle)
    rot = np.array([[c, -s], [s, c]])
    centred = (t - (left + right) / 2) @ rot.T
    return centred / np.hypot(*d)


CANONICAL = _canonical()   # (68, 2) float64: level eyes at (-0.5, 0) and (0.5, 0)


def _complex(points: np.ndarray) -> np.ndarray:
    return points[..., 0] + 1j * points[..., 1]


def similarity_to_canonical(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame similarity mapping `points` (T, 68, 2) onto CANONICAL (least squares on RIGID).

    Returns (a, b), complex (T,): aligned z = a * z + b with z = x + iy; |a| is the scale
    (canonical units per pixel) and arg(a) the rotation.
    """
    z = _complex(np.asarray(points, dtype=np.float64)[:, RIGID])
    w = _complex(CANONICAL[RIGID])
    zm, wm = z.mean(axis=1, keepdims=True), w.mean()
    zc, wc = z - zm, w - wm
    a = (np.conj(zc) * wc).sum(axis=1) / (np.abs(zc) ** 2).sum(axis=1)
    b = wm - a * zm[:, 0]
    return a, b


def align(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Align (T, 68, 2) points to the canonical frame.

    Returns (aligned (T, 68, 2) float64 in IOD units, roll in degrees (T,), IOD in pixels (T,)).
    """
    points = np.asarray(points, dtype=np.float64)
    if len(points) == 0:
        return np.zeros((0, N_POINTS, 2)), np.zeros(0), np.zeros(0)
    a, b = similarity_to_canonical(points)
    z = a[:, None] * _complex(points) + b[:, None]
    aligned = np.stack([z.real, z.imag], axis=-1)
    roll = -np.degrees(np.angle(a))
    return aligned, roll, 1.0 / np.abs(a)


def _gap(p: np.ndarray, pairs: list[tuple[int, int]]) -> np.ndarray:
    up = p[:, [i for i, _ in pairs]]
    lo = p[:, [j for _, j in pairs]]
    return np.linalg.norm(lo - up, axis=-1).mean(axis=1)


def analyse(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Aligned points (T, 68, 2) and per-frame measures (T, len(MEASURES)) of source points."""
    p, roll, iod = align(points)
    y = p[..., 1]
    cols = {
        "mouth_open": _gap(p, INNER_LIP_PAIRS),
        "mouth_width": np.linalg.norm(p[:, 54] - p[:, 48], axis=-1),
        "mouth_corner": y[:, MOUTH_CENTRE].mean(axis=1) - y[:, MOUTH_CORNERS].mean(axis=1),
        "brow_height": y[:, EYE_CORNERS].mean(axis=1) - y[:, BROWS].mean(axis=1),
        "eye_open": _gap(p, EYELID_PAIRS),
        "head_roll": roll,
        "face_size": iod,
    }
    return p, np.stack([cols[m] for m in MEASURES], axis=1).reshape(len(p), len(MEASURES))


def point_names() -> list[str]:
    """Names of flattened (68, 2) points: x00, y00, x01, y01, ..."""
    return [f"{c}{i:02d}" for i in range(N_POINTS) for c in "xy"]


ROI_BOX_PX = 110       # near a tracked face the detector sees it at about this box width
ROI_SPAN = 2.5         # ... in a window of this many box widths around it
LOST_WAIT = 6          # frames a lost face is looked for near where it was before a full search
MIN_IOD_PX = 10.0      # landmarks of a smaller face (inter-ocular distance, source px) are dropped
REGION = re.compile(r"^x(\d+)-(\d+)$")      # video_side x<a>-<b>: source columns [a, b)


def side_columns(side: str, width: int) -> tuple[int, int] | None:
    """Source columns [a, b) of a `video_side` in a frame `width` px wide (None: not a side)."""
    fixed, m = {"left": (0, width // 2), "right": (width // 2, width), "full": (0, width)}, \
        REGION.match(str(side))
    if side in fixed or not m or int(m.group(1)) >= int(m.group(2)):
        return fixed.get(side)
    a = min(int(m.group(1)), width - 1)
    return a, max(a + 1, min(int(m.group(2)), width))


def scale_ladder(first: float, last: float) -> list[float]:
    """The detector scales of the search: `first`, doubled while below `last`, then `last`."""
    out, s = [], float(first)
    while s < last - 1e-9:
        out.append(s)
        s *= 2
    return out + [float(last)]


def _iod(pts: np.ndarray) -> float:
    return float(np.linalg.norm(pts[EYE_R].mean(0) - pts[EYE_L].mean(0)))


def _too_small(pts: np.ndarray) -> bool:
    """_iod(pts) < MIN_IOD_PX, cheaply: integer points make the eye centres exact in any order
    of summing; near the threshold the norm is _iod's."""
    d = pts[42:48].sum(axis=0) / 6 - pts[36:42].sum(axis=0) / 6
    iod = math.hypot(float(d[0]), float(d[1]))
    return (iod if abs(iod - MIN_IOD_PX) > 1e-6 else _iod(pts)) < MIN_IOD_PX


_NOT_DIGITS = str.maketrans("", "", "points[]()")


def points_of(shape) -> np.ndarray:
    """(68, 2) float64 of a dlib full_object_detection: its text "points[(x, y), ...]" read at
    once (a third of the cost of 68 point objects), else point by point."""
    pts = np.fromstring(str(shape.parts()).translate(_NOT_DIGITS), dtype=np.float64, sep=",")
    if pts.size != 2 * shape.num_parts:
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
    return pts.reshape(-1, 2)


class FaceTracker:
    """The face of one utterance, frame after frame: detect every k-th frame, track between.

    Detection searches scales: first `detect_scale` (fast; faces >= ~80 / detect_scale px wide),
    then, where it finds nothing, larger scales up to `max_detect_scale` (`scale_ladder`), the
    scale that worked first; a re-detection near a tracked small face looks only in a window
    around it, at the scale that makes it ~ROI_BOX_PX wide (a face detect_scale finds: the
    whole image at detect_scale, as without the search). A face lost (turned away, covered) is
    looked for where it was, and at detect_scale, for LOST_WAIT frames before the scales are
    searched (once a face was found: those up to twice its scale, as a speaker moves little in
    a turn); after a search that found nothing the next waits (detect_every frames, doubling),
    so neither a head turn nor a span without a face costs much. Everything is per utterance
    (no state is shared between spans), so each row depends on its own frames only.

    `cfg` has detect_scale, max_detect_scale, detect_every and track (the face extractor's
    config); dlib and OpenCV are imported on first use, so importing this module stays light."""

    def __init__(self, cfg, detector, predictor):
        self.cfg, self.detector, self.predictor = cfg, detector, predictor
        self.box = None          # dlib.rectangle for the next frame, None = detect
        self.since = 0           # frames since the last detection
        self.anchor = None       # (box centre, box size, landmark centroid, landmark scale)
        self.corr = None         # dlib.correlation_tracker (track: correlation)
        self.shape = None        # dlib.full_object_detection of the last face found
        self.ladder = scale_ladder(cfg.detect_scale, cfg.max_detect_scale)
        self.found = None        # the scale that found this span's face
        self.misses = 0          # full searches in a row that found nothing
        self.wait = 0            # frames until the next full search
        self.last = None         # box of the last face found (re-detection looks there first)
        self.missed = 0          # frames without a face at any scale tried
        self.small = 0           # frames whose face was too small for the landmarks

    def _at(self, img: np.ndarray, s: float, x0: int = 0, y0: int = 0):
        """Largest face of `img` scaled by `s` (its box in `img` pixels + (x0, y0)), or None."""
        import cv2
        import dlib
        small = img if s == 1 else cv2.resize(
            img, (max(1, round(img.shape[1] * s)), max(1, round(img.shape[0] * s))),
            interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
        rects = self.detector(small, 0)
        if not rects:
            return None
        r = max(rects, key=lambda r: (r.width() * r.height(), -r.top(), -r.left()))
        return dlib.rectangle(round(r.left() / s) + x0, round(r.top() / s) + y0,
                              round(r.right() / s) + x0, round(r.bottom() / s) + y0)

    def _near_scale(self, box) -> float:
        w = max(box.width(), box.height(), 1)
        return float(np.clip(ROI_BOX_PX / w, self.cfg.detect_scale, self.cfg.max_detect_scale))

    def _near(self, img: np.ndarray, box, tried: set):
        """The face in a window around `box`, at the scale that makes it ~ROI_BOX_PX wide
        (None at once when the whole image was tried at that scale already)."""
        s, w = self._near_scale(box), max(box.width(), box.height(), 1)
        cx, cy = (box.left() + box.right()) / 2, (box.top() + box.bottom()) / 2
        half = ROI_SPAN * w / 2
        x0, y0 = max(0, int(cx - half)), max(0, int(cy - half))
        x1, y1 = min(img.shape[1], int(cx + half)), min(img.shape[0], int(cy + half))
        if s in tried or x1 - x0 < 8 or y1 - y0 < 8:
            return None
        return self._at(np.ascontiguousarray(img[y0:y1, x0:x1]), s, x0, y0)

    def _quick(self, img: np.ndarray, box, tried: set):
        """The face again near a known one: on the whole image at detect_scale while that is
        the scale that finds it (as without the search), else in a window around it (and from
        then on there)."""
        first = self.cfg.detect_scale
        if self.found == first:
            tried.add(first)
            r = self._at(img, first)
            if r is not None:
                return r
        r = self._near(img, box, tried)
        if r is not None and self.found == first:
            self.found = self._near_scale(box)
        return r

    def detect(self, img: np.ndarray):
        """A face box in `img` pixels (the scale search above), or None."""
        first, tried = self.cfg.detect_scale, set()
        known = self.box if self.box is not None else self.last
        if known is not None:                          # re-detection near the face last seen
            r = self._quick(img, known, tried)
            if r is not None:
                return r
            if self.box is not None:                   # just lost (turned, covered): search
                self.wait = max(self.wait, LOST_WAIT)  # the whole image only a while later
        order = self.ladder if self.found is None else \
            [self.found] + [s for s in self.ladder if s != self.found and s <= 2 * self.found]
        if self.wait > 0:                              # waiting: only the cheap first scale
            self.wait -= 1
            order = [first]
        for s in order:
            if s in tried:
                continue
            r = self._at(img, s)
            if r is not None:
                self.found, self.misses = s, 0
                return r
        if len(order) > 1:                             # the scales searched: back off
            self.wait = self.cfg.detect_every * 2 ** min(self.misses, 4) - 1
            self.misses += 1
        return None

    def step(self, img: np.ndarray):
        """Landmarks (68, 2) float64 in `img` pixels, or None when no face is found."""
        import dlib
        if self.box is None or self.since >= self.cfg.detect_every:
            box = self.detect(img)
            if box is None:
                self.box = None
                self.missed += 1
                return None
            self.since = 0
            if self.cfg.track == "correlation":
                self.corr = dlib.correlation_tracker()
                self.corr.start_track(img, box)
        elif self.cfg.track == "correlation":
            self.corr.update(img)
            r = self.corr.get_position()
            box = dlib.rectangle(round(r.left()), round(r.top()), round(r.right()),
                                 round(r.bottom()))
        else:
            box = self.box
        shape = self.predictor(img, box)
        pts = points_of(shape)
        if _too_small(pts):
            self.box = None
            self.small += 1
            return None
        self._follow(box, pts)
        self.shape, self.last = shape, box
        return pts

    def why_none(self) -> str:
        """Why this span has no face (for the failure manifest)."""
        if self.small and self.small >= self.missed:
            return f"face too small to fit landmarks (inter-ocular distance < {MIN_IOD_PX:g} px)"
        lo, hi = self.ladder[0], self.ladder[-1]
        scales = f"{lo:g}x" if lo == hi else f"{lo:g}x to {hi:g}x"
        return (f"no face found at any detector scale ({scales}; dlib's frontal detector: "
                f"face turned away, hidden, or smaller than ~{80 / hi:.0f} px)")

    def _follow(self, box, pts: np.ndarray) -> None:
        """Box for the next frame: the detection box moved and scaled with the head (the rigid
        landmarks: nose and eye corners), not with the expression (an open jaw)."""
        import dlib
        rigid = pts[RIGID]
        c = rigid.mean(axis=0)
        s = float(np.sqrt(((rigid - c) ** 2).sum(axis=1).mean()))
        cx, cy = float(c[0]), float(c[1])
        if self.since == 0:
            self.anchor = ((box.left() + box.right()) / 2, (box.top() + box.bottom()) / 2,
                           float(box.width()), float(box.height()), cx, cy, s)
        self.since += 1                  # NumPy's 2-vector arithmetic, a coordinate at a time:
        x0, y0, w, h, ax, ay, a_s = self.anchor
        x, y = x0 + (cx - ax), y0 + (cy - ay)                # the same float64 values
        hw, hh = w * (s / a_s) / 2, h * (s / a_s) / 2
        self.box = dlib.rectangle(round(x - hw), round(y - hh), round(x + hw), round(y + hh))
