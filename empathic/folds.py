"""Evaluation protocols written out as folds: the sessions of train, val and test per fold.

    folds = make_folds(["Ses01", ..., "Ses05"], "loso-session", val_sessions=1)
    for fold in select_folds(folds, prm["split"]["folds"]): ...

Leave-one-session-out (`loso-session`): each session is the test set once; validation is the
`val_sessions` sessions that follow the test session (cyclically), so it comes from the
training sessions only; on IEMOCAP and KEMDy every session has its own speakers, so each fold
is speaker-independent.
"""
from __future__ import annotations

from typing import Callable, Iterable

from .errors import ParamError

# The smallest data the protocol is meant for. Below it `train` and `evaluate` print a warning,
# the metrics report lists it and no comparison is claimed (README "Reading the results").
MIN_SESSIONS = 4          # a test, a validation and at least two training sessions per fold
MIN_TEST_DIALOGUES = 5    # dialogues in every fold's test sessions (the resampling units)


def loso_session(sessions: list[str], val_sessions: int) -> list[dict]:
    """One fold per session: test = it, val = the next `val_sessions` (cyclic), train = rest."""
    n = len(sessions)
    if n < val_sessions + 2:
        raise ParamError(
            f"split.val_sessions={val_sessions} needs at least {val_sessions + 2} sessions for "
            f"loso-session (test, val and at least one training session); the corpus has {n}: "
            f"{sessions}")
    folds = []
    for i, test in enumerate(sessions):
        rest = [sessions[(i + k) % n] for k in range(1, n)]
        folds.append({"name": test, "train": sorted(rest[val_sessions:]),
                      "val": rest[:val_sessions], "test": [test]})
    return folds


SCHEMES: dict[str, Callable[[list[str], int], list[dict]]] = {"loso-session": loso_session}


def make_folds(sessions: Iterable[str], scheme: str = "loso-session", val_sessions: int = 1) -> dict:
    """The folds.json document for the given sessions (order-independent, deterministic);
    `scheme` and `val_sessions` as the schema allows them (split.scheme, split.val_sessions)."""
    sessions = sorted(set(sessions))
    return {"protocol": scheme, "val_sessions": val_sessions,
            "folds": SCHEMES[scheme](sessions, val_sessions)}


def select_folds(folds: dict, selection: str | list[str]) -> list[dict]:
    """The folds named by `split.folds`: 'all', one fold name, or a list of fold names (the
    schema's: non-empty, of strings).

    Folds come back in folds.json order; a name this corpus has no fold of is a ParamError
    listing the known ones.
    """
    names = [f["name"] for f in folds["folds"]]
    if selection == "all":
        return list(folds["folds"])
    wanted = [selection] if isinstance(selection, str) else selection
    unknown = [w for w in wanted if w not in names]
    if unknown:
        raise ParamError(f"param 'split.folds' names unknown folds {unknown}; folds are {names}")
    return [f for f in folds["folds"] if f["name"] in wanted]


def size_warnings(sessions, dialogues, folds: list[dict]) -> list[str]:
    """Why these rows are below the minimum (empty when they are not).

    `sessions` and `dialogues` are per-row arrays (session and dialogue key of every usable
    row); `folds` the folds that run.
    """
    sessions, dialogues = list(map(str, sessions)), list(map(str, dialogues))
    out = []
    n = len(set(sessions))
    if n < MIN_SESSIONS:
        out.append(f"{n} sessions with usable rows (the minimum is {MIN_SESSIONS})")
    small = []
    for fold in folds:
        test = set(fold["test"])
        k = len({d for s, d in zip(sessions, dialogues) if s in test})
        if k < MIN_TEST_DIALOGUES:
            small.append(f"{fold['name']} {k}")
    if small:
        out.append(f"dialogues in the test sessions of fold {', '.join(small)} (the minimum is "
                   f"{MIN_TEST_DIALOGUES} per fold)")
    return out
