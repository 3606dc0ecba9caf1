"""Params loading and validation give one clear line naming the param."""
import pytest

from empathic import params as P
from empathic.errors import ParamError


def test_lookup_and_validation(tmp_path):
    f = tmp_path / "params.yaml"
    f.write_text("a:\n  b: 3\n  c: [x, y]\n  d: nope\n")
    prm = P.load(f)
    assert P.get(prm, "a.b") == 3
    assert P.number(prm, "a.b", lo=0, integer=True) == 3
    assert P.subset(prm, "a.c", ["x", "y", "z"]) == ["x", "y"]
    with pytest.raises(ParamError, match="'a.missing'"):
        P.get(prm, "a.missing")
    with pytest.raises(ParamError, match="'a.d'.*expected one of"):
        P.choice(prm, "a.d", ["yes", "no"])
    with pytest.raises(ParamError, match="must be <= 2"):
        P.number(prm, "a.b", hi=2)
    with pytest.raises(ParamError, match="'a.c'"):
        P.subset(prm, "a.c", ["x"])


def test_bad_yaml_and_missing_file(tmp_path):
    with pytest.raises(ParamError, match="not found"):
        P.load(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(ParamError, match="not valid YAML"):
        P.load(bad)
