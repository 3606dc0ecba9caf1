"""A full disk ends a stage with one line naming the output; the old outputs stay.

The limit is real: the child process runs under RLIMIT_FSIZE (SIGXFSZ ignored, so a write past
the limit fails with EFBIG, as one on a full disk fails with ENOSPC; both are handled alike).
"""
import resource
import signal
import subprocess
import sys
from pathlib import Path

from conftest import stage_env
from test_pairs import OUTS, outputs, project


def _limited(limit: int):
    def pre():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return pre


def run_limited(args: list[str], cwd: Path, limit: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, env=stage_env(), capture_output=True,
                          text=True, timeout=300, preexec_fn=_limited(limit))


def one_error_line(p: subprocess.CompletedProcess) -> str:
    assert p.returncode == 2, (p.returncode, p.stderr)
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("error: cannot write ") and "previous output is kept" in lines[0]
    return lines[0]


def test_pairs_on_a_full_disk_is_one_line_and_keeps_its_outputs(tmp_path):
    assert run_limited(["-m", "stages.pairs"], project(tmp_path), 1 << 30).returncode == 0
    before = outputs(tmp_path)
    project(tmp_path, gap=10.0)                      # a change that rewrites the outputs
    line = one_error_line(run_limited(["-m", "stages.pairs"], tmp_path, 2000))
    assert "data/pairs/utterances.csv" in line and "File too large" in line
    assert outputs(tmp_path) == before
    assert sorted(p.name for p in (tmp_path / "data/pairs").iterdir()) == sorted(OUTS)


WRITE_FEATURES = """
import numpy as np
from empathic import cli, store
n = 3000
rng = np.random.default_rng(0)
feats = store.Features("text", [f"u{i}" for i in range(n)], np.ones(n, bool),
                       rng.random((n, 384)).astype(np.float32), [f"d{i}" for i in range(384)],
                       frames=[rng.random((20, 16)) for _ in range(n)],
                       frame_names=[f"f{i}" for i in range(16)])
cli.run(lambda: store.write("features/text.h5", feats))
"""


def test_feature_file_on_a_full_disk_is_one_line_no_crash(tmp_path):
    """extract's write (store.write): no HDF5 tracebacks, no segfault at exit (exit 139
    before), the previous file intact, no temporary left, and the space it needs."""
    (tmp_path / "features").mkdir()
    old = tmp_path / "features/text.h5"
    old.write_bytes(b"the previous features")
    line = one_error_line(run_limited(["-c", WRITE_FEATURES], tmp_path, 1 << 20))
    assert "features/text.h5" in line and "MiB needed" in line
    assert old.read_bytes() == b"the previous features"
    assert [p.name for p in (tmp_path / "features").iterdir()] == ["text.h5"]


WRITE_TOGETHER = """
from pathlib import Path
from empathic import cli
from empathic.atomic import replace_together
def main():
    with replace_together([Path("models/t"), Path("live/t")]) as (m, live):
        m.mkdir(parents=True)
        (m / "fusion.pt").write_bytes(b"x" * (4 << 20))
        live.mkdir(parents=True)
cli.run(main)
"""


def test_models_written_together_on_a_full_disk(tmp_path):
    """train's write (models and curves replaced together): one line naming both."""
    for d in ("models/t", "live/t"):
        (tmp_path / d).mkdir(parents=True)
        (tmp_path / d / "old").write_text("old")
    line = one_error_line(run_limited(["-c", WRITE_TOGETHER], tmp_path, 1 << 20))
    assert "models/t, live/t" in line
    for d in ("models", "live"):
        assert [p.name for p in (tmp_path / d).iterdir()] == ["t"]
        assert [p.name for p in (tmp_path / d / "t").iterdir()] == ["old"]


def test_enospc_anywhere_is_one_line(tmp_path, capsys):
    """ENOSPC inside an atomic write names the output; one from any other write names the
    file the OSError names (cli.run), without a traceback."""
    import errno
    import os

    import pytest

    from empathic import cli
    from empathic.atomic import DiskFull, atomic_path
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    with pytest.raises(DiskFull, match=r"cannot write .*x\.csv: No space left on device \(.* free"):
        with atomic_path(tmp_path / "x.csv") as tmp:
            tmp.write_text("partial")
            raise full
    assert list(tmp_path.iterdir()) == []

    def main():
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "cache.bin"))
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with pytest.raises(SystemExit) as e:
            cli.run(main)
    finally:                       # cli.run installs the stage's handlers: give pytest its own
        for s, h in saved.items():
            signal.signal(s, h)
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1
    assert err.startswith(f"error: cannot write {tmp_path / 'cache.bin'}: No space left on device")
