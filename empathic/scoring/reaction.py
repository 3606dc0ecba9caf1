"""Frame-level facial reaction scores, as the REACT 2023/2024 challenges compute them.

A reaction is a (T, F) sequence (frames x features); a model gives K reactions per input, so
`generated` is (N, K, T, F) ((N, T, F) reads as K = 1); `real` (M, T, F) holds the real listener
reactions (usually one per test pair, M = N) and `appropriate` (N, M) bool marks those that count
as right for input n. Inputs must be finite (interpolate or drop missing frames first) and share
T. Each metric returns the mean over inputs, or with `per_input=True` the (N,) values it averages
(for paired comparisons). Rules; REACT = baseline_react2024 `metric/*.py`:

- `ccc`: Lin's 2 cov / (var_a + var_b + (mean_a - mean_b)^2), population moments, per feature,
  then the mean over features. A zero denominator (both constant and equal, to 1e-10 relative)
  scores 1, so ccc(a, a) == 1 always. REACT adds 1e-8 to the denominator instead (a constant
  feature scores 0 there, or NaN through np.corrcoef).
- `fr_corr`: per generated reaction the largest CCC against an appropriate real reaction, mean
  over the K. REACT SUMS over its 10 (ground truth ~8.35 there): divide its figures by 10.
- `fr_dist`: per generated reaction the smallest DTW distance to an appropriate real reaction,
  mean over the K (REACT sums over the 10 here too). DTW is multivariate like REACT's (tslearn):
  local cost the squared Euclidean distance between frames, steps (1,0) (0,1) (1,1), no window,
  value sqrt(minimal path cost). REACT sums such DTWs over feature groups with weights (AUs 1/15,
  valence-arousal 1, expressions 1/8); `groups` [(start, stop, weight), ...] does the same,
  default one group of all features, weight 1.
- `fr_div`: over ordered pairs a != b of one input's K reactions, the mean squared difference
  per element (= 2 x the variance over K, ddof 1, averaged over frames and features).
- `fr_dvs`: the same between inputs (reaction k of n against reaction k of every m != n), mean
  over k; per input its mean against the others, whose mean is REACT's figure.
- `fr_var`: variance over time (ddof 1, torch.var as in REACT), mean over features and reactions.
- `fr_syn`: per reaction |lag| of the peak, over lags -max_lag..max_lag, of the time-lagged
  cross-correlation with the speaker: Pearson per feature of reaction[t + lag] with speaker[t]
  on the overlap, mean over the features where defined; ties go to the smaller |lag|. REACT uses
  +-(2 s x 25 fps - 1). A reaction that never moves has no peak: NaN, and so is any mean over it.
- `appropriateness`: pair i's appropriate reactions are its own and those of every pair j whose
  speaker descriptor is within `threshold` of i's (<=): the RMS difference over the columns
  that vary over the N rows, each z-scored over them (ddof 0; constant columns are left out),
  so `threshold` is in standard deviations whatever D. Symmetric, monotone in the threshold;
  `quantile_threshold` gives the q-quantile of the off-diagonal distances as one. With
  `max_count`, row i keeps at most that many: its own and the nearest others (ties by index),
  so that neither the measure (a closest match among more candidates is closer) nor its cost
  grows with the number of pairs. REACT ships its matrices precomputed
  (neighbour_emotion_*.npy, from similar speaker behaviour).
- `frame_nme`: the standard NME (`landmarks.row_nme`) of every frame, mean over frames.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist

from . import landmarks

_REL = 1e-10  # a std below _REL * max(1, |mean|) is a constant sequence


def _arr(x, ndims, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim not in ndims:
        raise ValueError(f"{name}: expected {' or '.join(f'{d}-d' for d in ndims)}, got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} has non-finite values (interpolate or drop missing frames)")
    return x


def _gen(generated) -> np.ndarray:
    g = _arr(generated, (3, 4), "generated")
    return g[:, None] if g.ndim == 3 else g


def _out(per: np.ndarray, per_input: bool):
    return per if per_input else float(np.mean(per))


def _ccc_moments(ma, va, mb, vb, cov) -> np.ndarray:
    den = va + vb + (ma - mb) ** 2
    tiny = (_REL * np.maximum(1.0, np.maximum(np.abs(ma), np.abs(mb)))) ** 2
    return np.where(den > tiny, 2.0 * cov / np.where(den > tiny, den, 1.0), 1.0)


def ccc_features(a, b) -> np.ndarray:
    """Per-feature CCC of (..., T, F) sequences along T (broadcast), shape (..., F)."""
    a, b = (x[:, None] if x.ndim == 1 else x for x in (_arr(a, range(1, 8), "a"),
                                                       _arr(b, range(1, 8), "b")))
    ma, mb = a.mean(-2), b.mean(-2)
    cov = ((a - ma[..., None, :]) * (b - mb[..., None, :])).mean(-2)
    return _ccc_moments(ma, a.var(-2), mb, b.var(-2), cov)


def ccc(a, b) -> float:
    """CCC of two (T, F) (or (T,)) sequences: per feature, then the mean over features."""
    return float(np.mean(ccc_features(a, b)))


def _check(generated, real, appropriate):
    g, r = _gen(generated), _arr(real, (3,), "real")
    a = np.asarray(appropriate, dtype=bool)
    if a.shape != (g.shape[0], r.shape[0]) or g.shape[2:] != r.shape[1:]:
        raise ValueError(f"shapes disagree: generated {g.shape}, real {r.shape}, "
                         f"appropriate {a.shape}")
    if not a.any(axis=1).all():
        raise ValueError("an input has no appropriate real reaction")
    return g, r, a


def fr_corr(generated, real, appropriate, per_input: bool = False):
    """Mean over the K reactions of the best CCC against an appropriate real reaction."""
    g, r, a = _check(generated, real, appropriate)
    gm, gv, rm, rv = g.mean(2), g.var(2), r.mean(1), r.var(1)
    gc, rc = g - gm[:, :, None], r - rm[:, None]
    per = np.empty(len(g))
    for n, idx in enumerate(a):
        cov = np.einsum("ktf,mtf->kmf", gc[n], rc[idx]) / g.shape[2]
        c = _ccc_moments(gm[n][:, None], gv[n][:, None], rm[idx][None], rv[idx][None], cov)
        per[n] = c.mean(-1).max(1).mean()
    return _out(per, per_input)


def _dtw_paths(cost: np.ndarray) -> np.ndarray:
    """Minimal DTW path cost of each (B, T, U) local-cost matrix, by anti-diagonals: the
    cells (i, s - i) of diagonal s depend only on diagonals s - 1 and s - 2 (batch axis last,
    so every step is a contiguous slice)."""
    b, t, u = cost.shape
    s = np.arange(t + u + 1)[:, None]
    i = np.arange(t + 1)[None, :]
    j = s - i
    skew = np.ascontiguousarray(cost.transpose(1, 2, 0))[np.clip(i - 1, 0, t - 1),
                                                         np.clip(j - 1, 0, u - 1)]
    skew[~((i >= 1) & (j >= 1) & (j <= u))] = np.inf      # (T+U+1, T+1, B), cell (i, s - i)
    prev2, prev1, cur = (np.full((t + 1, b), np.inf) for _ in range(3))
    prev2[0] = 0.0                         # diagonal 0: the origin; diagonal 1: borders only
    tmp = np.empty((t, b))
    for d in range(2, t + u + 1):
        np.minimum(np.minimum(prev1[:-1], prev1[1:], out=tmp), prev2[:-1], out=tmp)
        np.add(skew[d, 1:], tmp, out=cur[1:])
        prev2, prev1, cur = prev1, cur, prev2
        cur[0] = np.inf
    return prev1[t]


def _dtw_batch(x: np.ndarray, y: np.ndarray, groups) -> np.ndarray:
    """Grouped DTW distance of each pair x[b] (T, F), y[b] (U, F): sum of weight x sqrt(path)."""
    out = np.zeros(len(x))
    for lo, hi, w in groups:
        xs, ys = x[..., lo:hi], y[..., lo:hi]
        cost = np.matmul(xs, ys.transpose(0, 2, 1))       # |x|^2 + |y|^2 - 2 x.y, in place
        cost *= -2.0
        cost += (xs ** 2).sum(-1)[:, :, None]
        cost += (ys ** 2).sum(-1)[:, None, :]
        out += w * np.sqrt(_dtw_paths(np.maximum(cost, 0.0, out=cost)))
    return out


def _groups(groups, f: int):
    return [(0, f, 1.0)] if groups is None else [(int(a), int(b), float(w)) for a, b, w in groups]


def dtw(x, y, groups=None) -> float:
    """DTW distance between two sequences (T, F) and (U, F) (the rule in the module doc)."""
    x, y = _arr(x, (2,), "x"), _arr(y, (2,), "y")
    return float(_dtw_batch(x[None], y[None], _groups(groups, x.shape[1]))[0])


def fr_dist(generated, real, appropriate, groups=None, per_input: bool = False,
            chunk_cells: int = 4_000_000):
    """Mean over the K reactions of the smallest DTW distance to an appropriate real reaction."""
    g, r, a = _check(generated, real, appropriate)
    n_in, k, t, f = g.shape
    grp = _groups(groups, f)
    pn, pm = np.nonzero(a)                      # (input, real) pairs, input-major
    gi = np.repeat(pn, k) * k + np.tile(np.arange(k), len(pn))
    ri = np.repeat(pm, k)
    flat, d = g.reshape(n_in * k, t, f), np.empty(len(gi))
    step = max(1, chunk_cells // (t * t))
    for lo in range(0, len(gi), step):
        d[lo:lo + step] = _dtw_batch(flat[gi[lo:lo + step]], r[ri[lo:lo + step]], grp)
    starts = np.searchsorted(pn, np.arange(n_in))
    best = np.minimum.reduceat(d.reshape(len(pn), k), starts, axis=0)   # (N, K)
    return _out(best.mean(1), per_input)


def fr_div(generated, per_input: bool = False):
    """Mean pairwise squared difference between the K reactions of each input (needs K >= 2)."""
    g = _gen(generated)
    if g.shape[1] < 2:
        raise ValueError("fr_div needs at least 2 reactions per input")
    return _out(2.0 * g.var(axis=1, ddof=1).mean(axis=(1, 2)), per_input)


def fr_dvs(generated, per_input: bool = False):
    """Mean squared difference between reaction k of one input and of every other (N >= 2)."""
    g = _gen(generated)
    n = g.shape[0]
    if n < 2:
        raise ValueError("fr_dvs needs at least 2 inputs")
    sq = ((g - g.mean(axis=0)) ** 2).mean(axis=(2, 3))          # (N, K): ||z_nk - mean_k||^2 / TF
    per = (n * sq + sq.sum(axis=0)) / (n - 1)                  # sum over m of ||z_n - z_m||^2
    return _out(per.mean(axis=1), per_input)


def fr_var(generated, per_input: bool = False):
    """Variance over time (ddof 1), mean over features and reactions."""
    return _out(_gen(generated).var(axis=2, ddof=1).mean(axis=(1, 2)), per_input)


def _pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson along axis -2, per feature; NaN where either side is constant."""
    mx, my = x.mean(-2, keepdims=True), y.mean(-2, keepdims=True)
    xc, yc = x - mx, y - my
    sx, sy = np.sqrt((xc ** 2).mean(-2)), np.sqrt((yc ** 2).mean(-2))
    flat = ((sx <= _REL * np.maximum(1.0, np.abs(mx[..., 0, :])))
            | (sy <= _REL * np.maximum(1.0, np.abs(my[..., 0, :]))))
    r = (xc * yc).mean(-2) / np.where(flat, 1.0, sx * sy)
    return np.where(flat, np.nan, r)


def synchrony_lags(generated, speaker, max_lag: int) -> np.ndarray:
    """(N, K) signed lag of the cross-correlation peak; > 0: the reaction follows the speaker."""
    g, s = _gen(generated), _arr(speaker, (3,), "speaker")
    if s.shape != (g.shape[0],) + g.shape[2:]:
        raise ValueError(f"speaker {s.shape} does not match generated {g.shape}")
    t = g.shape[2]
    if not 0 <= max_lag <= t - 3:
        raise ValueError(f"max_lag {max_lag} leaves fewer than 3 overlapping frames of {t}")
    lags = sorted(range(-max_lag, max_lag + 1), key=lambda v: (abs(v), v))
    rs = np.empty((len(lags),) + g.shape[:2])
    with np.errstate(invalid="ignore", divide="ignore"):
        for q, lag in enumerate(lags):
            gg = g[:, :, lag:] if lag >= 0 else g[:, :, :lag]
            ss = s[:, None, :t - lag] if lag >= 0 else s[:, None, -lag:]
            r = _pearson(gg, ss)
            ok = ~np.isnan(r)
            rs[q] = np.where(ok.any(-1), np.where(ok, r, 0).sum(-1) / np.maximum(ok.sum(-1), 1),
                             -np.inf)
    peak = np.asarray(lags, dtype=np.float64)[np.argmax(rs, axis=0)]
    return np.where(np.isinf(rs).all(axis=0), np.nan, peak)


def fr_syn(generated, speaker, max_lag: int, per_input: bool = False):
    """Mean |lag| of the cross-correlation peak with the speaker within +-max_lag frames."""
    return _out(np.abs(synchrony_lags(generated, speaker, max_lag)).mean(axis=1), per_input)


def speaker_distances(speaker_features) -> np.ndarray:
    """(N, N) RMS distance between rows over the columns that vary, each z-scored."""
    x = _arr(speaker_features, (2,), "speaker_features")
    mu, sd = x.mean(axis=0), x.std(axis=0)
    varies = sd > _REL * np.maximum(1.0, np.abs(mu))
    z = np.where(varies, (x - mu) / np.where(varies, sd, 1.0), 0.0)
    return cdist(z, z) / np.sqrt(max(1, int(varies.sum())))


def appropriateness(speaker_features, threshold: float, max_count: int | None = None
                    ) -> np.ndarray:
    """(N, N) bool: row i marks pair i's own reaction and every pair within `threshold`; with
    `max_count`, only its own and the nearest of those, at most `max_count` in all."""
    if not threshold >= 0:
        raise ValueError(f"threshold must be >= 0, got {threshold}")
    if max_count is not None and not max_count >= 1:
        raise ValueError(f"max_count must be >= 1, got {max_count}")
    d = speaker_distances(speaker_features)
    a = d <= threshold
    np.fill_diagonal(a, True)
    if max_count is not None and len(d) > max_count:
        np.fill_diagonal(d, -1.0)                  # its own first, then by distance and index
        rank = np.argsort(np.argsort(d, axis=1, kind="stable"), axis=1)
        a &= rank < max_count
    return a


def quantile_threshold(speaker_features, q: float) -> float:
    """The q-quantile (0..1) of the off-diagonal speaker distances, as a threshold."""
    if not 0 <= q <= 1:
        raise ValueError(f"quantile must be in [0, 1], got {q}")
    d = speaker_distances(speaker_features)
    off = d[~np.eye(len(d), dtype=bool)]
    return float(np.quantile(off, q)) if off.size else 0.0


def n_appropriate(appropriate) -> np.ndarray:
    """(N,) how many real reactions count as appropriate for each input (its own included)."""
    return np.asarray(appropriate, dtype=bool).sum(axis=1)


def frame_nme(pred, true, reference=None) -> np.ndarray:
    """(...,) mean over frames of each frame's standard NME, for (..., T, 136) shapes; with
    `reference` (..., 136), pred and true are displacements from it."""
    p, t = np.asarray(pred, dtype=np.float64), np.asarray(true, dtype=np.float64)
    if reference is not None:
        ref = np.asarray(reference, dtype=np.float64)[..., None, :]
        p, t = p + ref, t + ref
    p, t = np.broadcast_arrays(p, t)
    e = landmarks.row_nme(p.reshape(-1, p.shape[-1]), t.reshape(-1, t.shape[-1]))
    return e.reshape(p.shape[:-1]).mean(axis=-1)
