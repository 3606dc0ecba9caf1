"""Empathic: multimodal emotion research pipeline on dyadic conversation corpora."""
import os as _os
from pathlib import Path as _Path

__version__ = "0.1.0"


def _numba_cache_dir() -> str:
    """Numba (through librosa) caches compiled code beside its sources unless told otherwise,
    i.e. inside site-packages: keep it in the checkout's .numba_cache, or the user's cache."""
    repo = _Path(__file__).resolve().parents[1]
    if (repo / "pyproject.toml").is_file() and _os.access(repo, _os.W_OK):
        return str(repo / ".numba_cache")
    base = _os.environ.get("XDG_CACHE_HOME") or _os.path.join(_os.path.expanduser("~"), ".cache")
    return _os.path.join(base, "empathic", "numba")


_os.environ.setdefault("NUMBA_CACHE_DIR", _numba_cache_dir())
