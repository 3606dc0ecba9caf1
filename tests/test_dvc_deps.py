"""dvc.yaml's deps follow the code: every repository file a stage's command imports (statically,
function-level imports included, plus the extractor or task module its `@key` names) is among the
stage's deps, so a change to it makes `dvc repro` rerun the stage.

Exempt: plumbing whose change cannot change a stage's outputs — error messages, the CLI wrapper,
the atomic-write helpers and the executors (outputs are byte-identical whatever executes them, a
tested property). A dep that names a folder covers every file under it.
"""
from __future__ import annotations

import ast
import copy
import re
from pathlib import Path

import pytest
import yaml

from empathic import extractors

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("empathic", "stages")
EXEMPT = {
    "empathic/errors.py", "empathic/cli.py", "empathic/atomic.py",
    "empathic/execution/__init__.py", "empathic/execution/base.py",
    "empathic/execution/dask_cluster.py",
    "empathic/__init__.py",      # the numba cache folder only
    "stages/__init__.py",
}


def module_file(name: str) -> str | None:
    """The repository file of a dotted module name (module or package), or None."""
    base = REPO.joinpath(*name.split("."))
    for cand in (base.with_suffix(".py"), base / "__init__.py"):
        if cand.is_file():
            return cand.relative_to(REPO).as_posix()
    return None


def with_parents(name: str) -> list[str]:
    """Importing a.b.c runs a/__init__ and a/b/__init__ too."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def imports_of(path: str) -> set[str]:
    """Dotted names of the repository modules a file imports anywhere in its body."""
    file = REPO / path
    pkg = path.removesuffix(".py").replace("/", ".")
    if file.name != "__init__.py":
        pkg = pkg.rpartition(".")[0]
    else:
        pkg = pkg.removesuffix(".__init__")
    out: set[str] = set()
    for node in ast.walk(ast.parse(file.read_text(), path)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            names = [mod] + [f"{mod}.{a.name}" for a in node.names]
        else:
            continue
        for n in names:
            if n.split(".")[0] in PACKAGES:
                out.update(m for m in with_parents(n) if module_file(m))
    return out


def closure(modules: list[str]) -> set[str]:
    """Every repository file reached from `modules` through imports."""
    seen: set[str] = set()
    todo = [m for name in modules for m in with_parents(name)]
    while todo:
        f = module_file(todo.pop())
        if f is None or f in seen:
            continue
        seen.add(f)
        todo.extend(imports_of(f))
    return seen


def key_modules(stage_module: str, key: str | None) -> list[str]:
    """The module a stage loads by name from its `@key` (the registries' own lists)."""
    if key is None:
        return []
    if stage_module == "stages.extract":
        return [extractors.REGISTRY[key][0]]
    if stage_module in ("stages.train", "stages.evaluate"):
        return [f"empathic.training.tasks.{key}"]
    return []


def _lookup(params: dict, dotted: str):
    v = params
    for part in dotted.split("."):
        v = v[part]
    return v


def _subst(value, ctx: dict):
    if isinstance(value, str):
        return re.sub(r"\$\{([^}]+)\}", lambda m: str(_lookup(ctx, m.group(1))), value)
    if isinstance(value, list):
        return [_subst(v, ctx) for v in value]
    if isinstance(value, dict):
        return {_subst(k, ctx): _subst(v, ctx) for k, v in value.items()}
    return value


def stages(dvc: dict, params: dict) -> dict[str, dict]:
    """dvc.yaml's stages with foreach expanded and ${...} filled from params."""
    out = {}
    for name, st in dvc["stages"].items():
        if "foreach" in st:
            each = st["foreach"]
            if isinstance(each, str):                      # ${tasks}: a params mapping
                each = _lookup(params, each.strip()[2:-1])
            for key, item in each.items():
                out[f"{name}@{key}"] = _subst(st["do"], {**params, "key": key, "item": item})
        else:
            out[name] = _subst(st, params)
    return out


def missing_deps(dvc: dict, params: dict) -> dict[str, list[str]]:
    """Per stage, the imported repository files its deps do not cover."""
    gaps = {}
    for name, st in stages(dvc, params).items():
        cmd = st["cmd"].split()
        assert cmd[:2] == ["python", "-m"], st["cmd"]
        key = cmd[3] if len(cmd) > 3 and not cmd[3].startswith("-") else None
        need = closure([cmd[2], *key_modules(cmd[2], key)]) - EXEMPT
        deps = [d.rstrip("/") for d in st.get("deps", [])]
        lack = sorted(f for f in need if not any(f == d or f.startswith(d + "/") for d in deps))
        if lack:
            gaps[name] = lack
    return gaps


@pytest.fixture(scope="module")
def project():
    return (yaml.safe_load((REPO / "dvc.yaml").read_text()),
            yaml.safe_load((REPO / "params.yaml").read_text()))


def test_every_stage_depends_on_the_code_it_imports(project):
    dvc, params = project
    assert missing_deps(dvc, params) == {}


def test_a_planted_missing_dep_is_found(project):
    dvc, params = project
    planted = copy.deepcopy(dvc)
    deps = planted["stages"]["train"]["do"]["deps"]
    deps.remove("empathic/nets")
    gaps = missing_deps(planted, params)
    assert set(gaps) == {f"train@{k}" for k in params["tasks"]}
    assert "empathic/nets/fusion.py" in gaps["train@emotion"]
    assert "empathic/nets" not in str(missing_deps(dvc, params))


def test_the_closure_follows_function_level_and_relative_imports():
    got = closure(["stages.extract"])
    assert "empathic/store.py" in got and "empathic/extractors/__init__.py" in got
    assert closure(["empathic.training.tasks.response"]) >= {
        "empathic/scoring/landmarks.py", "empathic/training/task.py"}


def test_code_folder_deps_hash_the_tracked_files_only():
    """A code folder's hash in dvc.lock counts the files git tracks there, never the bytecode a
    machine without PYTHONDONTWRITEBYTECODE writes beside them (.dvcignore), so the same code
    gives the same dvc.lock on every machine and clone."""
    import subprocess
    lock = yaml.safe_load((REPO / "dvc.lock").read_text())
    tracked = subprocess.run(["git", "ls-files", *PACKAGES], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout.split()
    seen = 0
    for name, st in lock["stages"].items():
        for dep in st.get("deps", []):
            if "nfiles" in dep and dep["path"].split("/")[0] in PACKAGES:
                n = sum(f.startswith(dep["path"].rstrip("/") + "/") for f in tracked)
                assert dep["nfiles"] == n, (name, dep["path"], dep["nfiles"], n)
                seen += 1
    assert seen
    assert {"__pycache__/", "*.pyc"} <= set((REPO / ".dvcignore").read_text().split())
