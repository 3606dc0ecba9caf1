"""Task `context` (dialogue graphs of utterances), and the handling of modalities a corpus lacks."""
import json

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from empathic import store
from empathic.errors import EmpathicError
from empathic.nets.graph import GraphNet, dialogue_edges
from empathic.training import checkpoint, evaluate, runner
from empathic.training.data import FeatureBank, Tables
from empathic.training.task import load_task

import synthetic
from conftest import REPO, run_stage

CLASSES = ["neu", "hap", "sad", "ang"]
NO_PHYSIO = "synthetic has no physiological signals"


def context_params(**over):
    cfg = {"inputs": ["text", "audio", "physio"], "classes": CLASSES, "merge": {},
           "loss": "ce", "window": 1, "edge_types": ["forward"], "graph_layers": 1,
           "hidden": 32, "layers": 1, "dropout": 0.0, "lr": 0.01, "weight_decay": 0.0,
           "batch_size": 2, "epochs": 40, "patience": 8, "device": "cpu", "seed": None,
           "seeds": 1, "fusion": "concat", "beta": 0.999, **over}
    return {"base": {"seed": 0}, "split": {"folds": "all", "refit": False},
            "training": {"executor": "processes", "workers": 1}, "tasks": {"context": cfg}}


def unavailable(modality: str, ids):
    """The all-failed file extract@<name> writes for a corpus without the signal."""
    n = len(ids)
    return store.Features(modality, ids, np.zeros(n, bool), np.full((n, 0), np.nan, np.float32), [])


def write_corpus(root, c, reasons: dict[str, str]):
    synthetic.write(c, root)
    for m, reason in reasons.items():
        pd.DataFrame({"utt_id": c.features[m].ids, "reason": reason}).to_csv(
            root / f"features/{m}.failures.csv", index=False)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """3 sessions x 3 dialogues of 40 turns. An utterance's label is the class of its
    PREDECESSOR's text features (argmax of its four values): its own features say nothing, the
    graph's forward edge does. The first turn of a dialogue is xxx (context only). No physio."""
    root = tmp_path_factory.mktemp("ctx")
    c = synthetic.generate(n_pairs=180, sessions=3, dims={"text": 4, "audio": 4, "video": 4},
                           seed=3)
    u = c.utterances
    rng = np.random.default_rng(0)
    for m in ("text", "audio"):
        c.features[m].pooled = rng.normal(size=c.features[m].pooled.shape).astype(np.float32)
    own = np.array(CLASSES)[c.features["text"].pooled.argmax(axis=1)]
    first = u.groupby("dialog", sort=False).cumcount().to_numpy() == 0
    u["emotion"] = np.where(first, "xxx", np.roll(own, 1))
    c.features["physio"] = unavailable("physio", u["utt_id"].to_numpy())
    write_corpus(root, c, {"physio": NO_PHYSIO})
    return root


@pytest.fixture(scope="module")
def context_run(corpus):
    task = load_task("context", context_params())
    tables, bank = Tables.load(corpus / "data/pairs"), FeatureBank(corpus / "features")
    runner.train(task, tables, bank, corpus / "models/context", None, progress=False)
    doc = evaluate.evaluate(task, tables, bank, corpus / "models/context",
                            corpus / "metrics/context.json", corpus / "metrics/context/figures")
    return task, tables, doc


def edge_set(src, dst, typ):
    return {(int(s), int(d), int(t)) for s, d, t in zip(src, dst, typ)}


def test_edges_types_and_window_on_a_hand_made_dialogue():
    # dialogue 0: positions 0, 1, 2, 4 (turn 3 dropped); dialogue 1: positions 0, 1
    dialog, pos = np.array([0, 0, 0, 0, 1, 1]), np.array([0, 1, 2, 4, 0, 1])
    later = {(0, 1), (0, 2), (1, 2), (2, 3), (4, 5)}       # 0 < pos gap <= 2, same dialogue
    got = edge_set(*dialogue_edges(dialog, pos, 2, ["forward", "backward", "undirected"]))
    assert got == ({(a, b, 0) for a, b in later} | {(b, a, 1) for a, b in later}
                   | {(a, b, 2) for a, b in later} | {(b, a, 2) for a, b in later})
    assert edge_set(*dialogue_edges(dialog, pos, 1, ["backward"])) == {(1, 0, 0), (2, 1, 0),
                                                                       (5, 4, 0)}
    assert all(len(e) == 0 for e in dialogue_edges(dialog, pos, 0, ["forward"]))
    # node order does not matter: a permutation gives the permuted edges
    perm = np.array([3, 5, 0, 2, 4, 1])
    shuffled = edge_set(*dialogue_edges(dialog[perm], pos[perm], 2, ["forward"]))
    assert {(perm[s], perm[d], t) for s, d, t in shuffled} == {(a, b, 0) for a, b in later}
    with pytest.raises(ValueError, match="edge types"):
        dialogue_edges(dialog, pos, 1, ["sideways"])


def test_messages_flow_only_along_edges():
    torch.manual_seed(0)
    net = GraphNet({"text": 3}, {"emotion": 2}, ["forward"], hidden=8, dropout=0.0,
                   graph_layers=1).eval()
    x = {"text": torch.randn(3, 3)}
    src, dst, typ = (torch.from_numpy(a) for a in dialogue_edges([0, 0, 0], [0, 1, 2], 1,
                                                                   ["forward"]))
    base = net(x, src, dst, typ)["emotion"]
    x2 = {"text": x["text"].clone()}
    x2["text"][2] += 1.0                     # the last node sends nothing forward
    out = net(x2, src, dst, typ)["emotion"]
    assert torch.allclose(out[:2], base[:2]) and not torch.allclose(out[2], base[2])
    x3 = {"text": x["text"].clone()}
    x3["text"][0] += 1.0                     # one layer: node 0 reaches node 1 only
    out = net(x3, src, dst, typ)["emotion"]
    assert not torch.allclose(out[1], base[1]) and torch.allclose(out[2], base[2])


def test_context_beats_utterance_only_where_context_matters(context_run):
    _, _, doc = context_run
    graph, alone = doc["models"]["graph"], doc["models"]["utterance_only"]
    assert graph["ua"]["mean"] > 0.7, graph["ua"]          # one training session of 117 edges
    assert alone["ua"]["mean"] < 0.45, alone["ua"]         # chance: 0.25
    assert graph["ua"]["mean"] > doc["baselines"]["majority"]["ua"]["mean"] + 0.3
    assert doc["best"] == "graph" and doc["uses_future_turns"] == []   # forward edges only
    assert set(doc["baselines"]) == {"majority", "prior"}
    c = doc["comparisons"]["graph vs utterance_only"]
    assert c["delta"] > 0.2 and c["ci95"][0] > 0 and c["p"] < 0.05 and c["resampled"] == "dialogues"
    # 3 sessions of 3 dialogues are below the protocol's minimum: the claim is withheld
    assert not c["better"] and c["withheld"] and doc["warnings"]


def test_unavailable_input_left_out_and_unlabelled_nodes_kept(context_run):
    task, tables, doc = context_run
    assert task.inputs == ["text", "audio"]               # physio: every row failed
    assert doc["inputs"] == ["text", "audio"]
    u = tables.utterances
    n_xxx = int((u["emotion"] == "xxx").sum())
    assert doc["rows"] == {"candidates": len(u), "nodes": len(u), "scored": len(u) - n_xxx,
                           "context_only": n_xxx, "dropped": {}}
    assert doc["n_test"] == len(u) - n_xxx                  # every session is tested once


def test_folds_honoured(context_run, corpus):
    _, tables, doc = context_run
    folds = tables.folds["folds"]
    assert doc["folds"] == [f["name"] for f in folds]
    u = tables.utterances
    text = store.read_pooled(corpus / "features/text.h5")
    for fold in folds:
        for variant in ("graph", "utterance_only"):
            m = checkpoint.load_model(corpus / "models/context" / fold["name"] / "s0"
                                      / f"{variant}.pt", "cpu")
            assert m.fold == fold and m.kind == "graph"
            info = m.state["info"]
            assert info["n_train"] == int(u["session"].isin(fold["train"]).sum())
            assert info["n_val"] == int(u["session"].isin(fold["val"]).sum())
            # the scalers saw the training sessions only
            train_mean = text.pooled[u["session"].isin(fold["train"]).to_numpy()].mean(axis=0)
            assert np.allclose(m.input_scalers["text"].mean, train_mean, atol=1e-5)
            assert info["window"] == (1 if variant == "graph" else 0)
    assert json.loads((corpus / "metrics/context/report.json").read_text()) == doc


def test_response_skipped_without_landmarks_and_emotion_adapts(tmp_path):
    """A KEMDy-like corpus (no video, no landmarks): response is skipped with one line and exit
    0; emotion drops the members and phases of the absent modalities."""
    c = synthetic.generate(n_pairs=60, sessions=3, dims={"text": 8, "audio": 4, "video": 4},
                           seed=4)
    ids = c.utterances["utt_id"].to_numpy()
    for m in ("video", "landmarks"):
        c.features[m] = unavailable(m, ids)
    write_corpus(tmp_path, c, {"video": "synthetic has no video",
                               "landmarks": "synthetic has no video"})
    bank = FeatureBank(tmp_path / "features")
    assert bank.unavailable("video") == "synthetic has no video"
    assert bank.unavailable("text") is None

    prm = yaml.safe_load((REPO / "params.yaml").read_text())
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(prm))
    p = run_stage(["stages.train", "response", "--no-progress"], tmp_path)
    assert "response: skipped (target landmarks unavailable (synthetic has no video))" in p.stdout
    summary = json.loads((tmp_path / "models/response/summary.json").read_text())
    assert summary["skipped"].startswith("target landmarks unavailable")
    assert (tmp_path / "metrics/response/live/plots/metrics").is_dir()
    run_stage(["stages.evaluate", "response"], tmp_path)
    doc = json.loads((tmp_path / "metrics/response/report.json").read_text())
    assert doc == {"protocol": "loso-session", "skipped": summary["skipped"]}
    assert json.loads((tmp_path / "metrics/response.json").read_text()) == {"skipped": True}
    assert summary["protocol"] == "loso-session"

    emo = load_task("emotion", prm)
    assert emo.skip_reason(bank) is None
    assert emo.inputs == ["text", "audio"] and list(emo.members) == ["text", "audio", "early"]
    assert [s.name for s in emo.models(None)] == ["text_only", "audio_only", "early_fusion"]
    assert emo.members["early"] == ["text", "audio"] and emo.phases is None
    resp = load_task("response", prm)
    with pytest.raises(EmpathicError, match="cannot run on this corpus"):
        runner.train(resp, Tables.load(tmp_path / "data/pairs"), bank, tmp_path / "m", None, False)


def test_face_extractor_reports_a_corpus_without_video(tmp_path):
    from empathic.extractors.face import FaceExtractor
    utts = pd.DataFrame({"utt_id": ["a", "b"], "corpus": "kemdy20", "video": ["", ""]})
    ex = FaceExtractor({}, root=tmp_path, workers=1, progress=False)
    assert ex.unavailable(utts) == "kemdy20 has no video"
    assert ex.unavailable(utts.assign(video=["x.avi", ""])) is None   # some video: extract
