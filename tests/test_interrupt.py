"""Interruptions: `replace_together` gives all-old or all-new outputs even under SIGKILL (a
journal the next start rolls forward), and `extract face` stopped by SIGTERM, Ctrl-C or SIGKILL
leaves its old outputs intact, no stray files, no worker running and no worker traceback."""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REPO, make_project, stage_env
from empathic import atomic
from empathic.errors import EmpathicError

OUTS = ["video.h5", "video.failures.csv", "landmarks.h5", "landmarks.failures.csv"]


# -- replace_together / recover ---------------------------------------------------------------
def test_replace_together_success_and_error(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "sub" / "b.txt"
    with atomic.replace_together([a, b]) as (ta, tb):
        ta.write_text("A1")
        tb.write_text("B1")
    assert (a.read_text(), b.read_text()) == ("A1", "B1")
    with pytest.raises(EmpathicError):
        with atomic.replace_together([a, b]) as (ta, tb):
            ta.write_text("A2")
            raise EmpathicError("boom")
    assert (a.read_text(), b.read_text()) == ("A1", "B1")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.txt", "b.txt", "sub"]


KILL_BETWEEN_RENAMES = """
import os, signal, sys
from pathlib import Path
from empathic import atomic
real, n = os.replace, [0]
def replace(src, dst):
    real(src, dst)
    if str(dst).endswith(".txt"):
        n[0] += 1
        if n[0] == 1:
            os.kill(os.getpid(), signal.SIGKILL)
atomic.os.replace = replace
d = Path(sys.argv[1])
with atomic.replace_together([d / "a.txt", d / "b.txt", d / "c.txt"]) as tmps:
    for t, x in zip(tmps, "ABC"):
        t.write_text(x + "2")
"""


def test_sigkill_between_renames_is_rolled_forward(tmp_path):
    for x in "abc":
        (tmp_path / f"{x}.txt").write_text(x.upper() + "1")
    p = subprocess.run([sys.executable, "-c", KILL_BETWEEN_RENAMES, str(tmp_path)],
                       env=stage_env(), capture_output=True, text=True)
    assert p.returncode == -signal.SIGKILL, p.stderr
    state = {f.name: f.read_text() for f in tmp_path.glob("*.txt")}
    assert state == {"a.txt": "A2", "b.txt": "B1", "c.txt": "C1"}       # killed mid-replace
    done = atomic.recover([tmp_path / f"{x}.txt" for x in "abc"])
    assert len(done) == 2 and all("completed the interrupted replace" in d for d in done)
    assert {f.name: f.read_text() for f in tmp_path.iterdir()} == {
        "a.txt": "A2", "b.txt": "B2", "c.txt": "C2"}                     # all new, nothing else


def test_recover_removes_stale_temporaries_of_its_targets_only(tmp_path):
    (tmp_path / "video.h5").write_text("old")
    (tmp_path / ".video.h5.x1y2.tmp").write_text("half")
    (tmp_path / "..video.h5.x1y2.tmp.abcd.tmp").write_text("nested half")
    (tmp_path / ".other.h5.zzz.tmp").write_text("not ours")
    done = atomic.recover([tmp_path / "video.h5"])
    assert len(done) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.h5.zzz.tmp", "video.h5"]


# -- extract face under signals ---------------------------------------------------------------
@pytest.fixture(scope="module")
def project(tiny_project, tmp_path_factory):
    """A project on four of the tiny corpus's videos (2 workers), with its outputs computed once
    under the old params (detect_every 3) and once under the new ones (2)."""
    d = make_project(tmp_path_factory.mktemp("interrupt"), tiny_project.root,
                     **{"features.workers": 2})
    utts = pd.read_csv(tiny_project.dir / "data/pairs/utterances.csv", keep_default_na=False)
    keep = sorted(utts["video"].unique())[:4]     # enough work that a signal lands mid-run
    (d / "data/pairs").mkdir(parents=True)
    utts[utts["video"].isin(keep)].to_csv(d / "data/pairs/utterances.csv", index=False)
    refs = {}
    for every in (2, 3):
        set_detect_every(d, every)
        p = subprocess.run([sys.executable, "-m", "stages.extract", "face", "--no-progress"],
                           cwd=d, env=stage_env(), capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        assert "leaked" not in p.stderr and "Traceback" not in p.stderr, p.stderr
        refs[every] = outputs(d)
    assert refs[2] != refs[3]
    return d, refs[3], refs[2]


def set_detect_every(d: Path, every: int) -> None:
    prm = yaml.safe_load((d / "params.yaml").read_text())
    prm["features"]["face"]["detect_every"] = every
    (d / "params.yaml").write_text(yaml.safe_dump(prm, sort_keys=False))


def outputs(d: Path) -> dict:
    assert sorted(p.name for p in (d / "features").iterdir()) == sorted(OUTS)   # nothing stray
    # digests, not bytes: a failing comparison of megabytes would keep pytest's diff busy
    return {n: hashlib.sha256((d / "features" / n).read_bytes()).hexdigest() for n in OUTS}


def start(d: Path) -> tuple[subprocess.Popen, Path]:
    err = d / "stderr.txt"
    proc = subprocess.Popen([sys.executable, "-m", "stages.extract", "face"], cwd=d,
                            env=stage_env(), stdout=subprocess.DEVNULL, stderr=open(err, "w"),
                            start_new_session=True, preexec_fn=_terminal_signals)
    return proc, err


def _terminal_signals() -> None:
    """The child starts as from a terminal: Ctrl-C and SIGTERM at their defaults, whatever this
    test process inherited or was left with (an ignored SIGINT is inherited across exec)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def wait_for(cond, timeout=120.0, step=0.05):
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout, "timed out"
        time.sleep(step)


def group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize("sig, group, rc", [
    (signal.SIGTERM, False, 143),         # kill <pid>, DVC, a scheduler
    (signal.SIGINT, True, 130),           # Ctrl-C: the whole foreground process group
    (signal.SIGKILL, False, -9),
])
def test_signal_mid_extraction_keeps_old_outputs(project, sig, group, rc):
    d, old, new = project
    set_detect_every(d, 2)
    try:
        proc, err = start(d)
        wait_for(lambda: "face:" in err.read_text())          # the pool is at work
        time.sleep(0.3)
        assert proc.poll() is None, "finished before the signal"
        (os.killpg if group else os.kill)(proc.pid, sig)
        assert proc.wait(60) == rc
        wait_for(lambda: group_gone(proc.pid), timeout=30)   # no worker left running
        text = err.read_text()
        # old outputs, or (a signal that landed while the finished files were being renamed
        # into place, with signals held) the complete new ones: never a mix
        assert outputs(d) in (old, new)
        if sig != signal.SIGKILL:
            lines = [x for x in text.replace("\r", "\n").splitlines()
                     if x.strip() and not x.startswith("face:")]
            assert lines == [f"interrupted ({sig.name}): stopped; no output was half-written"], text
    finally:
        set_detect_every(d, 3)


def test_sigkill_while_writing_leaves_old_or_new_and_the_next_run_cleans_up(project):
    d, old, new = project
    set_detect_every(d, 2)
    try:
        proc, err = start(d)
        feats = d / "features"
        while proc.poll() is None:
            if any(p.name.endswith((".tmp", atomic.JOURNAL_SUFFIX)) for p in feats.iterdir()):
                os.kill(proc.pid, signal.SIGKILL)
                break
        proc.wait(60)
        atomic.recover([feats / n for n in OUTS])
        assert outputs(d) in (old, new)
        p = subprocess.run([sys.executable, "-m", "stages.extract", "face", "--no-progress"],
                           cwd=d, env=stage_env(), capture_output=True, text=True)
        assert p.returncode == 0 and outputs(d) == new
    finally:
        set_detect_every(d, 3)
    shutil.rmtree(d / "features")
