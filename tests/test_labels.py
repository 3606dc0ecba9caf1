"""Label sets: merges, left-out counts, and a class without examples is an error naming the
param instead of a model that reports recall 0 for it."""
import pytest

from empathic import labels as L
from empathic.errors import ParamError


def test_encode_merges_and_counts_left_out():
    ls = L.LabelSet(("neu", "hap", "ang", "sad"), {"exc": "hap"})
    y, left = ls.encode(["neu", "exc", "hap", "fru", "ang", "sad", "xxx", "fru"])
    assert y.tolist() == [0, 1, 1, -1, 2, 3, -1, -1]
    assert left == {"fru": 2, "xxx": 1}


def test_empty_class_is_an_error_naming_the_param():
    ls = L.LabelSet(("neu", "hap", "xyz"), {"exc": "hap"}, "tasks.context")
    with pytest.raises(ParamError) as e:
        ls.encode(["neu", "exc", "hap", "fru"])
    msg = str(e.value)
    assert msg.startswith("param 'tasks.context.classes': no utterance is labelled xyz (of 4; ")
    assert "'tasks.context.merge'" in msg and "\n" not in msg


@pytest.mark.parametrize("classes, merge, match", [
    (["a", "b"], {"x": "c"}, "merge maps to codes that are not classes"),
    (["a", "b"], {"a": "b"}, "merge renames codes that are classes themselves"),
    (["a", "a"], {}, "classes must be distinct"),
])
def test_the_schema_holds_the_label_set_rules(classes, merge, match):
    """The rules of a label set are the schema's (checked once, where params are read)."""
    import yaml

    from conftest import REPO
    prm = yaml.safe_load((REPO / "params.yaml").read_text())
    prm["tasks"]["context"].update(classes=classes, merge=merge)
    with pytest.raises(ParamError, match=rf"^params.yaml: param 'tasks.context': {match}"):
        L.from_params(prm, "tasks.context")
    prm["tasks"]["context"].update(classes=["a", "b"], merge={"x": "a"})
    assert L.from_params(prm, "tasks.context") == L.LabelSet(("a", "b"), {"x": "a"},
                                                             "tasks.context")


def test_pairs_stage_counts_out_of_range_vad_and_unknown_codes(tmp_path, repo):
    """V/A/D outside 1-5 and undocumented emotion codes are counted and reported by `pairs`
    (they used to pass silently); the rows are kept as the corpus has them."""
    import yaml

    from conftest import run_stage
    from iemocap_fixture import alternating, write_corpus, write_dialog

    root = write_corpus(tmp_path / "IEMOCAP_full_release")
    turns = alternating("Ses02M_impro08b", 4)
    turns[0].vad, turns[1].vad = (0.0, 3.0, 3.0), (3.0, 6.5, 3.0)
    turns[2].emotion = "bor"
    write_dialog(root, "Ses02M_impro08b", turns)
    prm = yaml.safe_load((repo / "params.yaml").read_text())
    prm["data"]["root"] = str(root)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(prm, sort_keys=False))
    out = run_stage(["stages.pairs"], tmp_path).stdout
    assert ("iemocap: warning: 1 utterances with valence outside 1-5 "
            f"(e.g. {turns[0].utt}=0)") in out
    assert f"1 utterances with arousal outside 1-5 (e.g. {turns[1].utt}=6.5)" in out
    assert "iemocap: warning: 1 utterances with emotion codes iemocap does not document: 'bor' x1" in out


def test_train_with_an_empty_class_is_one_line(tmp_path, repo):
    """`classes: [..., xyz]` used to train and report recall 0 for xyz; now the stage stops
    before training with one line naming the param, and writes no model."""
    import yaml

    import synthetic
    from conftest import run_stage

    synthetic.write(synthetic.generate(n_pairs=40, sessions=3, dims={"text": 8, "audio": 8,
                                                                     "video": 8}, seed=0), tmp_path)
    prm = yaml.safe_load((repo / "params.yaml").read_text())
    prm["tasks"]["emotion"]["classes"] = ["neu", "hap", "ang", "sad", "xyz"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(prm, sort_keys=False))
    p = run_stage(["stages.train", "emotion", "--no-progress"], tmp_path, check=False)
    assert p.returncode == 2, p.stderr
    assert p.stderr.startswith("error: param 'tasks.emotion.classes': no utterance is labelled xyz")
    assert p.stderr.count("\n") == 1 and not (tmp_path / "models").exists()
