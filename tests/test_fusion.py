"""Decision fusion: voting on hand-made tables; stacking never sees its test fold."""
import numpy as np
import pytest

from empathic.fusion import (LeakageError, Predictions, Stacking, fit_vote_weights, hard_vote,
                             out_of_fold, soft_vote, weighted_soft_vote)

# 3 members, 3 rows, 3 classes
TABLE = np.array([
    [[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.4, 0.4, 0.2]],
    [[0.1, 0.8, 0.1], [0.3, 0.3, 0.4], [0.1, 0.2, 0.7]],
    [[0.5, 0.4, 0.1], [0.1, 0.1, 0.8], [0.3, 0.6, 0.1]],
])


def test_soft_vote_by_hand():
    p = soft_vote(TABLE)
    assert p[0] == pytest.approx([1.2 / 3, 1.5 / 3, 0.3 / 3])
    assert p.argmax(axis=1).tolist() == [1, 2, 1]


def test_weighted_soft_vote_by_hand():
    p = weighted_soft_vote(TABLE, [0.5, 0.25, 0.25])
    assert p[0] == pytest.approx([0.3 + 0.025 + 0.125, 0.15 + 0.2 + 0.1, 0.05 + 0.025 + 0.025])
    with pytest.raises(ValueError):
        weighted_soft_vote(TABLE, [0.5, 0.5, 0.5])


def test_hard_vote_by_hand_and_tie_breaks():
    # row 0: votes class 0, 1, 0 -> 0 (majority, although soft voting picks 1)
    # row 1: votes 1, 2, 2 -> 2
    # row 2: member 0 argmax is class 0 (first of a 0.4/0.4 tie), votes 0, 2, 1 -> three-way tie;
    #        summed probability 0.8, 1.2, 1.0 -> class 1
    assert hard_vote(TABLE).tolist() == [0, 2, 1]
    # exact tie in votes and in summed probability -> the lower class index
    sym = np.array([[[0.7, 0.3]], [[0.3, 0.7]]])
    assert hard_vote(sym).tolist() == [0]


def test_fit_vote_weights_prefers_the_informative_member():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    good = np.full((300, 3), 0.1)
    good[np.arange(300), y] = 0.8
    noise = rng.dirichlet(np.ones(3), 300)
    w = fit_vote_weights(np.stack([noise, good]), y)
    assert w.sum() == pytest.approx(1.0)
    assert w[1] > 0.9


def test_tables_are_validated():
    with pytest.raises(ValueError):
        soft_vote(np.ones((2, 3, 3)))          # rows do not sum to 1
    with pytest.raises(ValueError):
        soft_vote(np.ones((3, 3)) / 3)          # not (members, rows, classes)


# --- stacking --------------------------------------------------------------------------------

SESSIONS = ["S1", "S2", "S3", "S4"]


def _world(seed=0, n_per=60, k=3):
    """Rows of 4 sessions: a label and two members' noisy views of it."""
    rng = np.random.default_rng(seed)
    sessions = np.repeat(SESSIONS, n_per)
    y = rng.integers(0, k, sessions.size)
    feats = np.eye(k)[y][None] * np.array([2.0, 0.5])[:, None, None] + rng.normal(
        size=(2, sessions.size, k))
    return sessions, y, feats


def _members_fit_predict(feats, y):
    """Members are nearest-class-mean classifiers fitted on the given rows."""
    def fit_predict(train, pred):
        out = []
        for f in feats:
            means = np.stack([f[train][y[train] == c].mean(axis=0) for c in range(f.shape[1])])
            d = -((f[pred][:, None, :] - means[None]) ** 2).sum(axis=2)
            e = np.exp(d - d.max(axis=1, keepdims=True))
            out.append(e / e.sum(axis=1, keepdims=True))
        return np.stack(out)
    return fit_predict


def _honest_tables(test="S4"):
    sessions, y, feats = _world()
    fp = _members_fit_predict(feats, y)
    train_rows = np.flatnonzero(sessions != test)
    test_rows = np.flatnonzero(sessions == test)
    oof, order = out_of_fold(("a", "b"), sessions[train_rows],
                             lambda tr, pr: fp(train_rows[tr], train_rows[pr]))
    y_oof = y[train_rows][order]
    test_pred = Predictions.from_models(("a", "b"), fp(train_rows, test_rows), sessions[test_rows],
                                        set(sessions[train_rows].tolist()))
    return oof, y_oof, test_pred, y[test_rows]


def test_out_of_fold_rows_never_seen_by_their_members():
    oof, _, _, _ = _honest_tables()
    assert oof.session_set() == {"S1", "S2", "S3"}
    for s, seen in zip(oof.sessions, oof.seen):
        assert s not in seen and "S4" not in seen


def test_honest_stacking_passes_and_learns():
    oof, y_oof, test_pred, y_test = _honest_tables()
    st = Stacking().fit(oof, y_oof, scored_sessions=["S4"])
    p = st.predict_proba(test_pred)
    assert p.shape == (len(y_test), 3)
    assert p.sum(axis=1) == pytest.approx(np.ones(len(y_test)))
    assert (p.argmax(axis=1) == y_test).mean() > 0.6


def test_leaking_design_fitted_on_scored_rows_fails():
    """The flaw of the original system: meta-learner fitted on the predictions it is scored on."""
    _, _, test_pred, y_test = _honest_tables()
    with pytest.raises(LeakageError):
        Stacking().fit(test_pred, y_test, scored_sessions=["S4"])
    # not declaring the scored sessions at fit time does not get around it: predicting fails
    st = Stacking().fit(test_pred, y_test, scored_sessions=["S9"])
    with pytest.raises(LeakageError):
        st.predict_proba(test_pred)


def test_leaking_design_in_sample_training_predictions_fails():
    """Meta-training rows predicted by members trained on those same rows are not out-of-fold."""
    sessions, y, feats = _world()
    train_rows = np.flatnonzero(sessions != "S4")
    fp = _members_fit_predict(feats, y)
    in_sample = Predictions.from_models(("a", "b"), fp(train_rows, train_rows), sessions[train_rows],
                                        set(sessions[train_rows].tolist()))
    with pytest.raises(LeakageError):
        Stacking().fit(in_sample, y[train_rows], scored_sessions=["S4"])


def test_members_that_saw_the_test_session_are_refused():
    sessions, y, feats = _world()
    fp = _members_fit_predict(feats, y)
    everything = np.arange(sessions.size)
    oof, order = out_of_fold(("a", "b"), sessions, fp)       # inner folds include S4
    with pytest.raises(LeakageError):
        Stacking().fit(oof, y[order], scored_sessions=["S4"])
    honest_oof, y_oof, _, _ = _honest_tables()
    st = Stacking().fit(honest_oof, y_oof, scored_sessions=["S4"])
    test_rows = np.flatnonzero(sessions == "S4")
    trained_on_all = Predictions.from_models(("a", "b"), fp(everything, test_rows),
                                             sessions[test_rows], SESSIONS)
    with pytest.raises(LeakageError):
        st.predict_proba(trained_on_all)


def test_stacking_state_round_trip_matches_sklearn():
    from sklearn.linear_model import LogisticRegression

    oof, y_oof, test_pred, _ = _honest_tables()
    st = Stacking().fit(oof, y_oof, scored_sessions=["S4"])
    again = Stacking.from_state(st.state())
    assert again.predict_proba(test_pred) == pytest.approx(st.predict_proba(test_pred))
    ref = LogisticRegression(max_iter=2000).fit(Stacking._features(oof), y_oof)
    assert st.predict_proba(test_pred) == pytest.approx(
        ref.predict_proba(Stacking._features(test_pred)), abs=1e-6)
    with pytest.raises(LeakageError):         # the guard survives the round trip
        again.predict_proba(Predictions.concat([test_pred, oof]))
