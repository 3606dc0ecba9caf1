"""`dvc exp run -S key=value` rewrites params.yaml through DVC's own YAML round trip; the file is
written the way that round trip writes it back, so an experiment's params differ from the
repository's only in the keys it sets (the diff `dvc exp show`/`git diff` shows stays one line)."""
import difflib
import shutil

import pytest
import yaml
from dvc.utils.hydra import apply_overrides    # what `dvc exp run -S` calls on params.yaml

from conftest import REPO


@pytest.mark.parametrize("override, key", [
    ("training.workers=1", "training.workers"),
    ("tasks.emotion.epochs=3", "tasks.emotion.epochs"),
    ("features.physio.signals=[eda,temp]", "features.physio.signals"),   # a list
    ("tasks.response.seed=4", "tasks.response.seed"),                     # a null set
    ("dask.address=tcp://localhost:8786", "dask.address"),
])
def test_one_set_param_changes_only_its_own_lines(tmp_path, override, key):
    path = tmp_path / "params.yaml"
    shutil.copy(REPO / "params.yaml", path)
    before = path.read_text().splitlines()
    apply_overrides(str(path), [override])
    after = path.read_text().splitlines()
    changed = [line for line in difflib.unified_diff(before, after, lineterm="", n=0)
               if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    old, new = yaml.safe_load("\n".join(before)), yaml.safe_load("\n".join(after))
    leaf = key.split(".")[-1]
    assert 1 <= len(changed) <= 2, changed        # the value's own line (or the list item gone)
    # every other value is the same
    for part in key.split(".")[:-1]:
        old, new = old[part], new[part]
    old.pop(leaf), new.pop(leaf)
    assert old == new


def test_a_no_op_set_leaves_params_yaml_byte_identical(tmp_path):
    path = tmp_path / "params.yaml"
    shutil.copy(REPO / "params.yaml", path)
    seed = yaml.safe_load(path.read_text())["base"]["seed"]
    apply_overrides(str(path), [f"base.seed={seed}"])
    assert path.read_text() == (REPO / "params.yaml").read_text()
