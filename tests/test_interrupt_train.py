"""`train` stopped by SIGTERM or SIGKILL keeps the old models and curves (all old or all new),
leaves no stray files, and says so in one line; the next start cleans up."""
from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import time

import pytest
import yaml

import synthetic
from conftest import REPO, stage_env

DIMS = {"text": 16, "audio": 8, "video": 8, "physio": 4, "ssl": 4}


def tree(d):
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    d = tmp_path_factory.mktemp("train_interrupt")
    synthetic.write(synthetic.generate(n_pairs=300, sessions=4, dims=DIMS, seed=2), d)
    prm = yaml.safe_load((REPO / "params.yaml").read_text())
    r = prm["tasks"]["response"]
    r.update(hidden=16, epochs=3, patience=2, seeds=1, device="cpu", figure_pairs=2,
             fusion="concat")
    prm["training"]["workers"] = 1
    (d / "params.yaml").write_text(yaml.safe_dump(prm, sort_keys=False))
    p = subprocess.run([sys.executable, "-m", "stages.train", "response", "--no-progress"],
                       cwd=d, env=stage_env(), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    old = {"models": tree(d / "models"), "live": tree(d / "metrics/response/live")}
    r.update(epochs=3000, patience=3000, seeds=3)          # the run we interrupt: long
    (d / "params.yaml").write_text(yaml.safe_dump(prm, sort_keys=False))
    return d, old


def outputs_intact(d, old):
    assert tree(d / "models") == old["models"]
    assert tree(d / "metrics/response/live") == old["live"]
    strays = [p.name for p in (*(d / "models").iterdir(), *(d / "metrics/response").iterdir())
              if p.name.startswith(".")]
    return strays


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_interrupted_train_keeps_the_old_outputs(project, sig):
    d, old = project
    proc = subprocess.Popen([sys.executable, "-m", "stages.train", "response", "--no-progress"],
                            cwd=d, env=stage_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    time.sleep(6)                                     # past the imports: training is running
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    if sig == signal.SIGTERM:
        assert proc.returncode == 143 and "interrupted (SIGTERM)" in err, err
        lines = [x for x in err.strip().splitlines() if not x.startswith("warning: ")]
        assert "Traceback" not in err and len(lines) == 1, err     # one line (besides warnings)
    else:
        assert proc.returncode == -signal.SIGKILL
    strays = outputs_intact(d, old)
    assert sig == signal.SIGKILL or strays == []
    # the next start removes what a killed run left (temporaries beside the outputs)
    from empathic.atomic import recover
    recover([d / "models/response", d / "metrics/response/live"])
    assert outputs_intact(d, old) == []
