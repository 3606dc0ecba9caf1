"""Paired comparisons, selection on validation, and a new task that needs no runner change."""
import json

import numpy as np
import pytest

from empathic.scoring import compare
from empathic.training import evaluate, runner
from empathic.training.data import FeatureBank, Tables
from empathic.training.task import Task

import synthetic
from toy_task import ToyTask


def _mean(x):
    return float(np.mean(x))


def test_identical_predictors_delta_zero_p_one():
    err = np.random.default_rng(0).random(60)
    groups = np.repeat(np.arange(6), 10)
    c = compare.paired(_mean, [(err,)], [(err.copy(),)], groups, higher_is_better=False,
                       n_boot=200)
    assert c["delta"] == 0 and c["ci95"] == [0.0, 0.0] and c["p"] == 1.0 and not c["better"]


def test_better_on_every_session_gives_an_interval_above_zero():
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(8), 12)
    hits_a = (rng.random(len(groups)) < 0.9).astype(float)     # a: right 90 % everywhere
    hits_b = (rng.random(len(groups)) < 0.5).astype(float)     # b: a coin
    for g in range(8):                                          # a better in every session
        m = groups == g
        assert hits_a[m].mean() > hits_b[m].mean()
    c = compare.paired(_mean, [(hits_a,), (hits_a,)], [(hits_b,)], groups, higher_is_better=True,
                       n_boot=300)
    assert c["delta"] == pytest.approx(hits_a.mean() - hits_b.mean())
    assert c["ci95"][0] > 0 and c["p"] < 0.01 and c["better"] and c["n_groups"] == 8


class _Tie(Task):
    name, selection = "tie", ("score", True)


def test_selection_ties_broken_by_validation_loss_then_order():
    t = _Tie.__new__(_Tie)
    sel = {"b": [0.5, 0.5], "a": [0.5, 0.5], "c": [0.4, 0.4]}
    best, info = evaluate.select(t, sel, {"a": [0.3], "b": [0.2], "c": [0.1]}, ["a", "b", "c"])
    assert best == "b" and info["ties"] == ["b", "a"]           # equal score: lower val loss
    best, info = evaluate.select(t, sel, {"a": [0.2], "b": [0.2], "c": [0.1]}, ["a", "b", "c"])
    assert best == "a"                                          # then the declared order


def test_interval_and_p_never_disagree():
    """The interval excludes 0 exactly when p < 0.05 (both from one set of resamples), also
    at the edges: a few resamples on the wrong side of 0, all of them, none."""
    rng = np.random.default_rng(3)
    for n in (41, 200, 999, 1000, 1001):
        for wrong in range(0, int(0.06 * n) + 2):
            boots = np.concatenate([-rng.random(wrong), rng.random(n - wrong) + 1e-9])
            lo, hi, p = compare.interval_and_p(boots)
            assert (lo > 0 or hi < 0) == (p < 0.05), (n, wrong, lo, hi, p)
    for effect in (0.0, 0.02, 0.05, 0.1, 0.2):
        groups = np.repeat(np.arange(12), 8)
        a = (rng.random(len(groups)) < 0.6 + effect).astype(float)
        b = (rng.random(len(groups)) < 0.6).astype(float)
        c = compare.paired(_mean, [(a,)], [(b,)], groups, higher_is_better=True, n_boot=400)
        assert c["excludes_zero"] == (c["p"] < 0.05) and c["better"] <= c["excludes_zero"]
    with pytest.raises(ValueError, match="too few"):
        compare.interval_and_p(np.ones(40))


def test_size_warnings_name_sessions_and_thin_test_folds():
    from empathic.folds import MIN_SESSIONS, MIN_TEST_DIALOGUES, make_folds, size_warnings
    names = [f"Ses{i:02d}" for i in range(1, MIN_SESSIONS + 1)]
    folds = make_folds(names)["folds"]
    sessions = np.repeat(names, MIN_TEST_DIALOGUES * 3)
    dialogues = [f"{s}_d{i % MIN_TEST_DIALOGUES}" for i, s in enumerate(sessions)]
    assert size_warnings(sessions, dialogues, folds) == []
    thin = [d if s != "Ses02" else "Ses02_only" for s, d in zip(sessions, dialogues)]
    w = size_warnings(sessions, thin, folds)
    assert w == [f"dialogues in the test sessions of fold Ses02 1 (the minimum is "
                 f"{MIN_TEST_DIALOGUES} per fold)"]
    few = size_warnings(sessions[sessions != "Ses04"], [d for s, d in zip(sessions, dialogues)
                                                        if s != "Ses04"], folds[:3])
    assert few[0] == f"3 sessions with usable rows (the minimum is {MIN_SESSIONS})"


def test_a_new_task_is_only_a_class(tmp_path, capsys):
    c = synthetic.generate(n_pairs=60, sessions=3, dims={"text": 8, "audio": 4, "video": 4},
                           seed=5)
    synthetic.write(c, tmp_path)
    cfg = {"inputs": ["text"], "hidden": 8, "layers": 1, "dropout": 0.0, "fusion": "concat",
           "lr": 0.01, "weight_decay": 0.0, "batch_size": 32, "epochs": 4, "patience": 2,
           "seed": None, "seeds": 2, "device": "cpu"}
    prm = {"base": {"seed": 0}, "split": {"folds": "all", "refit": True},
           "training": {"executor": "processes", "workers": 1}, "tasks": {"toy": cfg}}
    task = ToyTask(prm)
    tables, bank = Tables.load(tmp_path / "data/pairs"), FeatureBank(tmp_path / "features")
    runner.train(task, tables, bank, tmp_path / "models", tmp_path / "live", progress=False)
    doc = evaluate.evaluate(task, tables, bank, tmp_path / "models", tmp_path / "toy.json", None)
    assert doc["seeds"] == [0, 1] and doc["best"] == "text_only"
    assert "(models refit on train + val" in doc["protocol"]
    assert len(doc["models"]["text_only"]["mse"]["per_seed"]) == 2
    assert set(doc["comparisons"]) == {"text_only vs train_mean"}
    # 3 sessions (one resampling unit per test fold) are below the minimum: warned, not claimed
    err = capsys.readouterr().err
    assert "warning: toy: too little data for the protocol: 3 sessions" in err
    assert doc["warnings"][0].startswith("3 sessions with usable rows")
    c = doc["comparisons"]["text_only vs train_mean"]
    assert not c["better"] and c["withheld"].startswith("below the minimum")
    head = json.loads((tmp_path / "toy/table/train_mean.json").read_text())
    assert head["vs_best"]["better"] is False and "per_fold" not in json.dumps(head)
    from stages.report import claims
    assert "Supported" not in claims(doc) and "not claimed" in claims(doc)
    assert (tmp_path / "live/plots/metrics/learning_curves.png").is_file()
    summary = (tmp_path / "models/summary.json").read_text()
    assert '"refit_on"' in summary
