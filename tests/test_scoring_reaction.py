"""Reaction scores (empathic/scoring/reaction.py) on small hand-computed cases."""
import numpy as np
import pytest

from empathic.extractors.facegeom import CANONICAL
from empathic.scoring import landmarks as L
from empathic.scoring import reaction as R


def _naive_dtw(x, y):
    """Textbook double-loop DTW: sqrt of the minimal sum of squared frame distances."""
    x, y = np.atleast_2d(np.asarray(x, float).T).T, np.atleast_2d(np.asarray(y, float).T).T
    d = np.full((len(x) + 1, len(y) + 1), np.inf)
    d[0, 0] = 0.0
    for i in range(1, len(x) + 1):
        for j in range(1, len(y) + 1):
            c = np.sum((x[i - 1] - y[j - 1]) ** 2)
            d[i, j] = c + min(d[i - 1, j], d[i, j - 1], d[i - 1, j - 1])
    return np.sqrt(d[-1, -1])


def _col(*v):
    return np.asarray(v, float)[:, None]  # (T, 1)


# --- CCC ---------------------------------------------------------------------------------------

def test_ccc_by_hand():
    a = _col(1, 2, 3)  # mean 2, population variance 2/3
    assert R.ccc(a, a) == pytest.approx(1.0)
    # negated: cov -2/3, den 2/3 + 2/3 + (2 - -2)^2 = 52/3 -> -4/3 / 52/3 = -1/13
    assert R.ccc(a, -a) == pytest.approx(-1 / 13)
    # negated about a zero mean: exactly -1
    assert R.ccc(a - 2, 2 - a) == pytest.approx(-1.0)
    # shifted mean by 1: cov 2/3, den 4/3 + 1 -> 4/7 (Pearson would say 1)
    assert R.ccc(a, a + 1) == pytest.approx(4 / 7)
    # features averaged: (1 + 4/7) / 2
    assert R.ccc(np.hstack([a, a]), np.hstack([a, a + 1])) == pytest.approx(11 / 14)
    assert R.ccc([1.0, 2.0, 3.0], [2.0, 3.0, 4.0]) == pytest.approx(4 / 7)  # 1-d reads as F = 1


def test_ccc_zero_variance_rule():
    c = _col(0.1, 0.1, 0.1)
    assert R.ccc(c, c) == 1.0                    # both constant and equal: 1 (ccc(a, a) == 1)
    assert R.ccc(c, c + 1) == pytest.approx(0.0)  # both constant, different: 0
    assert R.ccc(c, _col(1, 2, 3)) == pytest.approx(0.0)  # one constant: cov 0
    with pytest.raises(ValueError):
        R.ccc(_col(1, np.nan, 3), _col(1, 2, 3))


# --- DTW ---------------------------------------------------------------------------------------

def test_dtw_by_hand():
    # x = 0 1 2, y = 0 2; squared costs [[0, 4], [1, 1], [4, 0]]
    # D11 0, D12 4, D21 1, D22 1 + min(0, 4, 1) = 1, D31 4 + 1 = 5, D32 0 + min(1, 1, 5) = 1
    assert R.dtw(_col(0, 1, 2), _col(0, 2)) == pytest.approx(1.0)
    # x = 0 2 0, y = 0 0: the peak cannot be skipped, every path pays 4 once -> sqrt(4) = 2
    assert R.dtw(_col(0, 2, 0), _col(0, 0)) == pytest.approx(2.0)
    # a warped copy costs nothing (Euclidean would not be 0)
    assert R.dtw(_col(0, 0, 1), _col(0, 1, 1)) == pytest.approx(0.0)
    assert R.dtw(_col(0, 1, 2, 3), _col(0, 0, 1, 2, 3)) == pytest.approx(0.0)
    # x = 2 3 4 vs y = 1 2 3: best path (1,1) 1, (1,2) 0, (2,3) 0, (3,3) 1 -> sqrt(2)
    assert R.dtw(_col(2, 3, 4), _col(1, 2, 3)) == pytest.approx(np.sqrt(2))


def test_dtw_multivariate_and_groups():
    x, y = np.array([[0.0, 0.0], [3.0, 4.0]]), np.array([[0.0, 0.0], [0.0, 0.0]])
    # multivariate: frame (3, 4) costs 9 + 16 = 25 once on the best path -> 5
    assert R.dtw(x, y) == pytest.approx(5.0)
    # REACT-style groups: 1 x sqrt(9) + 0.5 x sqrt(16) = 5; per feature weight 1: 3 + 4 = 7
    assert R.dtw(x, y, groups=[(0, 1, 1.0), (1, 2, 0.5)]) == pytest.approx(5.0)
    assert R.dtw(x, y, groups=[(0, 1, 1.0), (1, 2, 1.0)]) == pytest.approx(7.0)


def test_dtw_matches_the_double_loop():
    rng = np.random.default_rng(0)
    for t, u, f in [(7, 7, 3), (5, 9, 2), (12, 4, 1), (1, 6, 2)]:
        x, y = rng.normal(size=(t, f)), rng.normal(size=(u, f))
        assert R.dtw(x, y) == pytest.approx(_naive_dtw(x, y), rel=1e-9)
        assert R.dtw(x, y) == pytest.approx(R.dtw(y, x), rel=1e-9)
    assert R.dtw(x, x) == pytest.approx(0.0, abs=1e-6)


# --- FRCorr / FRDist ---------------------------------------------------------------------------

def _two_pairs():
    a = _col(1, 2, 3)
    real = np.stack([a, a + 1])                 # (M=2, T=3, F=1)
    generated = np.stack([real, real])          # every input gets both real reactions, K=2
    return generated, real


def test_fr_corr_and_fr_dist_by_hand():
    generated, real = _two_pairs()
    own = np.eye(2, dtype=bool)
    # input 0, own only: reaction 0 is real 0 (CCC 1), reaction 1 is real 0 + 1 (CCC 4/7)
    assert R.fr_corr(generated, real, own, per_input=True) == pytest.approx([11 / 14, 11 / 14])
    assert R.fr_corr(generated, real, own) == pytest.approx(11 / 14)
    # DTW between (2 3 4) and (1 2 3) is sqrt(2) (test_dtw_by_hand)
    assert R.fr_dist(generated, real, own, per_input=True) == pytest.approx([np.sqrt(2) / 2] * 2)
    # both appropriate for both: each reaction finds itself
    both = np.ones((2, 2), bool)
    assert R.fr_corr(generated, real, both) == pytest.approx(1.0)
    assert R.fr_dist(generated, real, both) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError):
        R.fr_corr(generated, real, np.array([[True, False], [False, False]]))


def test_fr_dist_brute_force_chunking_and_determinism():
    rng = np.random.default_rng(1)
    n, k, t, f = 5, 3, 8, 2
    gen, real = rng.normal(size=(n, k, t, f)), rng.normal(size=(n, t, f))
    app = np.eye(n, dtype=bool) | (rng.random((n, n)) < 0.4)
    want = [np.mean([min(_naive_dtw(gen[i, j], real[m]) for m in np.flatnonzero(app[i]))
                     for j in range(k)]) for i in range(n)]
    got = R.fr_dist(gen, real, app, per_input=True)
    assert got == pytest.approx(want, rel=1e-9)
    assert np.array_equal(got, R.fr_dist(gen, real, app, per_input=True))
    assert R.fr_dist(gen, real, app, per_input=True, chunk_cells=1) == pytest.approx(got)
    ccc_want = [np.mean([max(R.ccc(gen[i, j], real[m]) for m in np.flatnonzero(app[i]))
                         for j in range(k)]) for i in range(n)]
    assert R.fr_corr(gen, real, app, per_input=True) == pytest.approx(ccc_want)


# --- diversity ---------------------------------------------------------------------------------

def test_fr_div_by_hand():
    same = np.tile(_col(1, 5, 2), (3, 2, 1, 1))   # (N=3, K=2, T=3, F=1), identical reactions
    assert R.fr_div(same) == 0.0
    # two reactions 0 0 and 1 3: squared differences 1 and 9, mean over elements 5
    two = np.stack([_col(0, 0), _col(1, 3)])[None]
    assert R.fr_div(two) == pytest.approx(5.0)
    rng = np.random.default_rng(2)
    g = rng.normal(size=(2, 4, 5, 3))
    naive = [np.mean([np.mean((g[i, a] - g[i, b]) ** 2) for a in range(4) for b in range(4)
                      if a != b]) for i in range(2)]
    assert R.fr_div(g, per_input=True) == pytest.approx(naive)
    with pytest.raises(ValueError):
        R.fr_div(g[:, :1])


def test_fr_dvs_and_fr_var_by_hand():
    # inputs 0 0 and 1 3 (K = 1): mean squared difference 5, for both inputs
    g = np.stack([_col(0, 0), _col(1, 3)])[:, None]
    assert R.fr_dvs(g) == pytest.approx(5.0)
    assert R.fr_dvs(g, per_input=True) == pytest.approx([5.0, 5.0])
    rng = np.random.default_rng(3)
    g = rng.normal(size=(4, 3, 5, 2))
    per = [np.mean([np.mean((g[i, k] - g[m, k]) ** 2) for k in range(3) for m in range(4)
                    if m != i]) for i in range(4)]
    assert R.fr_dvs(g, per_input=True) == pytest.approx(per)
    assert R.fr_dvs(g) == pytest.approx(np.mean(per))
    # variance over time, ddof 1: 1 2 3 -> 1; a still face -> 0
    assert R.fr_var(_col(1, 2, 3)[None, None]) == pytest.approx(1.0)
    assert R.fr_var(np.zeros((2, 3, 4, 5))) == 0.0


# --- synchrony ---------------------------------------------------------------------------------

def _signal(t, f, seed=4):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(t + 40, f))
    kernel = np.ones(5) / 5
    return np.stack([np.convolve(x[:, i], kernel, mode="same") for i in range(f)], axis=1)


def test_fr_syn_finds_the_shift():
    t, f = 60, 3
    base = _signal(t, f)
    speaker = base[20:20 + t]
    late = base[15:15 + t]       # late[t] = speaker[t - 5]: the reaction follows by 5 frames
    early = base[23:23 + t]      # early[t] = speaker[t + 3]: it anticipates by 3
    gen = np.stack([late, early, speaker])[None]          # (1, K=3, T, F)
    lags = R.synchrony_lags(gen, speaker[None], max_lag=10)
    assert lags.tolist() == [[5.0, -3.0, 0.0]]
    assert R.fr_syn(gen, speaker[None], max_lag=10) == pytest.approx(8 / 3)
    # a lag beyond the window is not found at its true value
    assert R.synchrony_lags(late[None, None], speaker[None], max_lag=4)[0, 0] != 5.0


def test_fr_syn_still_face_is_nan_and_bad_lag_raises():
    speaker = _signal(30, 2)[:30]
    still = np.zeros((1, 2, 30, 2))
    assert np.isnan(R.synchrony_lags(still, speaker[None], 5)).all()
    assert np.isnan(R.fr_syn(still, speaker[None], 5))
    with pytest.raises(ValueError):
        R.fr_syn(still, speaker[None], 28)


# --- appropriateness ---------------------------------------------------------------------------

def test_appropriateness_four_pairs():
    # descriptors -3 -1 1 3: mean 0, std sqrt(5); neighbours 2/sqrt5 = 0.89 apart, then 1.79, 2.68
    x = np.array([[-3.0], [-1.0], [1.0], [3.0]])
    d = R.speaker_distances(x)
    assert d[0, 1] == pytest.approx(2 / np.sqrt(5)) and d[0, 3] == pytest.approx(6 / np.sqrt(5))
    assert np.array_equal(R.appropriateness(x, 0.0), np.eye(4, dtype=bool))  # own always
    band1 = R.appropriateness(x, 1.0)
    assert np.array_equal(band1, np.abs(np.subtract.outer(range(4), range(4))) <= 1)
    assert R.n_appropriate(band1).tolist() == [2, 3, 3, 2]
    assert R.n_appropriate(R.appropriateness(x, 2.0)).tolist() == [3, 4, 4, 3]
    assert R.appropriateness(x, 3.0).all()
    # monotone in the threshold, symmetric
    prev = np.zeros((4, 4), bool)
    for th in np.linspace(0, 3, 13):
        a = R.appropriateness(x, th)
        assert np.all(a >= prev) and np.array_equal(a, a.T)
        prev = a
    # RMS over the varying columns: a copied or a constant column changes nothing, nor do units
    assert R.speaker_distances(np.hstack([x, x, np.full((4, 1), 0.1)])) == pytest.approx(d)
    assert R.speaker_distances(1000 * x + 7) == pytest.approx(d)
    assert R.quantile_threshold(x, 0.0) == pytest.approx(2 / np.sqrt(5))
    assert R.appropriateness(x, R.quantile_threshold(x, 1.0)).all()
    with pytest.raises(ValueError):
        R.appropriateness(x, -1.0)


def test_appropriateness_keeps_its_own_and_the_nearest_up_to_max_count():
    x = np.array([[-3.0], [-1.0], [1.0], [3.0]])
    assert np.array_equal(R.appropriateness(x, 3.0, 4), R.appropriateness(x, 3.0))
    y = np.array([[0.0], [1.0], [3.0], [7.0]])
    two = R.appropriateness(y, 3.0, 2)        # own + the nearest
    assert np.array_equal(two, np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]],
                                        bool))
    assert np.array_equal(R.appropriateness(x, 3.0, 1), np.eye(4, dtype=bool))   # own always
    assert np.array_equal(R.appropriateness(x, 1.0, 3), R.appropriateness(x, 1.0))  # the band first
    dup = np.zeros((5, 2))                     # all alike: distance 0 everywhere
    one = R.appropriateness(dup, 0.0, 1)
    assert np.array_equal(one, np.eye(5, dtype=bool))      # its own, not an earlier twin
    assert R.appropriateness(dup, 0.0, 2)[3].tolist() == [1, 0, 0, 1, 0]   # ties: lower index
    rng = np.random.default_rng(3)
    big = rng.normal(size=(300, 6))
    capped = R.appropriateness(big, R.quantile_threshold(big, 0.3), 20)
    assert R.n_appropriate(capped).max() == 20 and capped.diagonal().all()
    full = R.appropriateness(big, R.quantile_threshold(big, 0.3))
    assert not (capped & ~full).any()          # a subset of the band
    d = R.speaker_distances(big)
    for i in (0, 150, 299):                    # the kept are the nearest of the band
        kept = np.flatnonzero(capped[i] & (np.arange(300) != i))
        dropped = np.flatnonzero(full[i] & ~capped[i])
        assert not dropped.size or d[i, kept].max() <= d[i, dropped].min()
    with pytest.raises(ValueError):
        R.appropriateness(x, 1.0, 0)


# --- NME and determinism -----------------------------------------------------------------------

def test_frame_nme_reuses_landmarks():
    shape = CANONICAL.reshape(-1)                      # (136,), unit outer-corner scale
    rng = np.random.default_rng(5)
    true = shape + 0.01 * rng.normal(size=(2, 4, 136))  # (N=2, T=4, 136)
    pred = true + 0.02
    got = R.frame_nme(pred, true)
    assert got.shape == (2,)
    assert got[0] == pytest.approx(L.nme(pred[0], true[0]))
    disp_p, disp_t = pred - shape, true - shape
    assert R.frame_nme(disp_p, disp_t, reference=np.tile(shape, (2, 1))) == pytest.approx(got)
    assert R.frame_nme(true, true) == pytest.approx([0.0, 0.0])


def test_every_metric_is_deterministic():
    rng = np.random.default_rng(6)
    gen, real, spk = rng.normal(size=(4, 3, 20, 2)), rng.normal(size=(4, 20, 2)), rng.normal(
        size=(4, 20, 2))
    app = R.appropriateness(rng.normal(size=(4, 3)), 1.0)

    def run():
        return [R.fr_corr(gen, real, app), R.fr_dist(gen, real, app), R.fr_div(gen),
                R.fr_dvs(gen), R.fr_var(gen), R.fr_syn(gen, spk, 5)]
    first, second = run(), run()
    assert first == second and all(np.isfinite(first))
