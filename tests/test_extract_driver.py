"""The extract driver: a corpus without a modality (IEMOCAP has no physio) gets an all-failed
file with the reason, and the stage still succeeds; faults injected into a copy of the sample
corpus are failed rows with reasons, and the threshold names its param."""
import pandas as pd
import yaml

from empathic import store

from conftest import run_stage


def test_absent_modality_is_marked_not_fatal(tiny_project):
    p = run_stage(["stages.extract", "physio", "--no-progress"], cwd=tiny_project.dir)
    assert "no physiological signals" in p.stdout
    f = store.read(tiny_project.dir / "features/physio.h5")
    assert len(f) == len(tiny_project.utterances) and not f.ok.any()
    man = pd.read_csv(tiny_project.dir / "features/physio.failures.csv")
    assert len(man) == len(f) and man["reason"].str.contains("no physiological signals").all()


def test_faults_injected_into_a_copy_of_the_sample_corpus(tiny_project, tmp_path):
    """Missing wav, corrupt wav, corrupt video, empty transcript: each row is marked failed
    with its reason in the manifest and NaN vectors; the threshold names its param."""
    import shutil

    import numpy as np

    from conftest import make_project

    root = tmp_path / "corpus"
    shutil.copytree(tiny_project.root, root)
    proj = make_project(tmp_path / "proj", root, **{"features.max_failed_fraction": 1.0,
                                                     "features.workers": 2})
    shutil.copytree(tiny_project.dir / "data", proj / "data")
    utts = tiny_project.utterances
    missing, corrupt, silent = utts["utt_id"].iloc[[0, 1, 2]]
    (root / utts["wav"].iloc[0]).unlink()
    (root / utts["wav"].iloc[1]).write_bytes(b"RIFF not really a wav")
    bad_video = utts["video"].iloc[-1]
    (root / bad_video).write_bytes(b"\x00" * 4096)
    table = pd.read_csv(proj / "data/pairs/utterances.csv", keep_default_na=False)
    table.loc[table["utt_id"] == silent, "text"] = ""
    table.to_csv(proj / "data/pairs/utterances.csv", index=False)

    for name in ("text", "audio", "face"):
        run_stage(["stages.extract", name, "--no-progress"], cwd=proj)

    def failed(modality):
        f = store.read(proj / f"features/{modality}.h5")
        assert np.isnan(f.pooled[~f.ok]).all() and np.isfinite(f.pooled[f.ok]).all()
        man = pd.read_csv(proj / f"features/{modality}.failures.csv")
        assert sorted(man["utt_id"]) == sorted(f.ids[~f.ok])
        return dict(zip(man["utt_id"], man["reason"]))

    assert failed("text") == {silent: "empty transcript"}
    audio = failed("audio")
    assert set(audio) == {missing, corrupt}
    assert audio[missing].startswith("missing wav") and audio[corrupt].startswith("unreadable wav")
    in_bad_video = set(utts.loc[utts["video"] == bad_video, "utt_id"])
    for modality in ("video", "landmarks"):
        reasons = failed(modality)
        assert set(reasons) == in_bad_video
        assert all(r.startswith("unreadable video") for r in reasons.values())

    prm = yaml.safe_load((proj / "params.yaml").read_text())
    prm["features"]["max_failed_fraction"] = 0.01
    (proj / "params.yaml").write_text(yaml.safe_dump(prm, sort_keys=False))
    p = run_stage(["stages.extract", "audio", "--no-progress"], cwd=proj, check=False)
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0 and "features.max_failed_fraction" in p.stderr
