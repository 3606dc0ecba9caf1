"""IEMOCAP_full_release reader: one plain record per utterance, validated (lhotse-style).

    df = read_iemocap(Path("/data/IEMOCAP_full_release"))

Format facts handled:
- `SessionN/dialog/EmoEvaluation/<dialog>.txt` gives times and labels: `%` header lines,
  blank-line separated blocks whose first line is `[start - end]<TAB>id<TAB>code<TAB>[V, A, D]`,
  then per-rater lines `C-E2:<TAB>Neutral;<TAB>()` and `A-E3:<TAB>val 3; act 2; dom  2;<TAB>()`.
  Raw labels are kept (`xxx` included; no class merges here).
- `SessionN/dialog/transcriptions/<dialog>.txt` gives the text: `<id> [sss.ssss-eee.eeee]: text`;
  lines whose first token is not an utterance id carry no utterance and are skipped (counted).
  Transcription times must agree with EmoEvaluation times; an utterance with no transcription
  line gets empty text (counted).
- Files are UTF-8 or, failing that, latin-1.
- Ids `Ses01F_impro01_M003` = session Ses01, marker wearer F, dialogue `Ses01F_impro01`,
  speaker gender M; parts and suffixes (`Ses01F_script01_1`, `Ses03M_impro08b`) are part of the
  dialogue name. The marker wearer sits in the LEFT half of the video, the other actor right.
- Every utterance must have its `SessionN/sentences/wav/<dialog>/<id>.wav`; a dialogue without
  `SessionN/dialog/avi/DivX/<dialog>.avi` gets empty `video` and `video_side` (counted).

Rows are time-ordered within each dialogue (start, then end, then id), never ordered by id.
Notes about skipped or missing pieces are returned in `df.attrs["notes"]` for the caller to print.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ..errors import CorpusError
from .encoding import read_text
from ..tables import UTTERANCE_COLUMNS

CORPUS = "iemocap"
ID_RE = re.compile(r"^(Ses\d\d)([FM])_(.+)_([FM])(\d{3})$")
SESSION_DIR_RE = re.compile(r"^Session(\d+)$")
_NUM = r"([-+]?\d*\.?\d+)"
CONSENSUS_RE = re.compile(
    rf"^\[\s*{_NUM}\s*-\s*{_NUM}\s*\]\s+(\S+)\s+(\S+)\s+\[\s*{_NUM}\s*,\s*{_NUM}\s*,\s*{_NUM}\s*\]\s*$")
RATER_RE = re.compile(r"^([CA])-([^:\s]+):\s*(.*)$")
VAD_RE = re.compile(rf"^val\s*{_NUM}\s*;\s*act\s*{_NUM}\s*;\s*dom\s*{_NUM}")
TRANSCRIPTION_RE = re.compile(rf"^(\S+)\s*\[\s*{_NUM}\s*-\s*{_NUM}\s*\]:\s?(.*)$")
KINDS = ("impro", "script")
# Extra columns beyond the shared contract (empathic.tables.UTTERANCE_COLUMNS).
EXTRA_COLUMNS = ["dialog_kind", "marker", "n_raters", "raters_emotion", "raters_vad"]
COLUMNS = UTTERANCE_COLUMNS + EXTRA_COLUMNS
TIME_TOLERANCE_S = 0.5


def parse_utt_id(utt_id: str) -> dict | None:
    """Split an utterance id into session, marker, dialog, gender; None if it is not one."""
    m = ID_RE.match(utt_id)
    if not m:
        return None
    session, marker, rest, gender, _ = m.groups()
    return {"session": session, "marker": marker, "dialog": f"{session}{marker}_{rest}",
            "gender": gender, "kind": next((k for k in KINDS if rest.startswith(k)), "")}


def read_lines(path: Path) -> list[str]:
    """The file's lines: BOM / UTF-16 / UTF-8, else latin-1 where the bytes are latin-1 text;
    a CorpusError naming the file otherwise."""
    return read_text(path, "latin-1").splitlines()


def _rater_labels(rest: str) -> str:
    """'Neutral; Anger;<TAB>(comment)' -> 'Neutral,Anger' (the comment is dropped)."""
    labels = re.sub(r"\(.*\)\s*$", "", rest)
    return ",".join(x.strip() for x in labels.split(";") if x.strip())


def parse_emo_evaluation(path: Path) -> list[dict]:
    """Parse one EmoEvaluation file into records (times, labels, rater lines, source line)."""
    records: list[dict] = []
    cur: dict | None = None
    for lineno, raw in enumerate(read_lines(path), 1):
        line = raw.strip()
        where = f"{path}:{lineno}"
        if not line or line.startswith("%"):
            continue
        if line.startswith("["):
            m = CONSENSUS_RE.match(line)
            if not m:
                raise CorpusError(f"{where}: cannot parse consensus line {line[:80]!r} "
                                  "(expected '[start - end]<TAB>id<TAB>emotion<TAB>[V, A, D]')")
            start, end, utt_id, emotion, v, a, d = m.groups()
            cur = {"utt_id": utt_id, "start": float(start), "end": float(end),
                   "emotion": emotion, "valence": float(v), "arousal": float(a),
                   "dominance": float(d), "raters_c": [], "raters_a": [], "where": where}
            records.append(cur)
            continue
        m = RATER_RE.match(line)
        if not m or cur is None:
            raise CorpusError(f"{where}: unexpected line {line[:80]!r} (expected a consensus "
                              "line '[start - end] ...' or a rater line 'C-..:' / 'A-..:')")
        kind, rater, rest = m.groups()
        if kind == "C":
            cur["raters_c"].append(f"{rater}:{_rater_labels(rest)}")
        else:
            vad = VAD_RE.match(rest)
            if not vad:
                raise CorpusError(f"{where}: cannot parse rater line {line[:80]!r} "
                                  "(expected 'A-<rater>:<TAB>val N; act N; dom N;')")
            cur["raters_a"].append(f"{rater}:{','.join(vad.groups())}")
    return records


def parse_transcription(path: Path) -> tuple[dict[str, dict], int]:
    """Parse one transcription file: {utt_id: {start, end, text, where}} and the number of
    lines skipped because their first token is not an utterance id."""
    out: dict[str, dict] = {}
    skipped = 0
    for lineno, raw in enumerate(read_lines(path), 1):
        line = raw.strip()
        if not line:
            continue
        where = f"{path}:{lineno}"
        if parse_utt_id(re.split(r"[\s\[:]", line, maxsplit=1)[0]) is None:
            skipped += 1
            continue
        m = TRANSCRIPTION_RE.match(line)
        if not m:
            raise CorpusError(f"{where}: cannot parse transcription line {line[:80]!r} "
                              "(expected '<utt_id> [start-end]: text')")
        utt_id, start, end, text = m.groups()
        if utt_id in out:
            raise CorpusError(f"{where}: {utt_id} transcribed twice (first at {out[utt_id]['where']})")
        out[utt_id] = {"start": float(start), "end": float(end), "text": text.strip(), "where": where}
    return out, skipped


def session_dirs(root: Path) -> list[tuple[str, Path]]:
    """[(session name 'Ses01', folder Session1), ...]; errors when root is not IEMOCAP."""
    if not root.is_dir():
        raise CorpusError(f"corpus root {root} not found (set data.root in params.yaml)")
    found = []
    for d in sorted(root.iterdir()):
        m = SESSION_DIR_RE.match(d.name)
        if not m or not d.is_dir():
            continue
        if not (d / "dialog" / "EmoEvaluation").is_dir():
            raise CorpusError(f"{d}: no dialog/EmoEvaluation folder (incomplete IEMOCAP copy?)")
        found.append((f"Ses{int(m.group(1)):02d}", d))
    if not found:
        raise CorpusError(f"{root} is not an IEMOCAP corpus: no SessionN/dialog/EmoEvaluation "
                          "folders (data.corpus=iemocap expects IEMOCAP_full_release)")
    names = [s for s, _ in found]
    if len(set(names)) != len(names):
        raise CorpusError(f"{root}: session folders name the same session twice: "
                          f"{[d.name for _, d in found]}")
    return sorted(found)


def _dialog_files(folder: Path) -> list[Path]:
    """The <dialog>.txt files directly in a folder (hidden files such as '._x.txt' skipped)."""
    return sorted(p for p in folder.glob("*.txt") if p.is_file() and not p.name.startswith("."))


def _utterance_row(rec: dict, session: str, sess_dir: Path, dialog: str) -> dict:
    """Check one EmoEvaluation record against its file and build the output row."""
    where, utt_id = rec["where"], rec["utt_id"]
    info = parse_utt_id(utt_id)
    if info is None:
        raise CorpusError(f"{where}: bad utterance id {utt_id!r} "
                          "(expected e.g. Ses01F_impro01_M003)")
    if info["dialog"] != dialog or info["session"] != session:
        raise CorpusError(f"{where}: utterance {utt_id} does not belong to dialogue {dialog} "
                          f"of {sess_dir.name}")
    if not info["kind"]:
        raise CorpusError(f"{where}: dialogue {dialog} is neither impro nor script")
    if not rec["end"] >= rec["start"]:
        raise CorpusError(f"{where}: {utt_id} ends ({rec['end']}) before it starts ({rec['start']})")
    wav = f"{sess_dir.name}/sentences/wav/{dialog}/{utt_id}.wav"
    if not (sess_dir.parent / wav).is_file():
        raise CorpusError(f"{where}: {utt_id}: wav file missing: {sess_dir.parent / wav}")
    return {
        "utt_id": utt_id, "corpus": CORPUS, "session": session, "dialog": dialog,
        "speaker": f"{session}_{info['gender']}", "gender": info["gender"],
        "start": rec["start"], "end": rec["end"], "text": "",
        "emotion": rec["emotion"], "valence": rec["valence"], "arousal": rec["arousal"],
        "dominance": rec["dominance"], "wav": wav, "video": "",
        "video_side": "left" if info["gender"] == info["marker"] else "right",
        "dialog_kind": info["kind"], "marker": info["marker"],
        "n_raters": len(rec["raters_c"]), "raters_emotion": ";".join(rec["raters_c"]),
        "raters_vad": ";".join(rec["raters_a"]),
    }


def _attach_text(rows: list[dict], records: list[dict], trans_path: Path,
                 tolerance: float) -> tuple[int, int]:
    """Fill `text` from the transcription file; returns (skipped lines, rows without text)."""
    if not trans_path.is_file():
        return 0, len(rows)
    trans, skipped = parse_transcription(trans_path)
    missing = 0
    for row, rec in zip(rows, records):
        t = trans.get(row["utt_id"])
        if t is None:
            missing += 1
            continue
        if abs(t["start"] - row["start"]) > tolerance or abs(t["end"] - row["end"]) > tolerance:
            raise CorpusError(
                f"{t['where']}: {row['utt_id']} times [{t['start']}-{t['end']}] disagree with "
                f"{rec['where']} [{row['start']} - {row['end']}] by more than {tolerance} s")
        row["text"] = t["text"]
    return skipped, missing


def read_iemocap(root: Path, *, time_tolerance_s: float = TIME_TOLERANCE_S) -> pd.DataFrame:
    """Read an IEMOCAP_full_release folder into one validated row per utterance.

    Columns: empathic.tables.UTTERANCE_COLUMNS plus EXTRA_COLUMNS; `wav`/`video` relative to
    root. Raises CorpusError (naming file and line) on anything it cannot read.
    """
    root = Path(root)
    rows: list[dict] = []
    n_skipped = n_no_text = n_no_video = 0
    for session, sess_dir in session_dirs(root):
        for emo_path in _dialog_files(sess_dir / "dialog" / "EmoEvaluation"):
            dialog = emo_path.stem
            records = parse_emo_evaluation(emo_path)
            drows = [_utterance_row(r, session, sess_dir, dialog) for r in records]
            trans_path = sess_dir / "dialog" / "transcriptions" / f"{dialog}.txt"
            skipped, no_text = _attach_text(drows, records, trans_path, time_tolerance_s)
            video = f"{sess_dir.name}/dialog/avi/DivX/{dialog}.avi"
            has_video = (root / video).is_file()
            for row in drows:
                row["video"] = video if has_video else ""
                row["video_side"] = row["video_side"] if has_video else ""
            n_skipped, n_no_text = n_skipped + skipped, n_no_text + no_text
            n_no_video += 0 if has_video else len(drows)
            rows.extend(drows)
    if not rows:
        raise CorpusError(f"{root}: empty corpus: no utterance in any "
                          "SessionN/dialog/EmoEvaluation/<dialog>.txt")
    df = pd.DataFrame(rows, columns=COLUMNS)
    dup = df["utt_id"][df["utt_id"].duplicated()]
    if len(dup):
        raise CorpusError(f"{root}: utterance {dup.iloc[0]} appears twice in EmoEvaluation")
    df = df.sort_values(["session", "dialog", "start", "end", "utt_id"], kind="mergesort")
    df = df.reset_index(drop=True)
    df.attrs["notes"] = [
        f"{n_skipped} transcription lines without an utterance id skipped",
        f"{n_no_text} utterances without a transcription line (empty text)",
        f"{n_no_video} utterances without a dialogue video (empty video, video_side)",
    ]
    return df
