"""Task `reaction`: windows from frame-level faces of both actors, K reactions, causality of the
online model, the REACT-style metrics and every baseline, determinism."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml

import reaction_fixture as fx
from empathic.nets.reaction import ReactionNet
from empathic.training import checkpoint, evaluate, runner
from empathic.training.data import FeatureBank, Tables
from empathic.training.task import load_task
from tests.conftest import REPO

BASELINES = {"mime", "train_mean_sequence", "train_mean_frame", "random", "nearest_neighbour",
             "still"}
METRICS = {"fr_corr", "fr_dist", "fr_div", "fr_dvs", "fr_var", "fr_syn", "nme", "n_appropriate"}


def params(folds=("Ses01", "Ses02"), **over) -> dict:
    cfg = yaml.safe_load((REPO / "params.yaml").read_text())["tasks"]["reaction"]
    cfg.update(seeds=1, epochs=3, patience=2, device="cpu", hidden=16, figure_pairs=2, **over)
    return {"base": {"seed": 0}, "split": {"folds": list(folds), "refit": False},
            "training": {"executor": "processes", "workers": 1}, "tasks": {"reaction": cfg}}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("reaction")
    fx.write(fx.generate(sessions=4, dialogs=2, turns=12), root)
    return root


@pytest.fixture(scope="module")
def trained(project):
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    task = load_task("reaction", params())
    tables, bank = Tables.load(project / "data/pairs"), FeatureBank(project / "features")
    runner.train(task, tables, bank, project / "models", None, progress=False)
    doc = evaluate.evaluate(task, tables, bank, project / "models", project / "m.json",
                            project / "figures")
    torch.set_num_threads(n)
    return task, tables, bank, doc


def _net(causal: bool, k: int = 4) -> ReactionNet:
    torch.manual_seed(0)
    return ReactionNet({"audio": 3, "landmarks": 5}, {"text": 4}, t_in=10, t_listen=10, t_out=15,
                       out_dim=6, k=k, hidden=12, dropout=0.0, causal=causal).eval()


def _inputs(seed: int = 1) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {"audio": torch.randn(2, 30, generator=g), "landmarks": torch.randn(2, 50, generator=g),
            "text": torch.randn(2, 4, generator=g)}


@pytest.mark.parametrize("t", [0, 4, 8])
def test_online_reaction_at_t_does_not_see_later_inputs(t):
    x = _inputs()
    y = {k: v.clone() for k, v in x.items()}
    for m, d in (("audio", 3), ("landmarks", 5)):           # frames t+1 ... of the speaker
        y[m] = y[m].reshape(2, 10, d)
        y[m][:, t + 1:] += 5.0
        y[m] = y[m].reshape(2, -1)
    for causal in (True, False):
        net = _net(causal)
        with torch.no_grad():
            a = net(x)["reaction"].reshape(2, 4, 15, 6)
            b = net(y)["reaction"].reshape(2, 4, 15, 6)
        same = torch.allclose(a[:, :, :t + 1], b[:, :, :t + 1], atol=1e-6)
        assert same == causal, (causal, t)      # the offline model does look ahead
        assert not torch.allclose(a[:, :, t + 1:], b[:, :, t + 1:])


def test_k_reactions_differ_and_a_seed_fixes_them():
    x = _inputs()
    with torch.no_grad():
        a = _net(False)(x)["reaction"].reshape(2, 4, -1)
        b = _net(False)(x)["reaction"].reshape(2, 4, -1)
    assert torch.equal(a, b)
    gaps = [(a[:, i] - a[:, j]).abs().max().item() for i in range(4) for j in range(i)]
    assert min(gaps) > 1e-3


def test_windows_targets_and_extras(project):
    task = load_task("reaction", params())
    rows = task.assemble(Tables.load(project / "data/pairs"), FeatureBank(project / "features"))
    assert (task.t_listen, task.t_out) == (20, 40)
    assert rows.Y["reaction"].shape == (len(rows), 40 * 140)
    assert rows.X["landmarks"].shape[1] == 20 * 6 and rows.X["audio"].shape[1] == 20 * 25
    assert np.isfinite(rows.Y["reaction"]).all()
    assert rows.dropped == {"responder has no earlier turn in the dialogue (no reference face)": 8}
    app = task.appropriate(rows)
    assert app.diagonal().all() and np.array_equal(app, app.T)
    assert not (app & (rows.groups[:, None] != rows.groups[None])).any()   # within a session


def test_without_the_listeners_face_the_listening_window_is_left_out(tmp_path):
    fx.write(fx.generate(sessions=4, dialogs=1, turns=8), tmp_path, listener=False)
    task = load_task("reaction", params())
    rows = task.assemble(Tables.load(tmp_path / "data/pairs"), FeatureBank(tmp_path / "features"))
    assert (task.t_listen, task.t_out) == (0, 20) and rows.Y["reaction"].shape[1] == 20 * 140
    assert "listening window left out" in task.report_extra(rows)["reaction"]["notes"][0]


def test_every_metric_for_the_models_and_every_baseline(trained, project):
    task, *_, doc = trained
    assert set(doc["models"]) == {"offline", "online", "prototype"}
    assert set(doc["baselines"]) == BASELINES
    for name, figures in doc["models"].items():
        assert METRICS <= set(figures), name
        assert figures["fr_div"]["mean"] > 0         # K reactions, not one repeated
    for name in BASELINES - {"still", "train_mean_frame"}:
        assert METRICS <= set(doc["baselines"][name]), name
    assert doc["baselines"]["still"]["fr_div"]["mean"] == 0
    assert "fr_syn" not in doc["baselines"]["still"]        # a still face has no lag
    assert doc["models"]["offline"]["n_appropriate"]["mean"] >= 1
    metrics = {c["metric"] for c in doc["comparisons"].values()}
    assert metrics == {"fr_dist", "fr_corr"}
    assert (project / "figures/reaction_test_pairs.png").stat().st_size > 0


def test_checkpoints_reload_and_training_is_deterministic(trained, project, tmp_path):
    task, tables, bank, _ = trained
    again = load_task("reaction", params(folds=("Ses01",)))
    runner.train(again, tables, bank, tmp_path / "models", None, progress=False)
    for name in ("offline", "online"):
        first = (project / f"models/Ses01/s0/{name}.pt").read_bytes()
        assert (tmp_path / f"models/Ses01/s0/{name}.pt").read_bytes() == first
        model = checkpoint.from_bytes(first, "cpu")
        rows = again.assemble(tables, bank)
        out = model.predict({m: rows.X[m][:3] for m in model.inputs})["reaction"]
        assert out.shape == (3, again.k * again.t_out * 140) and np.isfinite(out).all()


def test_per_session_row_arrays_are_the_pooled_ones(project):
    """evaluate keeps each fold's per-row comparison arrays, not its predictions: those of the
    test sessions one after another must be those of the pooled rows (appropriateness is within
    a session)."""
    task = load_task("reaction", params())
    rows = task.assemble(Tables.load(project / "data/pairs"), FeatureBank(project / "features"))
    gen = np.random.default_rng(0).normal(size=(len(rows), task.k * task.t_out * 140))
    pred = {"reaction": gen.astype(np.float32)}
    sessions = list(dict.fromkeys(rows.groups))
    parts = [np.flatnonzero(rows.groups == s) for s in sessions]
    order = np.concatenate(parts)
    pooled = rows.take(order)
    for metric in task.comparisons_of(rows):
        whole = task.row_stat(metric, pooled, {"reaction": pred["reaction"][order]})[0][0]
        per = [task.row_stat(metric, rows.take(i), {"reaction": pred["reaction"][i]})[0][0]
               for i in parts]
        assert np.array_equal(whole, np.concatenate(per)), metric


def test_score_and_row_arrays_computed_once_are_those_of_the_predictions_asked_for(project):
    """score() keeps the latest predictions' per-row fr_dist / fr_corr for row_stat: what it
    serves must be those of the predictions asked for, never another's."""
    from empathic.scoring import reaction as R
    task = load_task("reaction", params(appropriate_max=3))
    rows = task.assemble(Tables.load(project / "data/pairs"), FeatureBank(project / "features"))
    rng = np.random.default_rng(1)
    preds = [{"reaction": rng.normal(size=(len(rows), task.k * task.t_out * 140))
              .astype(np.float32)} for _ in range(2)]
    app = task.appropriate(rows)
    assert app.sum(1).max() <= 3 and app.diagonal().all()
    for pred in preds + preds[:1]:             # the first again after the second
        gen, real = task._seqs(rows, pred)
        want = {"fr_dist": R.fr_dist(gen, real, app, per_input=True),
                "fr_corr": R.fr_corr(gen, real, app, per_input=True)}
        s = task.score(rows, pred, None)
        for m, w in want.items():
            assert s[m] == float(np.mean(w))
            assert np.array_equal(task.row_stat(m, rows, pred)[0][0], w)


def test_figures_get_only_the_drawn_rows(project):
    from empathic.training.task import spread_rows
    assert spread_rows(10, 4).tolist() == [0, 3, 6, 9] and spread_rows(2, 4).tolist() == [0, 1]
    task = load_task("reaction", params())
    rows = task.assemble(Tables.load(project / "data/pairs"), FeatureBank(project / "features"))
    shown = task.figure_rows(len(rows) + 100)           # rows sit at positions 100.. of all
    res = evaluate._fold_result({}, 0, rows, {"m": {"reaction": rows.Y["reaction"]}}, shown, 100)
    want = shown[shown >= 100] - 100
    assert res.test.ids.tolist() == rows.ids[want].tolist()
    assert np.array_equal(res.pred["m"]["reaction"], rows.Y["reaction"][want])
