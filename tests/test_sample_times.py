"""The generated sample's files carry one fixed modification time, so the media manifests of
`pairs` (path, size, mtime) and with them dvc.lock are the same on every machine and clone."""
from pathlib import Path

import yaml

from conftest import TINY_SAMPLE, run_stage
from empathic.config import params as P
from empathic import media
from stages.sample import FILE_TIME_NS


def test_every_generated_file_has_the_fixed_time(tmp_path):
    sample = dict(P.get(P.load(Path(__file__).resolve().parents[1] / "params.yaml"), "sample"))
    sample.update(TINY_SAMPLE, out="data/sample", seed=1, dialogs_per_session=1,
                  turns_per_dialog=2, fps=5)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"sample": sample,
                                                          "features": {"workers": 1}}))
    run_stage(["stages.sample", "--no-progress"], cwd=tmp_path)
    files = [p for p in (tmp_path / "data/sample").rglob("*") if p.is_file()]
    assert len(files) > 10
    assert {p.stat().st_mtime_ns for p in files} == {FILE_TIME_NS}
    assert set(media.COLUMNS) >= {"size", "mtime_ns"}
