"""Real DVC on a copy of the project with a tiny sample corpus: a second `dvc repro` runs
nothing; changing `pairs.max_gap_s` reruns only `pairs`; changing `features.face.detect_every`
reruns only `extract@face` — the other extractors keep their outputs (the `check` gate reruns on
every param change, cheaply). A mistyped param or a wrong data.root stops `dvc repro` at the
gate with one line, before DVC removes any output of the last good run."""
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from conftest import dvc_project, stage_env

BIN = Path(sys.executable).parent
TARGETS = ["extract@text", "extract@audio", "extract@face"]


def sh(args, cwd, env) -> str:
    p = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert p.returncode == 0, f"{' '.join(map(str, args))} failed:\n{p.stdout}\n{p.stderr}"
    return p.stdout + p.stderr


def ran(log: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", log))


def set_param(root: Path, dotted: str, value) -> None:
    prm = yaml.safe_load((root / "params.yaml").read_text())
    cur = prm
    *head, last = dotted.split(".")
    for k in head:
        cur = cur[k]
    cur[last] = value
    (root / "params.yaml").write_text(yaml.safe_dump(prm, sort_keys=False))


def test_repro_reruns_only_what_changed(tmp_path):
    root = tmp_path / "proj"
    dvc_project(root, **{"features.workers": 2})

    env = stage_env()
    env.pop("PYTHONPATH")                      # the copied package is the one that runs
    env.update(PATH=f"{BIN}{os.pathsep}{env['PATH']}", OMP_NUM_THREADS="1")
    dvc = [str(BIN / "dvc")]
    sh(["git", "init", "-q"], root, env)
    sh(dvc + ["init", "-q"], root, env)
    sh(dvc + ["config", "core.analytics", "false"], root, env)

    first = sh(dvc + ["repro", *TARGETS], root, env)
    assert ran(first) == {"check", "sample@iemocap", "pairs", *TARGETS}
    assert ran(sh(dvc + ["repro", *TARGETS], root, env)) == set()

    set_param(root, "pairs.max_gap_s", 4.0)
    assert ran(sh(dvc + ["repro", *TARGETS], root, env)) == {"check", "pairs"}

    before = {m: (root / f"features/{m}.h5").read_bytes() for m in ("text", "audio", "video")}
    set_param(root, "features.face.detect_every", 2)
    assert ran(sh(dvc + ["repro", *TARGETS], root, env)) == {"check", "extract@face"}
    assert (root / "features/text.h5").read_bytes() == before["text"]
    assert (root / "features/audio.h5").read_bytes() == before["audio"]

    # faults: the last good outputs stay where they are
    good = {p.relative_to(root): p.read_bytes() for d in ("data/pairs", "features")
            for p in sorted((root / d).rglob("*")) if p.is_file()}
    params = (root / "params.yaml").read_text()
    set_param(root, "features.face.detect_every", 3)
    prm = yaml.safe_load((root / "params.yaml").read_text())
    prm["features"]["face"]["detect_evry"] = prm["features"]["face"].pop("detect_every")
    (root / "params.yaml").write_text(yaml.safe_dump(prm, sort_keys=False))
    empty = tmp_path / "not_a_corpus"
    empty.mkdir()
    for fault, key in (("typo", "detect_evry"), ("root", "data.root")):
        if fault == "root":
            (root / "params.yaml").write_text(params)
            set_param(root, "data.root", str(empty))
        p = subprocess.run(dvc + ["repro", *TARGETS], cwd=root, env=env, capture_output=True,
                           text=True)
        assert p.returncode != 0 and key in p.stdout + p.stderr, fault
        assert ran(p.stdout + p.stderr) == {"check"}, fault
        now = {q.relative_to(root): q.read_bytes() for d in ("data/pairs", "features")
               for q in sorted((root / d).rglob("*")) if q.is_file()}
        assert now == good, fault
    (root / "params.yaml").write_text(params)      # the last good run is current as it stands
    assert ran(sh(dvc + ["repro", *TARGETS], root, env)) == set()
