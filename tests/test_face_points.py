"""facegeom's fast readings of dlib's landmarks equal the slow ones (the face tracker's inputs)."""
from __future__ import annotations

import dlib
import numpy as np
import skimage.data

from empathic.extractors import facegeom as G
from empathic.extractors.face import predictor_path


def test_points_of_reads_dlibs_points_as_point_by_point():
    img = np.ascontiguousarray(skimage.data.astronaut().mean(axis=2).astype(np.uint8))
    predictor = dlib.shape_predictor(str(predictor_path()))
    seen_negative = False
    for box in (dlib.rectangle(150, 40, 330, 220), dlib.rectangle(-60, -50, 40, 50)):
        shape = predictor(img, box)
        slow = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
        fast = G.points_of(shape)
        assert fast.dtype == slow.dtype and fast.shape == (68, 2)
        assert fast.tobytes() == slow.tobytes()
        seen_negative |= bool((slow < 0).any())
    assert seen_negative                      # negative coordinates are read too


def test_too_small_is_iod_below_the_threshold():
    rng = np.random.default_rng(3)
    for scale in (1.0, 0.3, 0.1, 0.05):
        for _ in range(200):
            pts = np.round(rng.normal(100, 40 * scale, (68, 2)))
            assert G._too_small(pts) == (G._iod(pts) < G.MIN_IOD_PX)
    at = np.zeros((68, 2))
    at[42:48, 0] = 10.0                       # the eye centres exactly MIN_IOD_PX apart
    assert G._too_small(at) == (G._iod(at) < G.MIN_IOD_PX)
