"""Shared test fixtures and helpers.

`run_stage` runs `python -m stages.<name>` in a project folder the way DVC does (cwd = project,
the repository on PYTHONPATH). `tiny_project` (session scope) generates a tiny sample corpus with
the real generator and runs the real `pairs` stage on it.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def stage_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("NUMBA_CACHE_DIR", str(REPO / ".numba_cache"))
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    return env


def run_stage(args: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    """Run `python -m stages.<args...>` with cwd=`cwd`; return the completed process."""
    p = subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=stage_env(),
                       capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO
