"""Corpus text files are decoded strictly: BOMs and UTF-16 are detected, latin-1 only where the
bytes are latin-1 text, cp949 for KEMDy; anything else is one error naming the file."""
from __future__ import annotations

import shutil

import pytest

from conftest import run_stage
from empathic.corpora.encoding import decode
from empathic.corpora.iemocap import read_iemocap
from empathic.corpora.kemdy20 import read_kemdy20
from empathic.errors import CorpusError
from iemocap_fixture import write_corpus
from kemdy_fixture import write_kemdy20

TEXT = "Ses01F_impro01_F000 [001.0000-003.0000]: Caf\u00e9, s'il vous pla\u00eet.\r\n"
KOREAN = "\uc548\ub155\ud558\uc138\uc694, \ubc18\uac11\uc2b5\ub2c8\ub2e4."


@pytest.mark.parametrize("data, legacy, enc", [
    (TEXT.encode("utf-8"), "latin-1", "utf-8"),
    (b"\xef\xbb\xbf" + TEXT.encode("utf-8"), "latin-1", "utf-8"),
    (TEXT.encode("utf-16"), "latin-1", "utf-16-le"),                 # BOM (LE on this machine)
    (b"\xfe\xff" + TEXT.encode("utf-16-be"), "latin-1", "utf-16-be"),
    (TEXT.encode("utf-16-le"), "latin-1", "utf-16-le"),              # no BOM: NULs tell
    (TEXT.encode("utf-16-be"), "latin-1", "utf-16-be"),
    (TEXT.encode("utf-32"), "latin-1", "utf-32-le"),
    (TEXT.encode("latin-1"), "latin-1", "latin-1"),
    (KOREAN.encode("cp949"), "cp949", "cp949"),
    (KOREAN.encode("utf-16"), "cp949", "utf-16-le"),
])
def test_decodes_what_the_bytes_are(data, legacy, enc):
    text, used = decode(data, "f.txt", legacy)
    assert used == enc
    assert text.lstrip("\ufeff") in (TEXT, KOREAN) and not text.startswith("\ufeff")


@pytest.mark.parametrize("data, legacy, match", [
    (b"abc \x81\x8d\x90 def\n", "latin-1", "f.txt: not UTF-8, UTF-16 or latin-1 text"),
    (b"abc\x00\x01\x02\x03\x04\x05\x06", "latin-1", "control character .* as utf-8: not a text"),
    (b"\xff\xfe\x00\xd8", "latin-1", "byte-order mark but does not decode as utf-16-le"),
    (b"\xa1\xff\xfe ok", "cp949", "not UTF-8, UTF-16 or cp949 text"),
])
def test_garbage_is_an_error_naming_the_file(data, legacy, match):
    with pytest.raises(CorpusError, match=match):
        decode(data, "f.txt", legacy)


@pytest.fixture()
def corpus(tmp_path):
    return write_corpus(tmp_path / "corpus" / "IEMOCAP_full_release")


def transcription(root, dialog="Ses01F_impro01"):
    return root / "Session1" / "dialog" / "transcriptions" / f"{dialog}.txt"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-8-sig"])
def test_iemocap_transcript_in_utf16_reads_the_same_text(corpus, encoding):
    before = read_iemocap(corpus).set_index("utt_id")["text"]
    for path in (transcription(corpus),
                 corpus / "Session1" / "dialog" / "EmoEvaluation" / "Ses01F_impro01.txt"):
        path.write_bytes(path.read_text(encoding="utf-8").encode(encoding))
    after = read_iemocap(corpus).set_index("utt_id")["text"]
    assert after.equals(before) and after["Ses01F_impro01_F000"] == "Excuse me."


def test_kemdy_transcripts_in_cp949_and_utf16(tmp_path):
    plan = write_kemdy20(tmp_path, n_sessions=3)
    sg = plan[0]
    txt = next(tmp_path.glob(f"wav/*/{sg['id']}.txt"))
    txt.write_bytes(KOREAN.encode("utf-16"))
    txt2 = next(tmp_path.glob(f"wav/*/{plan[1]['id']}.txt"))
    txt2.write_bytes(KOREAN.encode("cp949"))
    rows = read_kemdy20(tmp_path).set_index("utt_id")["text"]
    assert rows[sg["id"]] == KOREAN and rows[plan[1]["id"]] == KOREAN


def test_pairs_stage_names_an_undecodable_transcript(corpus, repo):
    """Bytes that are neither UTF-8/16 nor latin-1 text: one line naming the file, exit 2, no
    output written (the old behaviour: latin-1 garbage, every line 'without an utterance id')."""
    import yaml
    proj = corpus.parent.parent
    prm = yaml.safe_load((repo / "params.yaml").read_text())
    prm["data"]["root"] = str(corpus)
    (proj / "params.yaml").write_text(yaml.safe_dump(prm, sort_keys=False))
    path = transcription(corpus)
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16-le").replace(b"\x00", b"\x81"))
    p = run_stage(["stages.pairs"], proj, check=False)
    assert p.returncode == 2 and p.stderr.count("\n") == 1
    assert p.stderr.startswith(f"error: {path}: not UTF-8, UTF-16 or latin-1 text")
    assert not (proj / "data" / "pairs").exists()
    shutil.rmtree(proj / "corpus")
