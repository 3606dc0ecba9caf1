"""Voting ensembles over members' class-probability tables of shape (M members, N rows, K classes).

- ``soft_vote``: mean of the members' probabilities.
- ``weighted_soft_vote``: weighted mean; ``fit_vote_weights`` fits the weights on validation
  rows by maximum likelihood of the mixture (EM on the simplex: convex, deterministic).
- ``hard_vote``: each member votes its argmax; ties between classes with equally many votes go
  to the class with the larger summed probability, then to the lower class index.
"""
from __future__ import annotations

import numpy as np

_EPS = 1e-12


def check_table(probs) -> np.ndarray:
    """Validate an (M, N, K) probability table and return it as float64."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 3 or p.shape[0] < 1 or p.shape[2] < 2:
        raise ValueError(f"expected (members, rows, classes) probabilities, got shape {p.shape}")
    if not np.isfinite(p).all() or (p < 0).any():
        raise ValueError("probabilities must be finite and non-negative")
    if not np.allclose(p.sum(axis=2), 1.0, atol=1e-4):
        raise ValueError("each member's probabilities must sum to 1 over the classes")
    return p


def soft_vote(probs) -> np.ndarray:
    """(N, K) mean probability over members."""
    return check_table(probs).mean(axis=0)


def weighted_soft_vote(probs, weights) -> np.ndarray:
    """(N, K) weighted mean probability; `weights` (M,) non-negative, summing to 1."""
    p = check_table(probs)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (p.shape[0],) or (w < 0).any() or not np.isclose(w.sum(), 1.0):
        raise ValueError(f"weights must be {p.shape[0]} non-negative numbers summing to 1, got {w}")
    return np.tensordot(w, p, axes=1)


def fit_vote_weights(probs, y, iters: int = 500, tol: float = 1e-10) -> np.ndarray:
    """Member weights maximising the mixture likelihood of the true labels `y` (validation rows).

    EM for mixture weights: w_m <- mean_n(w_m p_m[n, y_n] / sum_k w_k p_k[n, y_n]), from equal
    weights. The objective is concave in w, so the result does not depend on the start.
    """
    p = check_table(probs)
    y = np.asarray(y, dtype=np.int64)
    if y.shape != (p.shape[1],):
        raise ValueError(f"{y.shape[0]} labels for {p.shape[1]} rows")
    if y.size == 0:
        raise ValueError("no validation rows to fit the vote weights on")
    lik = p[:, np.arange(y.size), y] + _EPS          # (M, N): each member's probability of the truth
    w = np.full(p.shape[0], 1.0 / p.shape[0])
    for _ in range(iters):
        resp = w[:, None] * lik
        new = (resp / resp.sum(axis=0, keepdims=True)).mean(axis=1)
        done = np.abs(new - w).max() < tol
        w = new
        if done:
            break
    return w / w.sum()


def hard_vote(probs) -> np.ndarray:
    """(N,) class chosen by majority of the members' argmax votes (deterministic tie-break)."""
    p = check_table(probs)
    m, n, k = p.shape
    votes = np.zeros((n, k))
    np.add.at(votes, (np.arange(n)[None, :].repeat(m, 0), p.argmax(axis=2)), 1.0)
    # Votes are whole numbers and the tie-breaker lies in [0, 0.5]: it only orders equal votes;
    # argmax takes the lowest index among exact ties.
    return np.argmax(votes + 0.5 * p.mean(axis=0), axis=1)
