"""Params loading and validation give one clear line naming the param; the schema rejects
unknown keys (naming the closest valid one) and bad values, and the repository's params.yaml
passes it complete."""
import copy

import pytest
import yaml

from conftest import REPO, run_stage
from empathic.config import params as P
from empathic.config import check as params_check
from empathic.config import schema
from empathic.errors import ParamError

REPO_PARAMS = yaml.safe_load((REPO / "params.yaml").read_text())


def test_lookup_and_validation():
    prm = {"a": {"b": 3, "c": ["x", "y"], "d": "nope"}}
    assert P.get(prm, "a.b") == 3
    with pytest.raises(ParamError, match="'a.missing'"):
        P.get(prm, "a.missing")


def test_bad_yaml_and_missing_file(tmp_path):
    with pytest.raises(ParamError, match="not found"):
        P.load(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(ParamError, match="not valid YAML"):
        P.load(bad)


def test_repository_params_validate_complete():
    checked = params_check.check(copy.deepcopy(REPO_PARAMS), complete=True)
    assert checked is not None and checked.tasks.emotion.epochs == REPO_PARAMS["tasks"]["emotion"]["epochs"]
    assert P.load(REPO / "params.yaml", complete=True) == REPO_PARAMS


def edited(dotted: str, value=None, rename: str | None = None) -> dict:
    prm = copy.deepcopy(REPO_PARAMS)
    *head, last = dotted.split(".")
    node = prm
    for k in head:
        node = node[k]
    if rename:
        node[rename] = node.pop(last)
    else:
        node[last] = value
    return prm


@pytest.mark.parametrize("dotted, rename, hint", [
    ("tasks.emotion.epochs", "epoch", "tasks.emotion.epochs"),
    ("features.face.fps", "fsp", "features.face.fps"),
    ("tasks.context.window", "windw", "tasks.context.window"),
    ("tasks", "task", "tasks"),
    ("tasks.emotion.fusion.decision", "decison", "tasks.emotion.fusion.decision"),
])
def test_unknown_key_names_the_closest_valid_one(dotted, rename, hint):
    bad = dotted.rpartition(".")[0] + "." + rename if "." in dotted else rename
    for complete in (False, True):
        with pytest.raises(ParamError) as e:
            params_check.check(edited(dotted, rename=rename), complete=complete)
        assert str(e.value) == f"params.yaml: unknown key '{bad}' (did you mean '{hint}'?)"


@pytest.mark.parametrize("dotted, value, match", [
    ("tasks.emotion.loss", "focal", r"'tasks.emotion.loss' is 'focal'; input should be 'ce'"),
    ("tasks.response.epochs", 0, r"'tasks.response.epochs' is 0; .*greater than or equal to 1"),
    ("tasks.response.epochs", 60.5, r"'tasks.response.epochs' is 60.5; .*integer"),
    ("tasks.emotion.fusion", {"early": "concat", "decision": ["soft", "x"]},
     r"'tasks.emotion.fusion.decision\[1\]' is 'x'"),
    ("tasks.emotion.inputs", ["txt"], r"'tasks.emotion.inputs\[0\]' is 'txt'"),
    ("features.audio.sample_rate", "16k", r"'features.audio.sample_rate' is '16k'"),
    ("split.folds", 3, r"'split.folds' is 3"),
    ("sample.width", 722, r"'sample.width' is 722; .*multiple of 4"),
    ("tasks.dimensional.dims", [], r"'tasks.dimensional.dims' is \[\]"),
    # the ranges and choices the extractors, the stages and the library once checked themselves
    ("features.max_failed_fraction", 1.5, r"'features.max_failed_fraction' is 1.5; .*less than"),
    ("features.physio.max_failed_fraction", -0.1, r"'features.physio.max_failed_fraction' is -0.1"),
    ("features.audio.feature_set", "eGeMAPSv99", r"'features.audio.feature_set' is 'eGeMAPSv99'"),
    ("features.audio.sample_rate", 4000, r"'features.audio.sample_rate' is 4000; .*greater"),
    ("features.audio.n_mels", 257, r"'features.audio.n_mels' is 257; .*less than or equal to 256"),
    ("features.text.model", " ", r"'features.text.model' is ' '; .*pattern"),
    ("features.text.batch_size", 0, r"'features.text.batch_size' is 0; .*greater"),
    ("features.physio.signals", ["eda", "ecg"], r"'features.physio.signals\[1\]' is 'ecg'"),
    ("features.physio.signals", [], r"'features.physio.signals' is \[\]"),
    ("features.physio.rate", 0.05, r"'features.physio.rate' is 0.05; .*greater"),
    ("features.physio.rate", "4", r"'features.physio.rate' is '4'; .*integer or .*number$"),
    ("features.physio.eda_peak_prominence", -1, r"'features.physio.eda_peak_prominence' is -1"),
    ("features.physio.min_samples", 1, r"'features.physio.min_samples' is 1; .*greater"),
    ("features.physio.min_ibis", 2.5, r"'features.physio.min_ibis' is 2.5; .*integer"),
    ("features.ssl.model", "  ", r"'features.ssl.model' is '  '; .*pattern"),
    ("features.ssl.layers", -1,
     r"'features.ssl.layers' is -1; input should be 'all' or .*greater than or equal to 0$"),
    ("features.ssl.layers", "last", r"'features.ssl.layers' is 'last'; "),
    ("features.ssl.frame_rate", 0, r"'features.ssl.frame_rate' is 0; .*greater"),
    ("features.ssl.chunk_s", 601, r"'features.ssl.chunk_s' is 601; .*less"),
    ("features.ssl.batch_size", 0, r"'features.ssl.batch_size' is 0; .*greater"),
    ("features.ssl.device", "tpu", r"'features.ssl.device' is 'tpu'; input should be 'auto'"),
    ("data.corpus", "msp", r"'data.corpus' is 'msp'; input should be 'iemocap'"),
    ("pairs.prompt_gender", "female", r"'pairs.prompt_gender' is 'female'; input should be 'F'"),
    ("pairs.response_gender", "x", r"'pairs.response_gender' is 'x'"),
    ("split.scheme", "random", r"'split.scheme' is 'random'; input should be 'loso-session'"),
    ("split.val_sessions", 0, r"'split.val_sessions' is 0; .*greater"),
    ("split.folds", [], r"'split.folds' is \[\]"),
])
def test_bad_value_names_the_dotted_key(dotted, value, match):
    for complete in (False, True):          # what every stage checks on load, and stage check
        with pytest.raises(ParamError, match=match) as e:
            params_check.check(edited(dotted, value), complete=complete)
        assert "\n" not in str(e.value)
    section = dotted.rpartition(".")[0]
    if section.count(".") == 1:             # the typed section a module reads says the same
        with pytest.raises(ParamError, match=match):
            P.section(edited(dotted, value), section)


def test_absent_keys_left_to_the_reader_unless_complete():
    prm = {"sample": {"out": "out", "turns_per_dialog": 8}}
    assert params_check.check(prm) is None
    with pytest.raises(ParamError, match="missing param '(base|sample.dialogs_per_session)'"):
        params_check.check(prm, complete=True)
    with pytest.raises(ParamError, match="^params.yaml: missing param 'data.root'$"):
        params_check.check({**REPO_PARAMS, "data": {"corpus": "iemocap"}}, complete=True)


def test_schema_choices_match_the_code():
    """The choices the schema allows are the ones the code knows."""
    import typing

    from empathic.extractors.audio import FEATURE_SETS
    from empathic.extractors.physio import POOLED
    from empathic.folds import SCHEMES
    from empathic.pairs import GENDERS, READERS
    from empathic.training.data import MODALITIES
    from empathic.training.tasks.emotion import DECISIONS
    from empathic.nets.graph import EDGE_TYPES
    from empathic.nets.losses import LOSSES

    def lit(tp):
        return tuple(typing.get_args(tp))
    assert lit(schema.Modality) == MODALITIES
    assert lit(schema.ClassLoss) == LOSSES and lit(schema.Gender) == GENDERS
    f = schema.Audio.model_fields["feature_set"].annotation
    assert lit(f) == FEATURE_SETS
    signals = schema.Physio.model_fields["signals"].annotation
    assert lit(typing.get_args(signals)[0]) == tuple(POOLED)
    assert lit(schema.Data.model_fields["corpus"].annotation) == tuple(READERS)
    assert lit(schema.Split.model_fields["scheme"].annotation) == tuple(SCHEMES)
    dec = schema.DecisionFusion.model_fields["decision"].annotation
    assert lit(typing.get_args(dec)[0]) == DECISIONS
    edges = schema.Context.model_fields["edge_types"].annotation
    assert lit(typing.get_args(edges)[0]) == EDGE_TYPES


def test_stage_with_a_typo_key_fails_in_one_line_before_work(tmp_path):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(edited("tasks.emotion.epochs", rename="epoch")))
    p = run_stage(["stages.train", "emotion", "--no-progress"], tmp_path, check=False)
    assert p.returncode == 2
    assert p.stderr.strip() == ("error: params.yaml: unknown key 'tasks.emotion.epoch' "
                                "(did you mean 'tasks.emotion.epochs'?)")
    assert not (tmp_path / "models").exists()
