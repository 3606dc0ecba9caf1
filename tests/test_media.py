"""Media manifests: `pairs` lists exactly the files each extractor reads (from os.stat, never
reading them), and with real DVC a replaced video reruns the face pass only, not audio or text."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from conftest import dvc_project, stage_env
from empathic import media
from empathic.extractors.physio import session_folder
from kemdy_fixture import write_kemdy20

BIN = Path(sys.executable).parent


def test_manifests_list_exactly_what_each_extractor_reads(tiny_project):
    utts, d = tiny_project.utterances, tiny_project.dir / "data" / "pairs"
    audio = pd.read_csv(d / "media_audio.csv")
    video = pd.read_csv(d / "media_video.csv")
    assert list(audio.columns) == media.COLUMNS
    assert audio["path"].tolist() == sorted(utts["wav"].unique())
    assert video["path"].tolist() == sorted(utts["video"].dropna().unique())
    for rel, size, mtime in video.itertuples(index=False):
        st = os.stat(tiny_project.root / rel)
        assert (size, mtime) == (st.st_size, st.st_mtime_ns)
    assert pd.read_csv(d / "media_physio.csv").empty          # IEMOCAP has no signals


def test_missing_file_is_listed_without_reading(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"x" * 10)
    m = media.manifest(tmp_path, ["b.wav", "a.wav"])
    assert m.values.tolist()[1] == ["b.wav", -1, -1] and m.values.tolist()[0][:2] == ["a.wav", 10]


def test_physio_manifest_holds_the_session_signal_files(tmp_path):
    write_kemdy20(tmp_path, n_sessions=3)
    from empathic.corpora.kemdy20 import read_kemdy20
    utts = read_kemdy20(tmp_path)
    got = media.files("physio", utts, tmp_path)
    want = sorted(str(p.relative_to(tmp_path)) for src in ("EDA", "TEMP", "IBI")
                  for p in (tmp_path / src).rglob("*.csv"))
    assert got == want and got
    for s in utts["session"].unique():
        assert media._session_folder(s) == session_folder(s)


def sh(args, cwd, env) -> str:
    p = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert p.returncode == 0, f"{' '.join(map(str, args))} failed:\n{p.stdout}\n{p.stderr}"
    return p.stdout + p.stderr


def test_replaced_video_reruns_only_the_face_pass(tiny_project, tmp_path):
    """Real DVC: the corpus lies outside the project (a user's own copy)."""
    corpus = tmp_path / "corpus"
    shutil.copytree(tiny_project.root, corpus)
    root = tmp_path / "proj"
    dvc_project(root, **{"data.root": str(corpus), "features.workers": 2})
    env = stage_env()
    env.pop("PYTHONPATH")
    env.update(PATH=f"{BIN}{os.pathsep}{env['PATH']}", OMP_NUM_THREADS="1")
    dvc = [str(BIN / "dvc")]
    sh(["git", "init", "-q"], root, env)
    sh(dvc + ["init", "-q"], root, env)
    sh(dvc + ["config", "core.analytics", "false"], root, env)
    targets = ["extract@text", "extract@audio", "extract@face"]

    def ran(log):
        return set(re.findall(r"Running stage '([^']+)'", log))

    assert ran(sh(dvc + ["repro", *targets], root, env)) == {"check", "pairs", *targets}
    keep = {m: (root / f"features/{m}.h5").read_bytes() for m in ("text", "audio")}
    videos = sorted(corpus.glob("Session*/dialog/avi/DivX/*.avi"))
    shutil.copyfile(videos[1], videos[0])                  # a replaced video
    log = sh(dvc + ["repro", *targets], root, env)
    # pairs re-reads the annotations and stats the media (seconds); its tables are unchanged
    assert ran(log) == {"pairs", "extract@face"}, log
    assert {m: (root / f"features/{m}.h5").read_bytes() for m in ("text", "audio")} == keep
    assert ran(sh(dvc + ["repro", *targets], root, env)) == set()
