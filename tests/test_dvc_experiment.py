"""Real DVC on a tiny copy of the project: repro, then `dvc exp run -S tasks.response.lr=...`
reruns only train@response and evaluate@response, and metrics diff / exp show see the change.

The copy keeps the repository's own train and evaluate stage definitions (read from dvc.yaml)
and puts one upstream stage in front of them that writes a tiny synthetic corpus
(data/pairs/* and features/*.h5), standing in for check + pairs + extract.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import REPO, stage_env

BIN = Path(sys.executable).parent
SYNTH = ("import sys; sys.path.insert(0, 'tests'); import synthetic as s; "
         "s.write(s.generate(n_pairs=90, sessions=3, dims={'text': 12, 'audio': 8, 'video': 10, 'physio': 6, 'ssl': 6},"
         " seed=0, fail=0.02), '.'); open('data/checked', 'w').write('checked')")
SYNTH_OUTS = ["data/checked", "data/pairs/utterances.csv", "data/pairs/pairs.csv", "data/pairs/folds.json"] + [
    f"features/{m}{ext}" for m in ("text", "audio", "video", "landmarks", "physio", "ssl")
    for ext in (".h5", ".failures.csv")]


def sh(args, cwd, env):
    p = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert p.returncode == 0, f"{' '.join(map(str, args))} failed:\n{p.stdout}\n{p.stderr}"
    return p.stdout + p.stderr


def make_project(root: Path) -> None:
    for d in ("empathic", "stages"):
        shutil.copytree(REPO / d, root / d, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "tests").mkdir()
    shutil.copy(REPO / "tests/synthetic.py", root / "tests/synthetic.py")
    repo_stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    stages = {"synth": {"cmd": f'python -c "{SYNTH}"', "deps": ["tests/synthetic.py"],
                        "params": ["base.seed"], "outs": SYNTH_OUTS}}
    for name in ("train", "evaluate"):          # the repository's definitions
        stage = repo_stages[name]
        stages[name] = stage                   # foreach: ${tasks}, the copy's response only
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}, sort_keys=False))
    repo_params = yaml.safe_load((REPO / "params.yaml").read_text())
    response = dict(repo_params["tasks"]["response"], hidden=16, epochs=3, patience=2,
                    batch_size=32, fusion="concat", device="cpu", figure_pairs=2, seeds=1,
                    cut_overlap=True, reference=True)
    params = {"base": {"seed": 0}, "split": dict(repo_params["split"]),
              "dask": repo_params["dask"],
              "training": {"executor": "processes", "workers": 1}, "tasks": {"response": response}}
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def find_lr(node, lr) -> bool:
    """Whether the exp show JSON holds a params.yaml with tasks.response.lr == lr."""
    if isinstance(node, dict):
        t = node.get("tasks")
        if isinstance(t, dict) and t.get("response", {}).get("lr") == lr:
            return True
        return any(find_lr(v, lr) for v in node.values())
    if isinstance(node, list):
        return any(find_lr(v, lr) for v in node)
    return False


def test_exp_run_reruns_only_train_and_evaluate(tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    env = stage_env()
    env.update(PATH=f"{BIN}{os.pathsep}{env['PATH']}", OMP_NUM_THREADS="1",
               GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t", DVC_NO_ANALYTICS="1")
    env.pop("PYTHONPATH")       # the copied package is the one that runs
    git, dvc = ["git"], [str(BIN / "dvc")]
    make_project(root)
    sh(git + ["init", "-q"], root, env)
    sh(git + ["config", "user.name", "t"], root, env)
    sh(git + ["config", "user.email", "t@t"], root, env)
    sh(dvc + ["init", "-q"], root, env)
    sh(dvc + ["config", "core.analytics", "false"], root, env)
    sh(git + ["add", "-A"], root, env)
    sh(git + ["commit", "-qm", "project"], root, env)   # dvclive needs a commit to start

    out = sh(dvc + ["repro"], root, env)
    for stage in ("synth", "train@response", "evaluate@response"):
        assert f"Running stage '{stage}'" in out
    base = json.loads((root / "metrics/response/report.json").read_text())
    assert base["protocol"].startswith("loso-session: 1 train") and len(base["folds"]) == 3
    sh(git + ["add", "-A"], root, env)
    sh(git + ["commit", "-qm", "baseline"], root, env)

    out = sh(dvc + ["exp", "run", "-S", "tasks.response.lr=0.02"], root, env)
    assert "Running stage 'train@response'" in out and "Running stage 'evaluate@response'" in out
    assert "Running stage 'synth'" not in out
    new = json.loads((root / "metrics/response/report.json").read_text())
    assert new["models"]["fusion"]["nme"] != base["models"]["fusion"]["nme"]
    assert new["baselines"] == base["baselines"]       # same rows, same folds

    diff = json.loads(sh(dvc + ["metrics", "diff", "--json"], root, env))
    changed = diff["metrics/response/table/fusion.json"]       # the headline row of the model
    assert changed["nme.mean"]["new"] == new["models"]["fusion"]["nme"]["mean"]
    assert not any(path.endswith("report.json") for path in diff)   # not a DVC metric
    # the experiment's headline (the selected model's figures), as the README shows it
    table = sh(dvc + ["exp", "show", "--only-changed", "--drop", ".*/table/.*", "--md"], root, env)
    assert max(map(len, table.splitlines())) <= 300, table
    assert "nme.mean" in table.splitlines()[0] and "tasks.response.lr" in table.splitlines()[0]
    params_diff = json.loads(sh(dvc + ["params", "diff", "--json"], root, env))
    assert params_diff["params.yaml"]["tasks.response.lr"]["new"] == 0.02

    shown = json.loads(sh(dvc + ["exp", "show", "--json"], root, env))
    assert find_lr(shown, 0.02) and find_lr(shown, repo_lr())
    plots = json.loads(sh(dvc + ["plots", "show", "--json"], root, env))
    names = list(plots["data"])
    assert "metrics/response/live/plots/metrics/Ses01/fusion/val_loss.tsv" in names
    assert "metrics/response/figures/landmarks_test_pairs.png" in names


def repo_lr():
    return yaml.safe_load((REPO / "params.yaml").read_text())["tasks"]["response"]["lr"]
