"""What DVC shows of the committed metrics: a long table that fits a wide terminal.

`dvc metrics show` draws one row per metrics file and one column per key of all files together,
so the headline is metrics/<task>.json ({"best"}) plus one small file per model and baseline;
the full report (per fold, per seed, per class, pooled, every comparison) is
metrics/<task>/report.json, which DVC does not read as a metric.
"""
import json
import subprocess
import sys
from pathlib import Path

from empathic.scoring import report
from tests.conftest import REPO, stage_env

WIDTH = 300
DVC = str(Path(sys.executable).parent / "dvc")


def test_dvc_metrics_show_fits_a_wide_terminal():
    p = subprocess.run([DVC, "metrics", "show"], cwd=REPO, env=stage_env(), capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert max(map(len, lines)) <= WIDTH, max(map(len, lines))
    rows = {ln.split()[0]: ln for ln in lines[1:]}
    assert not any(path.endswith("report.json") for path in rows)
    for task in report.HEADLINE:
        head, full, table = report.paths(REPO / "metrics" / f"{task}.json")
        doc = json.loads(full.read_text())
        if "skipped" in doc:
            continue
        assert doc["best"] in rows[f"metrics/{task}.json"]
        names = [*doc["models"], *doc["baselines"]]
        assert sorted(p.stem for p in table.iterdir()) == sorted(names)
        for name in names:       # every model and baseline is a row with its headline metrics
            assert f"metrics/{task}/table/{name}.json" in rows


def test_headline_is_written_from_the_full_report():
    """The committed headline files are exactly what `report.headline` makes of the report."""
    for task in report.HEADLINE:
        head, full, table = report.paths(REPO / "metrics" / f"{task}.json")
        task_row, rows = report.headline(task, json.loads(full.read_text()))
        assert json.loads(head.read_text()) == task_row
        assert {p.stem: json.loads(p.read_text()) for p in table.iterdir()} == rows
