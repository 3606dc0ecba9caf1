"""Stacking with a leakage guard: the meta-learner learns only from out-of-fold predictions of
training sessions and is never fitted on rows of the sessions it is scored on.

The published system this replaces fitted its stacking meta-learner on the predictions of its
own test set. Here every prediction table carries its provenance, and the API refuses what
would leak:

- ``Predictions``: members' probabilities (M, N, K) for N rows, each row's session, and for each
  row the sessions the predicting member models were trained (or validated) on (``seen``).
- ``out_of_fold``: builds the meta-training table from the training sessions: for each of them,
  members are trained on the others and predict it.
- ``Stacking.fit(oof, y, scored_sessions)`` raises ``LeakageError`` when a meta-training row
  belongs to a scored session, when a row was predicted by a member that saw its own session
  (in-sample, not out-of-fold), or when a member saw a scored session.
- ``Stacking.predict_proba(pred)`` raises when a scored row's session was used to fit the
  meta-learner, was not declared as scored at fit time, or was seen by its members.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression

from ..errors import EmpathicError
from .voting import check_table

_FLOOR = 1e-6


class LeakageError(EmpathicError):
    """A fusion step would learn from rows it is scored on."""


@dataclass(frozen=True)
class Predictions:
    """Members' class probabilities for a set of rows, with the provenance of each row."""

    members: tuple[str, ...]
    probs: np.ndarray                     # (M, N, K)
    sessions: np.ndarray                  # (N,) session of each row
    seen: tuple[frozenset, ...]           # (N,) sessions the members behind row i trained on

    def __post_init__(self):
        p = check_table(self.probs)
        object.__setattr__(self, "probs", p)
        object.__setattr__(self, "sessions", np.asarray(self.sessions, dtype=object))
        object.__setattr__(self, "members", tuple(self.members))
        object.__setattr__(self, "seen", tuple(frozenset(s) for s in self.seen))
        if len(self.members) != p.shape[0]:
            raise ValueError(f"{len(self.members)} member names for {p.shape[0]} tables")
        if self.sessions.shape != (p.shape[1],) or len(self.seen) != p.shape[1]:
            raise ValueError("sessions and seen need one entry per row")

    @classmethod
    def from_models(cls, members: Sequence[str], probs, sessions, seen: Iterable[str]):
        """All rows predicted by the same members, trained on the sessions `seen`."""
        seen = frozenset(seen)
        return cls(tuple(members), probs, sessions, (seen,) * np.asarray(sessions).shape[0])

    @classmethod
    def concat(cls, parts: Sequence["Predictions"]) -> "Predictions":
        if not parts or any(p.members != parts[0].members for p in parts):
            raise ValueError("need one or more tables with the same members")
        return cls(parts[0].members, np.concatenate([p.probs for p in parts], axis=1),
                   np.concatenate([p.sessions for p in parts]),
                   tuple(s for p in parts for s in p.seen))

    def session_set(self) -> set:
        return set(self.sessions.tolist())


def out_of_fold(members: Sequence[str], sessions, fit_predict: Callable) -> tuple[Predictions, np.ndarray]:
    """Out-of-fold predictions over the training rows, one held-out session at a time.

    `sessions` (N,) gives each training row's session. `fit_predict(train_idx, pred_idx)` trains
    the members on rows `train_idx` only and returns their probabilities (M, len(pred_idx), K)
    on rows `pred_idx`. Returns the table (rows in held-out-session order) and the row indices
    into the input, so the caller can order labels the same way.
    """
    sessions = np.asarray(sessions, dtype=object)
    names = sorted(set(sessions.tolist()))
    if len(names) < 2:
        raise ValueError("out-of-fold predictions need two or more training sessions")
    parts, order = [], []
    for s in names:
        held = np.flatnonzero(sessions == s)
        train = np.flatnonzero(sessions != s)
        probs = fit_predict(train, held)
        parts.append(Predictions.from_models(members, probs, sessions[held],
                                             set(sessions[train].tolist())))
        order.append(held)
    return Predictions.concat(parts), np.concatenate(order)


class Stacking:
    """Logistic-regression meta-learner on the members' log-probabilities."""

    def __init__(self, C: float = 1.0, seed: int = 0):
        self.C, self.seed = C, seed
        self.fit_sessions: set | None = None
        self.scored_sessions: set | None = None

    @staticmethod
    def _features(pred: Predictions) -> np.ndarray:
        logp = np.log(np.clip(pred.probs, _FLOOR, 1.0))             # (M, N, K)
        return logp.transpose(1, 0, 2).reshape(logp.shape[1], -1)    # (N, M*K)

    def fit(self, oof: Predictions, y, scored_sessions: Iterable[str]) -> "Stacking":
        scored = set(scored_sessions)
        if not scored:
            raise LeakageError("stacking: name the scored (test) sessions, so fitting can "
                               "check it never sees them")
        rows = oof.session_set()
        if rows & scored:
            raise LeakageError(f"stacking: meta-learner would be fitted on rows of the scored "
                               f"sessions {sorted(rows & scored)}")
        in_sample = [s for s, seen in zip(oof.sessions, oof.seen) if s in seen]
        if in_sample:
            raise LeakageError(f"stacking: {len(in_sample)} meta-training rows were predicted by "
                               f"members trained on their own session (not out-of-fold)")
        if any(seen & scored for seen in oof.seen):
            raise LeakageError("stacking: members behind the out-of-fold predictions were trained "
                               "on scored sessions")
        y = np.asarray(y, dtype=np.int64)
        if y.shape != (oof.probs.shape[1],):
            raise ValueError(f"{y.shape[0]} labels for {oof.probs.shape[1]} rows")
        self.n_classes = oof.probs.shape[2]
        self.members = oof.members
        model = LogisticRegression(C=self.C, max_iter=2000, random_state=self.seed)
        model.fit(self._features(oof), y)
        self.classes_ = model.classes_.astype(np.int64)
        self.coef_, self.intercept_ = model.coef_, model.intercept_
        self.fit_sessions, self.scored_sessions = rows, scored
        return self

    def state(self) -> dict:
        """JSON-ready state: members, sessions (fitted on / scored) and the meta-learner."""
        return {"members": list(self.members), "n_classes": int(self.n_classes), "C": self.C,
                "fit_sessions": sorted(self.fit_sessions),
                "scored_sessions": sorted(self.scored_sessions),
                "classes": self.classes_.tolist(), "coef": self.coef_.tolist(),
                "intercept": self.intercept_.tolist()}

    @classmethod
    def from_state(cls, s: dict) -> "Stacking":
        st = cls(C=s["C"])
        st.members, st.n_classes = tuple(s["members"]), int(s["n_classes"])
        st.fit_sessions, st.scored_sessions = set(s["fit_sessions"]), set(s["scored_sessions"])
        st.classes_ = np.asarray(s["classes"], dtype=np.int64)
        st.coef_, st.intercept_ = np.asarray(s["coef"]), np.asarray(s["intercept"])
        return st

    def _meta_proba(self, x: np.ndarray) -> np.ndarray:
        """scikit-learn's LogisticRegression.predict_proba from the stored coefficients."""
        z = x @ self.coef_.T + self.intercept_
        if z.shape[1] == 1:                                  # two classes: one logit
            z = np.hstack([np.zeros_like(z), z])
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict_proba(self, pred: Predictions) -> np.ndarray:
        """(N, K) fused probabilities for rows of the scored sessions declared at fit time."""
        if self.fit_sessions is None:
            raise RuntimeError("stacking: fit before predict")
        if pred.members != self.members:
            raise ValueError(f"members {pred.members} differ from the fitted {self.members}")
        rows = pred.session_set()
        if rows & self.fit_sessions:
            raise LeakageError(f"stacking: scored rows of sessions {sorted(rows & self.fit_sessions)} "
                               f"were used to fit the meta-learner")
        if not rows <= self.scored_sessions:
            raise LeakageError(f"stacking: sessions {sorted(rows - self.scored_sessions)} were not "
                               f"declared as scored at fit time")
        if any(s in seen for s, seen in zip(pred.sessions, pred.seen)):
            raise LeakageError("stacking: scored rows were predicted by members trained on them")
        out = np.zeros((pred.probs.shape[1], self.n_classes))
        out[:, self.classes_] = self._meta_proba(self._features(pred))
        return out
