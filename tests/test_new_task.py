"""Adding a task is adding its module and its params section, nothing else: in a copy of the
project with only those two additions, the params check accepts the section, DVC has the
task's train@ and evaluate@ stages, both stages run, and the report renders the task."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

import synthetic
from conftest import REPO, stage_env

BIN = Path(sys.executable).parent


def sh(args, cwd, env, check=True) -> subprocess.CompletedProcess:
    p = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert not check or p.returncode == 0, f"{args}: {p.stdout}\n{p.stderr}"
    return p


def test_a_task_is_its_module_and_its_params_section(tmp_path):
    root = tmp_path / "proj"
    for d in ("empathic", "stages"):
        shutil.copytree(REPO / d, root / d, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "dvc.yaml", root / "dvc.yaml")
    shutil.copy(Path(__file__).with_name("toy_task.py"),                    # 1: the module
                root / "empathic/training/tasks/toy.py")
    prm = yaml.safe_load((REPO / "params.yaml").read_text())
    prm["tasks"]["toy"] = {"inputs": ["text"], "hidden": 8, "layers": 1, "dropout": 0.0,  # 2
                           "fusion": "concat", "lr": 0.01, "weight_decay": 0.0, "batch_size": 32,
                           "epochs": 3, "patience": 2, "seed": None, "seeds": 1, "device": "cpu"}
    prm["training"]["workers"] = 1
    (root / "params.yaml").write_text(yaml.safe_dump(prm, sort_keys=False))
    synthetic.write(synthetic.generate(n_pairs=80, sessions=4, dims={"text": 8, "audio": 4,
                                                                     "video": 4}, seed=3), root)
    env = stage_env()
    env.pop("PYTHONPATH")                      # the copy's package is the one that runs
    env.update(PATH=f"{BIN}{os.pathsep}{env['PATH']}", OMP_NUM_THREADS="1")
    for args in (["git", "init", "-q"], ["git", "add", "-A"],
                 ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy"],
                 [str(BIN / "dvc"), "init", "-q"]):
        sh(args, root, env)

    assert sh([sys.executable, "-m", "stages.check"], root, env).stdout.startswith("params ok")
    stages = sh([str(BIN / "dvc"), "stage", "list"], root, env).stdout
    assert "train@toy" in stages and "evaluate@toy" in stages
    sh([sys.executable, "-m", "stages.train", "toy", "--no-progress"], root, env)
    sh([sys.executable, "-m", "stages.evaluate", "toy"], root, env)
    doc = yaml.safe_load((root / "metrics/toy/report.json").read_text())
    assert doc["best"] == "text_only" and "train_mean" in doc["baselines"]
    assert "### toy" in sh([sys.executable, "-m", "stages.report"], root, env).stdout

    prm["tasks"]["toyy"] = prm["tasks"].pop("toy")        # a section no module has: one line
    (root / "params.yaml").write_text(yaml.safe_dump(prm, sort_keys=False))
    p = sh([sys.executable, "-m", "stages.check"], root, env, check=False)
    assert p.returncode == 2 and p.stderr.strip().startswith(
        "error: params.yaml: unknown key 'tasks.toyy' (did you mean 'tasks.toy'?)")
