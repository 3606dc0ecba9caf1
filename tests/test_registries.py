"""The lists written in more than one place agree with the registry each one copies.

DVC cannot interpolate a Python list, so dvc.yaml's `foreach` lists are written out; this test
holds them (and the other readers of the task list) to the registries: the task modules under
empathic/training/tasks, the extractor registry and the corpora's release folders.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from empathic import extractors
from empathic.config import schema
from empathic.corpora import RELEASE_FOLDERS
from empathic.training.task import available

REPO = Path(__file__).resolve().parents[1]
DVC = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
PARAMS = yaml.safe_load((REPO / "params.yaml").read_text())


def test_dvc_task_stages_are_the_params_task_sections():
    """train@ and evaluate@ iterate over params.yaml's tasks: one stage per task section, and
    every task module has one (schema.Tasks accepts no other key)."""
    assert DVC["train"]["foreach"] == DVC["evaluate"]["foreach"] == "${tasks}"
    assert sorted(PARAMS["tasks"]) == available() == schema.task_modules()


def test_dvc_extract_stages_follow_the_extractor_registry():
    assert sorted(DVC["extract"]["foreach"]) == sorted(extractors.REGISTRY)
    for key, item in DVC["extract"]["foreach"].items():
        assert (item["m1"], item["m2"]) == (extractors.REGISTRY[key][1] * 2)[:2], key
        assert set(extractors.REGISTRY[key][1]) <= set(schema.MODALITIES)


def test_dvc_sample_stages_follow_the_release_folders():
    assert {k: v["dir"] for k, v in DVC["sample"]["foreach"].items()} == RELEASE_FOLDERS


def test_headline_metrics_name_tasks():
    from empathic.scoring import report
    assert set(report.HEADLINE) <= set(available())
