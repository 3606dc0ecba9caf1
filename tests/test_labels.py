"""Label sets: merges, left-out counts, and a class without examples is an error naming the
param instead of a model that reports recall 0 for it."""
import pytest

from empathic import labels as L
from empathic.errors import ParamError


def test_encode_merges_and_counts_left_out():
    ls = L.LabelSet(("neu", "hap", "ang", "sad"), {"exc": "hap"})
    y, left = ls.encode(["neu", "exc", "hap", "fru", "ang", "sad", "xxx", "fru"])
    assert y.tolist() == [0, 1, 1, -1, 2, 3, -1, -1]
    assert left == {"fru": 2, "xxx": 1}


def test_empty_class_is_an_error_naming_the_param():
    prm = {"tasks": {"context": {"classes": ["neu", "hap", "xyz"], "merge": {"exc": "hap"}}}}
    ls = L.from_params(prm, "tasks.context")
    with pytest.raises(ParamError) as e:
        ls.encode(["neu", "exc", "hap", "fru"])
    msg = str(e.value)
    assert msg.startswith("param 'tasks.context.classes': no utterance is labelled xyz (of 4; ")
    assert "'tasks.context.merge'" in msg and "\n" not in msg


def test_messages_name_the_section():
    with pytest.raises(ParamError, match=r"^tasks.context.merge maps to codes"):
        L.from_params({"tasks": {"context": {"classes": ["a", "b"], "merge": {"x": "c"}}}},
                      "tasks.context")
