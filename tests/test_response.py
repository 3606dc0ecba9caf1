"""Task `response` end to end on a small synthetic corpus with a learnable empathic link."""
import json

import numpy as np
import pytest
import torch

from empathic import store
from empathic.errors import EmpathicError, ParamError
from empathic.nets.fusion import FusionNet
from empathic.training import checkpoint, evaluate, runner
from empathic.training.batching import RowSplit
from empathic.training.data import FeatureBank, Scaler, Tables, apply_scalers, fit_scalers, fold_masks
from empathic.training.task import load_task
from empathic.training.trainer import HParams, Trainer, forward_all
from tests.conftest import run_stage
import synthetic

DIMS = {"text": 24, "audio": 16, "video": 32}


def params(**over) -> dict:
    cfg = dict(inputs=["text", "audio", "video", "landmarks"], targets={"landmarks": 1.0},
               loss={"mse": 1.0, "cosine": 0.0}, fusion="concat", hidden=32, layers=1,
               dropout=0.0, lr=3e-3, weight_decay=0.0, batch_size=64, epochs=40, patience=8,
               seed=None, seeds=1, device="cpu", figure_pairs=4, cut_overlap=True,
               reference=False)
    cfg.update(over)
    return {"base": {"seed": 0}, "split": {"folds": "all", "refit": False},
            "training": {"executor": "processes", "workers": 1}, "tasks": {"response": cfg}}


@pytest.fixture(scope="module")
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)   # the test machine is shared; one thread is the quickest there
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("response")
    corpus = synthetic.generate(n_pairs=320, sessions=4, dims=DIMS, seed=1, fail=0.03)
    synthetic.write(corpus, root)
    return root, corpus


@pytest.fixture(scope="module")
def trained(project, one_thread):
    root, _ = project
    task = load_task("response", params())
    tables, bank = Tables.load(root / "data/pairs"), FeatureBank(root / "features")
    runner.train(task, tables, bank, root / "models/response", root / "metrics/response/live",
                 progress=False)
    doc = evaluate.evaluate(task, tables, bank, root / "models/response",
                          root / "metrics/response.json", root / "metrics/response/figures")
    return root, task, task.assemble(tables, bank), doc


def test_not_ok_rows_are_dropped_and_counted(project):
    root, corpus = project
    task = load_task("response", params())
    rows = task.assemble(Tables.load(root / "data/pairs"), FeatureBank(root / "features"))
    audio = corpus.features["audio"]
    bad_utts = set(audio.ids[~audio.ok])
    bad_pairs = set(corpus.pairs.loc[corpus.pairs.prompt_id.isin(bad_utts), "pair_id"])
    assert bad_pairs, "the fixture must contain failed prompts"
    assert not bad_pairs & set(rows.ids)
    assert sum(rows.dropped.values()) == rows.n_candidates - len(rows) > 0
    assert rows.dropped["prompt audio not ok"] >= 1
    for arr in [*rows.X.values(), *rows.Y.values()]:
        assert np.all(np.isfinite(arr))
    for fold in corpus.folds["folds"]:
        tr, _, _ = fold_masks(rows.groups, fold)
        assert not bad_pairs & set(rows.take(tr).ids)
    # targets and the mirror baseline are the mean aligned points, x00 y00 x01 y01 ...
    lm = corpus.features["landmarks"]
    cols = [lm.pooled_names.index(f"lm_mean_{a}{p:02d}") for p in range(68) for a in "xy"]
    where = lm.index()
    pairs = corpus.pairs.set_index("pair_id").loc[rows.ids]
    assert np.array_equal(rows.Y["landmarks"], lm.pooled[[where[u] for u in pairs.response_id]][:, cols])
    assert np.array_equal(rows.extra["mirror/landmarks"],
                          lm.pooled[[where[u] for u in pairs.prompt_id]][:, cols])


def test_missing_ids_are_counted(project, tmp_path):
    root, corpus = project
    for m, f in corpus.features.items():
        keep = np.arange(len(f)) != 0 if m == "text" else np.ones(len(f), bool)
        store.write(tmp_path / f"{m}.h5", store.Features(m, f.ids[keep], f.ok[keep],
                                                         f.pooled[keep], f.pooled_names))
    rows = load_task("response", params()).assemble(Tables.load(root / "data/pairs"),
                                                     FeatureBank(tmp_path))
    assert rows.dropped["prompt text missing"] == 1
    assert corpus.pairs.pair_id[0] not in set(rows.ids)


def test_folds_keep_test_sessions_out(trained, project):
    _, corpus = project
    _, _, rows, _ = trained
    for fold in corpus.folds["folds"]:
        tr, va, te = fold_masks(rows.groups, fold)
        assert not (tr & te).any() and not (va & te).any() and not (tr & va).any()
        assert set(rows.groups[te]) == set(fold["test"])
        assert not set(rows.groups[tr] ) & set(fold["test"])
        assert not set(rows.groups[va]) & set(fold["test"])
    bad = dict(corpus.folds["folds"][0], val=corpus.folds["folds"][0]["test"])
    with pytest.raises(EmpathicError, match="both"):
        fold_masks(rows.groups, bad)


def test_scalers_fitted_on_training_rows_only(trained, project):
    root, _, rows, _ = trained
    _, corpus = project
    fold = corpus.folds["folds"][0]
    tr, _, _ = fold_masks(rows.groups, fold)
    model = checkpoint.load_model(root / "models/response" / fold["name"] / "s0/fusion.pt", "cpu")
    for m in ("text", "video"):
        assert np.allclose(model.input_scalers[m].mean, rows.X[m][tr].mean(axis=0), atol=1e-5)
        assert not np.allclose(model.input_scalers[m].mean, rows.X[m].mean(axis=0), atol=1e-5)
    assert np.allclose(model.target_scalers["landmarks"].mean,
                       rows.Y["landmarks"][tr].mean(axis=0), atol=1e-5)
    assert model.state["info"]["n_train"] == int(tr.sum())


def test_model_beats_train_mean_and_report_shape(trained):
    root, _, rows, doc = trained
    assert doc["protocol"] == "loso-session: 2 train / 1 val / 1 test sessions per fold"
    assert doc["best"] == "fusion" and doc["seeds"] == [0]
    assert doc["n_test"] == len(rows)                          # every usable row tested once
    assert set(doc["baselines"]) == {"train_mean", "mirror", "nearest_neighbour"}
    model, mean = doc["models"]["fusion"], doc["baselines"]["train_mean"]
    assert set(model) == {"landmarks_mse", "landmarks_cosine", "nme", "nme_nonrigid",
                          "nme_eye_centres", "pck_05", "pck_10"}
    assert mean["landmarks_cosine"]["per_fold"] == [0.0] * len(mean["nme"]["per_fold"])
    comp = doc["comparisons"]["fusion vs train_mean (nme)"]
    assert comp["delta"] < 0 and comp["ci95"][1] < 0 and comp["p"] < 0.05
    assert not comp["better"] and doc["warnings"]      # a 3-session fixture: claim withheld
    for a, b in zip(model["nme"]["per_fold"], mean["nme"]["per_fold"]):
        assert a < b
    assert model["landmarks_mse"]["mean"] < mean["landmarks_mse"]["mean"]
    assert model["landmarks_cosine"]["mean"] > 0.2
    assert doc["rows"]["dropped"] and doc["rows"]["used"] == len(rows)
    assert json.loads((root / "metrics/response/report.json").read_text()) == doc
    assert (root / "metrics/response/figures/landmarks_test_pairs.png").stat().st_size > 10_000
    curve = (root / "metrics/response/live/plots/metrics/Ses01/fusion/val_loss.tsv").read_text().split()
    assert curve[0] == "step" and len(curve) > 4


def _hp(**over) -> HParams:
    d = dict(hidden=16, layers=1, dropout=0.1, fusion="attention", lr=1e-3, batch_size=32,
             epochs=3, weight_decay=0.0, patience=10, seed=0, device="cpu", seeds=(0,))
    return HParams(**{**d, **over})


def _tiny_fit(rows, seed, epochs=3):
    hp = _hp(epochs=epochs, seed=seed)
    xs, ys = fit_scalers(rows.X), fit_scalers(rows.Y)
    X, Y = apply_scalers(rows.X, xs), apply_scalers(rows.Y, ys)
    torch.manual_seed(seed)
    net = FusionNet({m: x.shape[1] for m, x in X.items()}, {"landmarks": 136}, hidden=16,
                    dropout=0.1, fusion="attention")
    task = load_task("response", params())
    split = RowSplit(X, Y, torch.device("cpu"))
    Trainer(hp, torch.device("cpu"), progress=False).fit(net, task.loss, split, split, seed)
    return net, xs, ys


def test_checkpoint_round_trip(trained, tmp_path):
    _, _, rows, _ = trained
    rows = rows.take(np.arange(100))
    net, xs, ys = _tiny_fit(rows, seed=0)
    names = {m: [f"{m}{i}" for i in range(x.shape[1])] for m, x in rows.X.items()}
    fold = {"name": "f", "train": ["a"], "val": ["b"], "test": ["c"]}
    checkpoint.save(tmp_path / "f.pt", task="response", fold=fold, model=net, input_names=names,
                    target_names={"landmarks": rows.y_names["landmarks"]}, input_scalers=xs,
                    target_scalers=ys, params={"lr": 0.1}, hparams={}, info={})
    loaded = checkpoint.load_model(tmp_path / "f.pt", "cpu")
    expect = forward_all(net, {m: torch.from_numpy(v) for m, v in apply_scalers(rows.X, xs).items()},
                         torch.device("cpu"))["landmarks"].numpy()
    got = loaded.predict(rows.X)["landmarks"]
    assert np.allclose(got, ys["landmarks"].inverse(expect), atol=1e-6)
    assert loaded.fold == fold and loaded.input_names == names and loaded.state["params"] == {"lr": 0.1}
    assert loaded.net.config == net.config
    with pytest.raises(EmpathicError, match="expects"):
        loaded.predict({**rows.X, "text": rows.X["text"][:, :3]})
    with pytest.raises(EmpathicError, match="not found"):
        checkpoint.load_model(tmp_path / "nope.pt")


def test_training_is_deterministic_on_cpu(trained):
    _, _, rows, _ = trained
    rows = rows.take(np.arange(120))
    a, b, c = (_tiny_fit(rows, seed=s)[0].state_dict() for s in (3, 3, 4))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_diverged_training_is_an_error(trained):
    _, task, rows, _ = trained
    split = RowSplit({m: x[:50] for m, x in rows.X.items()}, {t: y[:50] for t, y in rows.Y.items()},
                     torch.device("cpu"))
    nan_loss = lambda out, y: task.loss(out, y) * float("nan")  # noqa: E731
    with pytest.raises(EmpathicError, match="learning rate"):
        Trainer(_hp(hidden=8, patience=2, fusion="concat"), progress=False).fit(
            task.build(task.models(rows)[0], rows), nan_loss, split, split, 0)


def test_stage_outputs_are_byte_identical_on_rerun(project, tmp_path, one_thread):
    root, _ = project
    prm = dict(params(epochs=2, fusion="attention", seeds=2),
               split={"folds": ["Ses02"], "refit": False})
    tables, bank = Tables.load(root / "data/pairs"), FeatureBank(root / "features")
    for run, workers in (("a", 1), ("b", 2)):      # in this process, then a pool of two
        prm["training"]["workers"] = workers
        task = load_task("response", prm)
        runner.train(task, tables, bank, tmp_path / run / "models", tmp_path / run / "live",
                     progress=False)
        evaluate.evaluate(task, tables, bank, tmp_path / run / "models", tmp_path / run / "m.json",
                          tmp_path / run / "figures")
    assert sorted(p.name for p in (tmp_path / "a/models").iterdir()) == ["Ses02", "summary.json"]
    assert sorted(p.name for p in (tmp_path / "a/models/Ses02").iterdir()) == ["s0", "s1"]
    for rel in ("models/Ses02/s0/fusion.pt", "models/Ses02/s1/fusion.pt", "models/summary.json",
                "m.json", "live/plots/metrics/Ses02/fusion/val_loss.tsv",
                "figures/landmarks_test_pairs.png"):
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_both_fusions_and_scaler():
    x = {"text": torch.randn(5, 7), "audio": torch.randn(5, 3)}
    for fusion in ("concat", "attention"):
        net = FusionNet({"text": 7, "audio": 3}, {"a": 4, "b": 2}, hidden=8, fusion=fusion, heads=2)
        out = net(x)
        assert out["a"].shape == (5, 4) and out["b"].shape == (5, 2)
    s = Scaler.fit(np.array([[1.0, 5.0], [3.0, 5.0]]))
    assert s.transform([[2.0, 5.0]]).tolist() == [[0.0, 0.0]]
    assert np.allclose(s.inverse(s.transform([[7.0, 1.0]])), [[7.0, 1.0]])


@pytest.mark.parametrize("over, match", [
    ({"fusion": "sum"}, "fusion"), ({"targets": {"landmarks": -1}}, "targets"),
    ({"inputs": ["smell"]}, "inputs"), ({"loss": {"huber": 1}}, "loss"),
    ({"device": "tpu"}, "device"), ({"seed": "x"}, "seed"),
    ({"fusion": "attention", "hidden": 30}, "hidden")])
def test_bad_params_are_one_line_errors(over, match):
    with pytest.raises(ParamError, match=match):
        load_task("response", params(**over))
    with pytest.raises(ParamError, match="unknown task"):
        load_task("nope", params())


def test_stage_without_inputs_fails_in_one_line(tmp_path):
    import yaml
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params()))
    p = run_stage(["stages.train", "response"], tmp_path, check=False)
    assert p.returncode == 2
    assert p.stderr.strip().startswith("error:") and "pairs" in p.stderr
    assert "Traceback" not in p.stderr


def test_overlap_cut_uses_no_frame_after_the_response_starts(tmp_path):
    """A prompt's frame statistics stop at the response's start; frames carry their time."""
    import pandas as pd

    rate = 10.0
    frames = [np.arange(30, dtype=np.float32)[:, None] / rate, np.ones((5, 1), np.float32)]
    feats = store.Features("audio", ["p", "q"], np.array([True, True]),
                           np.zeros((2, 1), np.float32), ["f"], frames=frames, frame_names=["t"],
                           attrs={"frame_rate": rate})
    store.write(tmp_path / "audio.h5", feats)
    bank = FeatureBank(tmp_path)
    assert bank.has_frames("audio")
    v, present, ok, names = bank.frame_stats("audio", ["p", "q", "nope"], np.array([1.0, np.inf, 1.0]))
    assert names == ["t_mean", "t_std"] and present.tolist() == [True, True, False]
    # p: frames at 0.0 .. 0.9 s only (the response starts 1.0 s into the prompt)
    assert v[0, 0] == pytest.approx(np.mean(np.arange(10) / rate))
    assert v[1, 0] == 1.0 and ok.tolist() == [True, True, False]
    v, _, ok, _ = bank.frame_stats("audio", ["p"], np.array([0.0]))   # nothing before the cut
    assert not ok[0] and np.isnan(v[0]).all()
    # cut times: only where the response starts before the prompt ends
    task = load_task("response", params())
    utts = pd.DataFrame({"utt_id": ["a", "b", "c"], "start": [1.0, 2.5, 6.0]})
    pairs = pd.DataFrame({"prompt_id": ["a", "b"], "response_id": ["b", "c"], "gap": [-0.5, 1.0]})
    cut = task.cut_times(Tables(utts, pairs, {}))
    assert cut[0] == pytest.approx(1.5) and np.isinf(cut[1])


def test_reference_face_and_displacement_model(project, tmp_path, one_thread):
    """The responder's reference is the mean of their own earlier turns in the dialogue; the
    displacement model is scored in absolute units beside the own_reference baseline."""
    root, corpus = project
    prm = dict(params(epochs=3, reference=True), split={"folds": ["Ses02"], "refit": False})
    task = load_task("response", prm)
    tables, bank = Tables.load(root / "data/pairs"), FeatureBank(root / "features")
    rows = task.assemble(tables, bank)
    assert rows.dropped.get("responder has no earlier turn in the dialogue (no reference face)", 0) > 0
    u = corpus.utterances.set_index("utt_id")
    pair = corpus.pairs.set_index("pair_id").loc[rows.ids[5]]
    resp = u.loc[pair.response_id]
    earlier = u[(u.dialog == resp.dialog) & (u.speaker == resp.speaker)
                & (u.start < u.loc[pair.prompt_id].start)].index
    (shape, _, ok), _ = task.target_lookup(bank, "landmarks", list(earlier))
    assert np.allclose(rows.extra["ref/landmarks"][5], shape[ok].mean(axis=0), atol=1e-5)
    runner.train(task, tables, bank, tmp_path / "models", None, progress=False)
    doc = evaluate.evaluate(task, tables, bank, tmp_path / "models", tmp_path / "m.json", None)
    assert set(doc["models"]) == {"fusion", "fusion_displacement"}
    assert "own_reference" in doc["baselines"] and "expr_cosine" in doc["models"]["fusion"]


def test_training_on_dask_gives_the_local_bytes(project, tmp_path, dask_cluster, one_thread):
    """(fold, seed) units on a real local Dask cluster: the checkpoints, curves and metrics are
    the bytes of the in-process run (the client writes them)."""
    root, _ = project
    tables, bank = Tables.load(root / "data/pairs"), FeatureBank(root / "features")
    for run, kind in (("local", "processes"), ("dask", "dask")):
        prm = dict(params(epochs=2, seeds=2), split={"folds": ["Ses02", "Ses03"], "refit": False})
        prm["training"].update(executor=kind, workers=1)
        prm["dask"] = {"address": dask_cluster.scheduler_address, "n_workers": 0,
                       "timeout_s": 10, "retries": 1, "resources": {}}
        task = load_task("response", prm)
        runner.train(task, tables, bank, tmp_path / run / "models", tmp_path / run / "live",
                     progress=False)
        evaluate.evaluate(task, tables, bank, tmp_path / run / "models", tmp_path / run / "m.json",
                          None)
    files = sorted(p.relative_to(tmp_path / "local") for p in (tmp_path / "local").rglob("*")
                   if p.is_file())
    assert len(files) > 8
    for f in files:
        assert (tmp_path / "local" / f).read_bytes() == (tmp_path / "dask" / f).read_bytes(), f


@pytest.mark.parametrize("targets", [
    {"landmarks": 1.0},
    {"landmarks": 1.0, "audio": 1.0, "text": 1.0, "video": 1.0},   # the seed formulation
    {"audio": 1.0, "text": 0.5},                                    # no landmarks at all
], ids=["landmarks", "all", "no_landmarks"])
def test_every_target_set_the_schema_allows_trains_and_scores(project, tmp_path, one_thread,
                                                              targets):
    """Each target set trains, evaluates and reports every target's metrics for every model."""
    root, _ = project
    prm = dict(params(epochs=2, targets=targets, reference=True),
               split={"folds": ["Ses02"], "refit": False})
    task = load_task("response", prm)
    tables, bank = Tables.load(root / "data/pairs"), FeatureBank(root / "features")
    runner.train(task, tables, bank, tmp_path / "models", None, progress=False)
    doc = evaluate.evaluate(task, tables, bank, tmp_path / "models", tmp_path / "m.json", None)
    expect = {f"{t}_{m}" for t in targets for m in ("mse", "cosine")}
    if "landmarks" in targets:
        expect |= {"nme", "pck_05", "expr_cosine"}
    assert set(doc["models"]) == ({"fusion", "fusion_displacement"} if "landmarks" in targets
                                  else {"fusion"})
    for name, figures in doc["models"].items():
        assert expect <= set(figures), (name, expect - set(figures))
        assert all(np.isfinite(figures[k]["mean"]) for k in expect)
    assert {"train_mean", "mirror", "nearest_neighbour"} <= set(doc["baselines"])
    for name in ("train_mean", "mirror", "nearest_neighbour"):
        assert {f"{t}_mse" for t in targets} <= set(doc["baselines"][name])
    assert doc["comparisons"]
