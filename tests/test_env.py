"""The locked environment: requirements.lock pins every package (those of requirements.txt
among them) to an exact version; the package itself keeps numba's cache out of site-packages."""
import os
import re
import subprocess
import sys

from conftest import REPO

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==[0-9][^\s=;]*$")


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_lock_pins_every_package_exactly():
    lines = [x for x in (REPO / "requirements.lock").read_text().splitlines()
             if x.strip() and not x.startswith("#")]
    assert lines and all(PIN.match(x) for x in lines), [x for x in lines if not PIN.match(x)]
    locked = {norm(PIN.match(x).group(1)) for x in lines}
    assert len(locked) == len(lines)                          # one version per package
    wanted = set()
    for x in (REPO / "requirements.txt").read_text().splitlines():
        x = x.split("#")[0].strip()
        if x:
            wanted.add(norm(re.split(r"[\[<>=!~; ]", x)[0]))
    assert wanted <= locked, f"not in requirements.lock (run `make lock`): {wanted - locked}"
    assert "torch==2.13.0+cpu" in lines or any(x.startswith("torch==2.13.0") for x in lines)


def test_numba_cache_is_set_by_the_package():
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    code = "import empathic, numba; print(numba.config.CACHE_DIR)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == str(REPO / ".numba_cache")
