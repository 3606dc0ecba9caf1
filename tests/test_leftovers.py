"""What a run leaves behind besides its outputs: no leaked-semaphore warnings from worker pools,
no temporary folders, no progress bars under --no-progress, and one line (not a library's
paragraph) for a corrupt checkpoint, a failure threshold or a stage started in a subfolder."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from conftest import REPO, TINY_SAMPLE, stage_env
from empathic.errors import EmpathicError


def run_script(code: str, tmp_path: Path, **env) -> subprocess.CompletedProcess:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(code))
    return subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, env={**stage_env(), **env}, timeout=300)


POOL = """
from empathic.execution import ProcessExecutor

def work(x):
    from tqdm import tqdm          # a bar, even a disabled one, makes a semaphore per worker
    for _ in tqdm(range(2), disable=True):
        pass
    return x * x

if __name__ == "__main__":
    assert ProcessExecutor(2).map(work, range(4), progress=False) == [0, 1, 4, 9]
"""


def test_pool_workers_exit_without_leaked_semaphores(tmp_path):
    """Workers terminated at the end of a map ran no exit handlers: each tqdm lock they made
    was reported as `resource_tracker: ... leaked semaphore objects` (every training run)."""
    p = run_script(POOL, tmp_path)
    assert p.returncode == 0, p.stderr
    assert "leaked" not in p.stderr, p.stderr


GENERATE = """
import sys, yaml
from pathlib import Path
from empathic.corpora.sample import generate

if __name__ == "__main__":
    cfg = yaml.safe_load(sys.argv[1])
    generate(Path(sys.argv[2]), cfg, workers=2, progress=False)
"""


def test_sample_leaves_no_temporary_folder(tmp_path):
    """Each espeak-ng process makes a private data folder; pool workers remove theirs too."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    cfg = {**yaml.safe_load((REPO / "params.yaml").read_text())["sample"], **TINY_SAMPLE,
           "dialogs_per_session": 1, "turns_per_dialog": 2}
    root = tmp_path / "corpus" / "IEMOCAP_full_release"
    script = tmp_path / "gen.py"
    script.write_text(GENERATE)
    p = subprocess.run([sys.executable, str(script), yaml.safe_dump(cfg), str(root)],
                       capture_output=True, text=True, env={**stage_env(), "TMPDIR": str(tmp)},
                       timeout=300)
    assert p.returncode == 0, p.stderr
    assert any(root.rglob("*.wav"))
    assert sorted(os.listdir(tmp)) == []


@pytest.mark.parametrize("progress", [False, True])
def test_no_progress_silences_the_weight_loading_bar(tmp_path, progress):
    p = run_script(f"""
        from empathic.extractors.text import PACKAGED_MODEL, load_model
        load_model(PACKAGED_MODEL, progress={progress})
        """, tmp_path)
    assert p.returncode == 0, p.stderr
    assert ("Loading weights" in p.stderr) == progress, p.stderr


def test_corrupt_checkpoint_is_one_line_naming_the_file(tmp_path):
    import torch

    from empathic.training.checkpoint import load_model
    whole = tmp_path / "whole.pt"
    torch.save({"format": 0, "weights": torch.zeros(64)}, whole)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(whole.read_bytes()[:200])
    junk = tmp_path / "junk.pt"
    junk.write_text("not a checkpoint\n")
    for bad in (cut, junk):
        with pytest.raises(EmpathicError) as e:
            load_model(bad)
        msg = str(e.value)
        assert msg.startswith(f"{bad}: not a readable checkpoint") and "\n" not in msg
        assert "weights_only" not in msg and "dvc checkout" in msg


def test_failure_threshold_names_the_output_folder():
    from stages.extract import Tally, check_failures
    tally = Tally(2, 2, {"u1": "missing wav: a.wav", "u2": "missing wav: b.wav"})
    with pytest.raises(EmpathicError, match=r"see elsewhere/audio\.failures\.csv"):
        check_failures({"audio": tally}, 0.5, out_dir=Path("elsewhere"))


def test_stage_from_a_subfolder_is_one_line(tmp_path):
    """`make venv` puts the repository on the venv's path (empathic-repo.pth): a stage started
    outside the project folder finds its code and names what is missing."""
    env = {k: v for k, v in stage_env().items() if k != "PYTHONPATH"}
    p = subprocess.run([sys.executable, "-m", "stages.train", "emotion"], cwd=tmp_path,
                       capture_output=True, text=True, env=env)
    assert "ModuleNotFoundError" not in p.stderr, \
        "the venv lacks empathic-repo.pth: rm .venv/.installed && make venv"
    assert p.returncode == 2
    assert p.stderr.strip() == "error: params file not found: params.yaml (run from the " \
                               "repository root)"
