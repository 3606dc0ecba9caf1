"""`python -m stages.check` (run by `make run` before DVC): params and data.root problems are
one line and exit 2, and DVC never starts."""
import shutil
import subprocess

import pytest
import yaml

from conftest import REPO, run_stage, stage_env
from iemocap_fixture import write_corpus


def project(tmp_path, **data) -> dict:
    prm = yaml.safe_load((REPO / "params.yaml").read_text())
    prm["data"].update(data)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(prm, sort_keys=False))
    return prm


def test_default_sample_root_may_be_missing(tmp_path):
    project(tmp_path)
    p = run_stage(["stages.check"], tmp_path)
    assert "built-in sample" in p.stdout


def test_real_corpus_root_passes(tmp_path):
    write_corpus(tmp_path / "IEMOCAP_full_release")
    project(tmp_path, root=str(tmp_path / "IEMOCAP_full_release"))
    p = run_stage(["stages.check"], tmp_path)
    assert p.stdout.startswith("params ok; data.root ") and ": IEMOCAP, " in p.stdout


@pytest.mark.parametrize("corpus, make, match", [
    ("iemocap", None, "data.root '{root}' does not exist"),
    ("iemocap", "empty", "is not an IEMOCAP corpus"),
    ("kemdy20", "empty", "does not look like kemdy20: no annotation/SessNN_eval.csv"),
    ("kemdy19", "file", "is not a folder"),
])
def test_bad_root_is_one_line(tmp_path, corpus, make, match):
    root = tmp_path / "corpus"
    if make == "empty":
        root.mkdir()
    elif make == "file":
        root.write_text("x")
    project(tmp_path, corpus=corpus, root=str(root))
    p = run_stage(["stages.check"], tmp_path, check=False)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and match.format(root=root) in p.stderr, p.stderr


def test_typo_key_is_one_line(tmp_path):
    prm = project(tmp_path)
    prm["tasks"]["context"]["windw"] = prm["tasks"]["context"].pop("window")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(prm, sort_keys=False))
    p = run_stage(["stages.check"], tmp_path, check=False)
    assert p.returncode == 2
    assert p.stderr == ("error: params.yaml: unknown key 'tasks.context.windw' "
                        "(did you mean 'tasks.context.window'?)\n")


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_make_run_stops_before_dvc_on_a_bad_root(tmp_path):
    """The real Makefile: the check fails, DVC never starts (no .dvc, no dvc.lock, no traceback)."""
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    project(tmp_path, root=str(tmp_path / "nowhere"))
    venv = REPO / ".venv"
    stamp = next(venv.glob(".installed*"), venv / ".installed")
    p = subprocess.run(["make", "-o", str(stamp), "run", f"VENV={venv}", f"STAMP={stamp}"],
                       cwd=tmp_path, env=stage_env(), capture_output=True, text=True)
    assert p.returncode != 0
    ours = [line for line in p.stderr.splitlines() if not line.startswith("make")]
    assert ours == [f"error: data.root '{tmp_path / 'nowhere'}' does not exist (data.corpus="
                    "iemocap; set data.root in params.yaml or run with -S data.root=...)"]
    assert "dvc repro" not in p.stdout.split("stages.check")[-1]
    assert not (tmp_path / "dvc.lock").exists() and not (tmp_path / ".dvc").exists()
