"""Tasks `emotion` and `dimensional` end to end on a small synthetic corpus, plus their parts."""
import json

import numpy as np
import pytest
import torch

from empathic.errors import ParamError
from empathic.nets.fusion import FusionNet
from empathic.nets.losses import class_balanced_weights
from empathic.training import evaluate, runner
from empathic.training.data import FeatureBank, Tables
from empathic.training.task import load_task
from empathic.training.tasks.emotion import grow
import synthetic

SMALL = {"hidden": 16, "layers": 1, "dropout": 0.1, "lr": 0.005, "weight_decay": 0.0,
         "epochs": 25, "patience": 5, "batch_size": 64, "device": "cpu", "seed": None, "seeds": 1}
SPLIT = {"folds": "all", "refit": False}
EXEC = {"executor": "processes", "workers": 1}


def emotion_params(**over):
    cfg = {"inputs": ["text", "audio", "landmarks"], "classes": ["neu", "hap", "ang", "sad"],
           "merge": {"exc": "hap"}, "loss": "class_balanced", "beta": 0.99,
           "members": ["text", "landmarks", "early"],
           "fusion": {"early": "concat", "decision": ["soft", "weighted", "hard", "stacking"]},
           "phases": {"first": ["text"], "add": ["landmarks"], "finetune_lr": 0.002}, **SMALL}
    cfg.update(over)
    return {"base": {"seed": 0}, "split": dict(SPLIT), "training": EXEC, "tasks": {"emotion": cfg}}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """3 sessions; some codes are xxx (left out) and exc (merged into hap); dialogues alternate
    improvised and scripted."""
    root = tmp_path_factory.mktemp("emo")
    c = synthetic.generate(n_pairs=120, sessions=3, dims={"text": 24, "audio": 12, "video": 8},
                           seed=1, noise=0.8)
    u = c.utterances
    u["dialog_kind"] = np.where(u["dialog"].str[-1].astype(int) % 2 == 0, "impro", "script")
    u.loc[u.index % 15 == 0, "emotion"] = "xxx"
    hap = u["emotion"] == "hap"
    u.loc[hap & (u.index % 2 == 0), "emotion"] = "exc"
    synthetic.write(c, root)
    return root


@pytest.fixture(scope="module")
def emotion_run(corpus):
    task = load_task("emotion", emotion_params())
    tables, bank = Tables.load(corpus / "data/pairs"), FeatureBank(corpus / "features")
    runner.train(task, tables, bank, corpus / "models/emotion", None, progress=False)
    doc = evaluate.evaluate(task, tables, bank, corpus / "models/emotion",
                            corpus / "metrics/emotion.json", corpus / "metrics/emotion/figures")
    return task, tables, bank, doc


def test_emotion_labels_merged_and_left_out_counted(corpus):
    task = load_task("emotion", emotion_params())
    tables = Tables.load(corpus / "data/pairs")
    rows = task.assemble(tables, FeatureBank(corpus / "features"))
    raw = tables.utterances["emotion"]
    assert rows.dropped == {"label xxx not in classes": int((raw == "xxx").sum())}
    assert len(rows) == len(raw) - (raw == "xxx").sum()
    n_hap = int(raw.isin(["hap", "exc"]).sum())
    assert (rows.Y["emotion"] == 1).sum() == n_hap and (raw == "exc").sum() > 0
    assert rows.extra["impro"].any() and not rows.extra["impro"].all()


def test_emotion_failed_features_dropped_not_zero_filled(tmp_path):
    c = synthetic.generate(n_pairs=40, sessions=3, dims={"text": 8, "audio": 8, "video": 8},
                           seed=2, fail=0.1)
    synthetic.write(c, tmp_path)
    task = load_task("emotion", emotion_params())
    rows = task.assemble(Tables.load(tmp_path / "data/pairs"), FeatureBank(tmp_path / "features"))
    assert rows.dropped.get("text not ok", 0) > 0
    assert all(np.isfinite(x).all() for x in rows.X.values())


def test_emotion_metrics_json(emotion_run, corpus):
    task, _, _, doc = emotion_run
    assert doc == json.loads((corpus / "metrics/emotion/report.json").read_text())
    head = json.loads((corpus / "metrics/emotion.json").read_text())
    assert head["best"] == doc["best"]
    assert head["ua"]["mean"] == doc["models"][doc["best"]]["ua"]["mean"]
    expected = {"text_only", "landmarks_only", "early_fusion", "soft_vote", "weighted_vote",
                "hard_vote", "stacking", "phase1", "phase2"}
    assert set(doc["models"]) == expected
    assert set(doc["baselines"]) == {"majority", "prior"}
    assert doc["folds"] == ["Ses01", "Ses02", "Ses03"]
    for entry in [*doc["models"].values(), *doc["baselines"].values()]:
        for metric in ("wa", "ua", "macro_f1", "weighted_f1", "precision_hap", "recall_sad",
                       "impro_wa", "impro_ua"):
            assert len(entry[metric]["per_fold"]) == 3
            assert entry[metric]["mean"] == pytest.approx(np.mean(entry[metric]["per_fold"]),
                                                          abs=1e-5)
    # selection on validation, never among ensembles fitted there
    assert doc["best"] in doc["models"] and doc["best"] not in ("weighted_vote", "stacking")
    assert set(doc["selection"]["values"]) == expected - {"weighted_vote", "stacking"}
    assert doc["selection"]["metric"] == "validation ua"
    assert f"{doc['best']} vs majority" in doc["comparisons"]
    assert doc["baselines"]["majority"]["ua"]["mean"] == pytest.approx(0.25)
    ua = {k: v["ua"]["mean"] for k, v in doc["models"].items()}
    assert ua["early_fusion"] > doc["baselines"]["prior"]["ua"]["mean"] + 0.15
    assert (corpus / "metrics/emotion/figures/confusion.png").is_file()
    assert (corpus / "metrics/emotion/figures/confusion_improvised.png").is_file()


def test_stacking_fitted_on_non_test_sessions_only(emotion_run, corpus):
    task, _, _, _ = emotion_run
    folds = json.loads((corpus / "data/pairs/folds.json").read_text())["folds"]
    for fold in folds:
        st = json.loads((corpus / "models/emotion" / fold["name"] / "s0/ensembles.json").read_text())
        assert st["stacking"]["scored_sessions"] == fold["test"]
        assert set(st["stacking"]["fit_sessions"]) == set(fold["train"]) | set(fold["val"])
        assert np.isclose(sum(st["weights"]), 1.0)


def test_emotion_evaluate_is_deterministic(emotion_run, corpus, tmp_path):
    task, tables, bank, _ = emotion_run
    evaluate.evaluate(task, tables, bank, corpus / "models/emotion", tmp_path / "emotion.json",
                      None)
    for rel in ("emotion.json", "emotion/report.json", "emotion/table/hard_vote.json"):
        assert (tmp_path / rel).read_bytes() == (corpus / "metrics" / rel).read_bytes(), rel


@pytest.mark.parametrize("fusion", ["concat", "attention"])
def test_grow_adds_a_branch_without_changing_the_function(fusion):
    torch.manual_seed(0)
    net = FusionNet({"text": 6, "audio": 4}, {"emotion": 3}, hidden=8, fusion=fusion).eval()
    x = {"text": torch.randn(5, 6), "audio": torch.randn(5, 4), "video": torch.randn(5, 3)}
    big = grow(net, {"video": 3}).eval()
    assert big.encoder.modalities == ["text", "audio", "video"]
    before = net(x)["emotion"]
    after = big(x)["emotion"]
    if fusion == "concat":                 # new mixing columns start at zero: same function
        assert torch.allclose(before, after, atol=1e-6)
    else:                                  # old weights carried over; a new token is attended
        assert torch.equal(big.encoder.proj["text"][0].weight, net.encoder.proj["text"][0].weight)
    with pytest.raises(ValueError):
        grow(net, {"text": 6})


def test_emotion_param_errors():
    with pytest.raises(ParamError):
        load_task("emotion", emotion_params(fusion={"early": "concat", "decision": ["median"]}))
    with pytest.raises(ParamError):
        load_task("emotion", emotion_params(loss="focal"))
    with pytest.raises(ParamError):
        load_task("emotion", emotion_params(members=["video"]))          # not an input
    with pytest.raises(ParamError):
        load_task("emotion", emotion_params(phases={"first": ["text"], "add": ["text"]}))
    with pytest.raises(ParamError):
        load_task("emotion", emotion_params(merge={"exc": "joy"}))


def test_emotion_loss_weights_follow_training_counts(corpus):
    task = load_task("emotion", emotion_params(beta=0.9))
    rows = task.assemble(Tables.load(corpus / "data/pairs"), FeatureBank(corpus / "features"))
    counts = np.bincount(rows.Y["emotion"], minlength=4)
    logits = {"emotion": torch.randn(len(rows), 4)}
    y = {"emotion": torch.from_numpy(rows.Y["emotion"])}
    w = torch.tensor(class_balanced_weights(counts, 0.9), dtype=torch.float32)
    expect = torch.nn.functional.cross_entropy(logits["emotion"], y["emotion"], weight=w)
    assert float(task.objective(rows)(logits, y)) == pytest.approx(float(expect), rel=1e-5)
    plain = load_task("emotion", emotion_params(loss="ce"))
    expect = torch.nn.functional.cross_entropy(logits["emotion"], y["emotion"])
    assert float(plain.objective(rows)(logits, y)) == pytest.approx(float(expect), rel=1e-5)
    empty = load_task("emotion", emotion_params(classes=["neu", "hap", "ang", "sad", "xyz"]))
    with pytest.raises(ParamError, match=r"tasks.emotion.classes.*xyz"):
        empty.assemble(Tables.load(corpus / "data/pairs"), FeatureBank(corpus / "features"))


def test_dimensional_through_the_shared_runner(corpus, tmp_path):
    prm = {"base": {"seed": 0}, "split": dict(SPLIT), "training": EXEC, "tasks": {"dimensional": {
        "inputs": ["text", "landmarks"], "dims": ["valence", "arousal", "dominance"],
        "loss": "mse", "fusion": "concat", **SMALL}}}
    task = load_task("dimensional", prm)
    tables, bank = Tables.load(corpus / "data/pairs"), FeatureBank(corpus / "features")
    runner.train(task, tables, bank, tmp_path / "models", None, progress=False)
    doc = evaluate.evaluate(task, tables, bank, tmp_path / "models", tmp_path / "dim.json",
                            tmp_path / "figures")
    model, base = doc["models"]["early_fusion"], doc["baselines"]["train_mean"]
    for d in ("valence", "arousal", "dominance"):
        assert base[f"ccc_{d}"]["mean"] == 0.0
        assert model[f"ccc_{d}"]["mean"] > 0.3
        assert model[f"mae_{d}"]["mean"] < base[f"mae_{d}"]["mean"]
        assert f"impro_ccc_{d}" in model
    assert (tmp_path / "figures/scatter.png").is_file()


def test_dimensional_leaves_out_a_dimension_the_corpus_lacks(corpus, tmp_path):
    prm = {"base": {"seed": 0}, "tasks": {"dimensional": {
        "inputs": ["text"], "dims": ["valence", "arousal", "dominance"], "loss": "mse",
        "fusion": "concat", **SMALL}}}
    tables = Tables.load(corpus / "data/pairs")
    tables.utterances["dominance"] = np.nan
    task = load_task("dimensional", prm)
    rows = task.assemble(tables, FeatureBank(corpus / "features"))
    assert rows.y_names["vad"] == ["valence", "arousal"] and rows.Y["vad"].shape[1] == 2
    assert task.comparisons_of(rows) == {"ccc_valence": True, "ccc_arousal": True}
    assert task.dims == ["valence", "arousal", "dominance"]       # assembling changed nothing
    assert len(rows) == len(tables.utterances)


def test_improvised_flag_needs_every_session():
    from empathic.training.data import Rows
    from empathic.training.utterances import keep_improvised_flag

    def rows(impro):
        return Rows(np.array(["a", "b", "c", "d"]), np.array(["S1", "S1", "S2", "S2"]), {}, {},
                    extra={"impro": np.array(impro)})
    assert "impro" in keep_improvised_flag(rows([True, False, True, False])).extra
    assert "impro" not in keep_improvised_flag(rows([True, True, False, False])).extra


def test_emotion_training_is_deterministic(corpus, tmp_path):
    prm = emotion_params(members=["text", "early"],
                         fusion={"early": "concat", "decision": ["soft", "stacking"]},
                         phases={"first": ["text"], "add": ["audio"], "finetune_lr": 0.002},
                         epochs=5)
    prm["split"]["folds"] = ["Ses02"]
    tables, bank = Tables.load(corpus / "data/pairs"), FeatureBank(corpus / "features")
    torch.manual_seed(123)        # a different global RNG state before each run changes nothing
    runner.train(load_task("emotion", prm), tables, bank, tmp_path / "a", None, progress=False)
    torch.manual_seed(456)
    runner.train(load_task("emotion", prm), tables, bank, tmp_path / "b", None, progress=False)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert {str(f) for f in files} >= {"Ses02/s0/text_only.pt", "Ses02/s0/early_fusion.pt",
                                       "Ses02/s0/phase2.pt", "Ses02/s0/ensembles.json",
                                       "summary.json"}
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


def test_dimensional_model_init_is_seeded(corpus):
    """The runner seeds every network's initial weights from the unit's seed."""
    prm = emotion_params(members=["text"], fusion={"early": "concat", "decision": []},
                         phases=None, epochs=1)
    prm["split"]["folds"] = ["Ses02"]
    task = load_task("emotion", prm)
    tables, bank = Tables.load(corpus / "data/pairs"), FeatureBank(corpus / "features")
    rows, folds = runner.prepare(task, tables, bank)
    torch.manual_seed(1)
    a = runner.Unit(task, rows, folds[0], 0, False).run().files["text_only.pt"]
    torch.manual_seed(2)
    b = runner.Unit(task, rows, folds[0], 0, False).run().files["text_only.pt"]
    c = runner.Unit(task, rows, folds[0], 1, False).run().files["text_only.pt"]
    assert a == b != c


def test_emotion_stages_end_to_end(corpus, tmp_path):
    """python -m stages.train / stages.evaluate emotion, as dvc runs them."""
    import shutil

    import yaml

    from tests.conftest import run_stage

    for d in ("data", "features"):
        shutil.copytree(corpus / d, tmp_path / d)
    prm = emotion_params(members=["text", "early"],
                         fusion={"early": "concat", "decision": ["soft", "hard"]},
                         phases=None, epochs=5)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(prm))
    run_stage(["stages.train", "emotion", "--no-progress"], tmp_path)
    out = run_stage(["stages.evaluate", "emotion"], tmp_path).stdout
    doc = json.loads((tmp_path / "metrics/emotion/report.json").read_text())
    assert set(doc["models"]) == {"text_only", "early_fusion", "soft_vote", "hard_vote"}
    assert f"best {doc['best']}" in out
    assert (tmp_path / "metrics/emotion/figures/confusion.png").is_file()
    bad = emotion_params(loss="focal")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(bad))
    p = run_stage(["stages.train", "emotion"], tmp_path, check=False)
    assert p.returncode == 2 and "tasks.emotion.loss" in p.stderr
