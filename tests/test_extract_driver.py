"""The extract driver: a corpus without a modality (IEMOCAP has no physio) gets an all-failed
file with the reason, and the stage still succeeds; the threshold applies to real failures."""
import pandas as pd

from empathic import store

from conftest import run_stage


def test_absent_modality_is_marked_not_fatal(tiny_project):
    p = run_stage(["stages.extract", "physio", "--no-progress"], cwd=tiny_project.dir)
    assert "no physiological signals" in p.stdout
    f = store.read(tiny_project.dir / "features/physio.h5")
    assert len(f) == len(tiny_project.utterances) and not f.ok.any()
    man = pd.read_csv(tiny_project.dir / "features/physio.failures.csv")
    assert len(man) == len(f) and man["reason"].str.contains("no physiological signals").all()
