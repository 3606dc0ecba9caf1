"""Sample corpora in the KEMDy19 and KEMDy20 layouts: Korean speech, labels and biosignals.

    generate_kemdy(Path("data/sample/KEMDy20"), kemdy_config("kemdy20", 7, section), workers=2)

Each dialogue is two participants taking turns. Emotions (KEMDy's seven) follow an empathic
link: each turn's emotion is drawn from `EMPATHY[e]` of the previous turn's emotion `e`, and the
listener's own state during a turn IS that next emotion (the reply it is about to give). So the
KEMDy19 listener rows rate what the partner will answer with. Speech is espeak-ng's Korean voice
(`ko`) with one voice variant per actor and prosody per emotion; text is Korean templates per
emotion (cp949 .txt files).

Physiological streams on each participant's own device clock follow the participant's arousal
(own emotion while speaking, listener state while listening): EDA (4 Hz) tonic level rises with
arousal and phasic responses come more often; TEMP (4 Hz) drops slightly with arousal; heart
rate rises with arousal (IBI rows for KEMDy20, a 256 Hz ECG trace for KEMDy19). File layouts:
see `write_signals19` (per participant and session, under `Original/`, segment ids on the rows,
the segments' start/end on each clock in the annotation) and `write_signals20` (per participant
and topic, E4 header lines, segment ids on the rows).

Layout quirks as in the real corpora: two header rows in every annotation CSV, ten raters'
triples, multi-labels (`happy;neutral`) where raters split evenly, the misspelling `disqust`,
overlapping turns (KEMDy19), annotation rows in id order (not time order), and missing EDA for
participant M in the last session's first dialogue: KEMDy20 lacks that biosignal file, KEMDy19
(whose files span a whole session) has blank E4-EDA/E4-TEMP start/end cells for it, as the real
Sess01_impro03/04 do; extract@physio must report those segments as failed (about 1 / (4 *
sessions * dialogs_per_session) of the segments, under the 5 % failure threshold by default).

Randomness comes from `default_rng([seed, session, dialogue, ...])`, so the output does not
depend on `workers`: same params, byte-identical files.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...config import params as P
from ...execution import ProcessExecutor
from .iemocap_layout import write_wav
from .kemdy_signals import VA, lacks_eda, signals, write_signals19, write_signals20
from .speech import SAMPLE_RATE, Prosody, Voice, synthesize

LAYOUTS = ("kemdy19", "kemdy20")
EMOTIONS = ("neutral", "happy", "surprise", "angry", "sad", "disgust", "fear")
# Reply emotion given the partner's emotion: one dominant reply (p = 0.6), the rest share 0.4.
DOMINANT = {"neutral": "happy", "happy": "surprise", "surprise": "neutral", "angry": "fear",
            "sad": "sad", "disgust": "angry", "fear": "neutral"}
P_DOMINANT = 0.6
EMPATHY = np.array([[P_DOMINANT if DOMINANT[a] == b else (1 - P_DOMINANT) / (len(EMOTIONS) - 1)
                     for b in EMOTIONS] for a in EMOTIONS])
# espeak rate (words/min), pitch offset, pitch range, volume per emotion.
PROSODY = {"neutral": (150, 0, 35, 100), "happy": (165, 10, 65, 120),
           "surprise": (175, 18, 85, 140), "angry": (180, 4, 60, 180), "sad": (110, -12, 12, 70),
           "disgust": (135, -6, 30, 110), "fear": (170, 12, 70, 95)}
CONFUSIONS = {"neutral": ("sad", "happy"), "happy": ("neutral", "surprise"),
              "surprise": ("happy", "fear"), "angry": ("disgust",), "sad": ("neutral", "fear"),
              "disgust": ("angry", "neutral"), "fear": ("surprise", "sad")}
TEMPLATES = {
    "neutral": ("내일 오전 아홉 시에 회의가 있다고 들었어요.", "버스를 타면 시내까지 이십 분 정도 걸려요.",
                "서류는 두 번째 서랍에 넣어 두었습니다."),
    "happy": ("오늘 와 줘서 정말 고마워요, 너무 기뻐요.", "이번 주에 들은 소식 중에 제일 좋은 소식이에요.",
              "덕분에 오늘 하루가 정말 즐거웠어요."),
    "surprise": ("어머, 정말이에요? 전혀 몰랐어요!", "세상에, 벌써 다 끝났다고요?",
                 "진짜요? 그런 일이 있었을 줄은 상상도 못 했어요!"),
    "angry": ("도대체 몇 번을 말해야 알아듣는 거야!", "이건 정말 말도 안 되는 일이라고 생각해요!",
              "약속을 또 어기다니 정말 화가 나요!"),
    "sad": ("요즘은 아무것도 하고 싶지가 않아요.", "그 친구가 떠난 뒤로 너무 외로워요.",
            "결국 시험에 떨어졌어요, 정말 속상해요."),
    "disgust": ("으, 냄새가 너무 역겨워서 못 참겠어요.", "그런 행동은 정말 보기 싫어요.",
                "이 음식은 상한 것 같아요, 치워 주세요."),
    "fear": ("밖에서 이상한 소리가 들려서 무서워요.", "혹시 무슨 일이 생길까 봐 너무 불안해요.",
             "어두운 길을 혼자 걷는 게 겁이 나요."),
}
N_RATERS = 10
DIALOG_GAP_S = 10.0             # between a session's dialogues on the devices' clocks
CLOCK20_START = 1.6e9           # KEMDy20 timestamps: E4 unix time


@dataclass(frozen=True)
class Config:
    layout: str
    seed: int
    sessions: int
    dialogs_per_session: int
    turns_per_dialog: int
    overlap_rate: float


def kemdy_config(layout: str, seed: int, section) -> Config:
    """The generator's settings for `layout`: `section` is the schema's validated
    `sample.kemdy` (a plain mapping is validated by the schema first: a bad value is one
    ParamError naming its dotted key), `seed` the validated `sample.seed`."""
    if layout not in LAYOUTS:
        raise ValueError(f"KEMDy layouts are {list(LAYOUTS)}, not {layout!r}")
    if isinstance(section, Mapping):
        section = P.section({"sample": {"kemdy": dict(section)}}, "sample.kemdy")
    return Config(layout=layout, seed=int(seed), sessions=section.sessions,
                  dialogs_per_session=section.dialogs_per_session,
                  turns_per_dialog=section.turns_per_dialog, overlap_rate=section.overlap_rate)


@dataclass(frozen=True)
class Dialog:
    session: int
    index: int
    topic: str                         # impro01 (KEMDy19) / script01 (KEMDy20)
    users: tuple[str, str]             # participant names of F and M in file names

    @property
    def name(self) -> str:
        return f"Sess{self.session:02d}_{self.topic}"


def plan(c: Config) -> list[Dialog]:
    out = []
    for s in range(1, c.sessions + 1):
        users = (("F", "M") if c.layout == "kemdy19"
                 else (f"User{2 * s - 1:03d}F", f"User{2 * s:03d}M"))
        for j in range(c.dialogs_per_session):
            topic = f"impro{j + 1:02d}" if c.layout == "kemdy19" else f"script{j + 1:02d}"
            out.append(Dialog(s, j, topic, users))
    return out


def segment_id(c: Config, d: Dialog, gender: str, n: int) -> str:
    if c.layout == "kemdy19":
        return f"{d.name}_{gender}{n:03d}"
    return f"{d.name}_{d.users['FM'.index(gender)]}_{n:03d}"


def draw_turns(c: Config, d: Dialog, rng: np.random.Generator) -> list[dict]:
    """Alternating speakers; each emotion replies to the previous one through EMPATHY; the
    listener's state during a turn is the emotion of the reply that follows it."""
    emos = [EMOTIONS[rng.integers(len(EMOTIONS))]]
    for _ in range(c.turns_per_dialog):
        emos.append(EMOTIONS[rng.choice(len(EMOTIONS), p=EMPATHY[EMOTIONS.index(emos[-1])])])
    first = "FM"[rng.integers(2)]
    count = {"F": 0, "M": 0}
    turns = []
    for t in range(c.turns_per_dialog):
        g = first if t % 2 == 0 else ("M" if first == "F" else "F")
        count[g] += 1
        emo = emos[t]
        turns.append(dict(id=segment_id(c, d, g, count[g]), gender=g, emotion=emo,
                          listener_emotion=emos[t + 1],
                          text=TEMPLATES[emo][rng.integers(len(TEMPLATES[emo]))]))
    return turns


def voice_of(c: Config, session: int, gender: str) -> tuple[Voice, int]:
    rng = np.random.default_rng([c.seed, session, ord(gender), 11])
    voice = Voice(f"kem{session:02d}{gender.lower()}", gender == "F",
                  float(rng.uniform(0.92, 1.08)))
    return voice, int(rng.integers(45, 60) if gender == "F" else rng.integers(30, 45))


def speak(c: Config, d: Dialog, turns: list[dict]) -> list[np.ndarray]:
    out = []
    for t in turns:
        voice, base = voice_of(c, d.session, t["gender"])
        rate, dpitch, rng_, vol = PROSODY[t["emotion"]]
        out.append(synthesize(t["text"], voice, Prosody(rate, base + dpitch, rng_, vol),
                              language="ko"))
    return out


def place(c: Config, turns: list[dict], audio: list[np.ndarray], rng: np.random.Generator) -> None:
    """Start/end times: KEMDy19 turns sometimes overlap the previous one; KEMDy20 never do
    (a biosignal sample carries one segment id)."""
    prev = None
    for t, x in zip(turns, audio):
        dur = len(x) / SAMPLE_RATE
        if prev is None:
            start = 0.5 + rng.uniform(0, 0.5)
        elif c.layout == "kemdy19" and rng.random() < c.overlap_rate:
            start = max(prev["end"] - rng.uniform(0.15, 0.6), prev["start"] + 0.3)
        else:
            start = prev["end"] + rng.uniform(0.2, 0.8)
        t["start"], t["end"] = round(start, 3), round(start + dur, 3)
        prev = t


def rate(emotion: str, rng: np.random.Generator) -> dict:
    """Ten raters' labels and 1-5 valence/arousal; the total is the majority label (an even
    split of the top two is a multi-label `a;b`) and the mean ratings."""
    alt = CONFUSIONS[emotion]
    labels = [emotion if rng.random() < 0.7 else alt[rng.integers(len(alt))]
              for _ in range(N_RATERS)]
    counts = sorted(((labels.count(e), e) for e in set(labels)), reverse=True)
    total = counts[0][1] if len(counts) == 1 or counts[0][0] > counts[1][0] else \
        ";".join(sorted((counts[0][1], counts[1][1])))
    va = np.clip(np.round(np.array(VA[emotion]) + rng.normal(0, 0.6, (N_RATERS, 2))), 1, 5)
    return dict(total=total, labels=labels, va=va, mean=va.mean(axis=0).round(2))


def _spell(label: str) -> str:
    """The corpus misspelling of disgust."""
    return label.replace("disgust", "disqust")


# ------------------------------------------------------------------------------ dialogues

def wav_dir(root: Path, c: Config, d: Dialog) -> Path:
    folder = root / "wav" / f"Session{d.session:02d}"
    return folder / d.name if c.layout == "kemdy19" else folder


def render_dialog(job: tuple) -> dict:
    """One dialogue: wav/txt written; its turns (timed and rated) and both participants'
    physiological streams (on the dialogue's wav clock) returned."""
    c, d, root_s = job
    root = Path(root_s)
    rng = np.random.default_rng([c.seed, d.session, d.index])
    turns = draw_turns(c, d, rng)
    audio = speak(c, d, turns)
    place(c, turns, audio, rng)
    folder = wav_dir(root, c, d)
    for t, x in zip(turns, audio):
        write_wav(folder / f"{t['id']}.wav", x, SAMPLE_RATE)
        (folder / f"{t['id']}.txt").write_bytes(t["text"].encode("cp949"))
        t["own"] = rate(t["emotion"], rng)
        t["heard"] = rate(t["listener_emotion"], rng)
    t_end = max(t["end"] for t in turns) + 1.5
    streams = {g: signals(t_end, turns, g, rng, ecg=c.layout == "kemdy19") for g in "FM"}
    return dict(turns=turns, streams=streams, t_end=t_end,
                audio_s=sum(len(x) for x in audio) / SAMPLE_RATE)


def _rating_cells(r: dict) -> list[str]:
    cells = [_spell(r["total"]), f"{r['mean'][0]:g}", f"{r['mean'][1]:g}"]
    for lab, (v, a) in zip(r["labels"], r["va"]):
        cells += [_spell(lab), f"{v:g}", f"{a:g}"]
    return cells


def _header(groups: list[str], raters: list[str]) -> list[str]:
    top, sub = [], []
    for g in groups:
        if g in ("Numb", "Segment ID"):
            top.append(g)
            sub.append("")
        else:
            top += [g, ""]
            sub += ["start", "end"]
    for g in ["Total Evaluation"] + raters:
        top += [g, "", ""]
        sub += ["Emotion", "Valence", "Arousal"]
    return [",".join(top), ",".join(sub)]


def _write_csv(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")


def write_annotations(root: Path, c: Config, session: int,
                      dialogs: list[tuple[Dialog, dict, float]], clocks: dict) -> None:
    """KEMDy19: one file per participant rating them on every segment (as listener too), with
    the segment's start/end on that participant's ECG/EDA/TEMP clocks; KEMDy20: one file per
    session. Rows are in segment-id order."""
    turns = sorted(((t, base, d) for d, res, base in dialogs for t in res["turns"]),
                   key=lambda x: x[0]["id"])
    if c.layout == "kemdy20":
        lines = _header(["Numb", "Wav", "Segment ID"],
                        [f"Eval{r + 1:02d}{'FM'[r % 2]}" for r in range(N_RATERS)])
        for n, (t, _, _) in enumerate(turns, 1):
            lines.append(",".join([str(n), f"{t['start']:.3f}", f"{t['end']:.3f}", t["id"]]
                                  + _rating_cells(t["own"])))
        _write_csv(root / "annotation" / f"Sess{session:02d}_eval.csv", lines)
        return
    raters = [f"Eval{r + 1:02d}" for r in range(N_RATERS)]
    for g in "FM":
        lines = _header(["Numb", "Wav", "ECG", "E4-EDA", "E4-TEMP", "Segment ID"], raters)
        for n, (t, base, d) in enumerate(turns, 1):
            clock = [t[e] + base + clocks[g][s] for s in ("ecg", "eda", "temp")
                     for e in ("start", "end")]
            times = [f"{x:.3f}" for x in [t["start"], t["end"]] + clock]
            if lacks_eda(c, d, g):
                times[4:] = [""] * 4
            lines.append(",".join([str(n)] + times + [t["id"]]
                                  + _rating_cells(t["own"] if t["gender"] == g else t["heard"])))
        _write_csv(root / "annotation" / f"Session{session:02d}_{g}_res.csv", lines)


def session_clocks(c: Config, session: int) -> dict:
    """KEMDy19: each participant's ECG, EDA and TEMP clock offsets from the session's start."""
    out = {}
    for g in "FM":
        rng = np.random.default_rng([c.seed, session, ord(g), 12])
        eda = float(rng.uniform(20, 200))
        out[g] = {"eda": eda, "temp": eda + 0.125, "ecg": eda - float(rng.uniform(1, 5))}
    return out


def write_session(root: Path, c: Config, session: int,
                  items: list[tuple[Dialog, dict]]) -> list[str]:
    """Annotation and biosignal files of one session; the dialogues follow each other on the
    devices' clocks, DIALOG_GAP_S apart. Returns the quirks (a file left out, blank cells)."""
    dialogs, base = [], 0.0
    for d, res in items:
        dialogs.append((d, res, base))
        base += res["t_end"] + DIALOG_GAP_S
    clocks = session_clocks(c, session)
    write_annotations(root, c, session, dialogs, clocks)
    if c.layout == "kemdy19":
        write_signals19(root, session, dialogs, clocks)
        return [f"annotation/Session{session:02d}_M_res.csv: blank E4-EDA/E4-TEMP cells "
                f"for {d.name}" for d, _, _ in dialogs if lacks_eda(c, d, "M")]
    return [m for d, res, b in dialogs
            for m in write_signals20(root, c, d, res, CLOCK20_START + 1e5 * session + b)]


def generate_kemdy(out_dir: Path, c: Config, workers: int = 1, progress: bool = False) -> dict:
    """Write a sample corpus in `c.layout` (kemdy19 / kemdy20) into `out_dir` (the corpus root).

    c: `kemdy_config(layout, sample.seed, sample.kemdy)` (sessions, dialogues per session,
    turns per dialogue, overlap_rate: KEMDy19 only). Returns a summary: sessions, dialogues, utterances, audio_seconds, quirks (the biosignal
    file left out, KEMDy20; the blank EDA/TEMP annotation cells, KEMDy19).
    """
    layout = c.layout
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    dialogs = plan(c)
    results = ProcessExecutor(workers).map(render_dialog, [(c, d, str(root)) for d in dialogs],
                                           desc=f"sample {layout} dialogues", progress=progress,
                                           unit="dialog")
    quirks = []
    for s in range(1, c.sessions + 1):
        quirks += write_session(root, c, s, [(d, r) for d, r in zip(dialogs, results)
                                              if d.session == s])
    return dict(sessions=c.sessions, dialogues=len(dialogs),
                utterances=sum(len(r["turns"]) for r in results),
                audio_seconds=round(sum(r["audio_s"] for r in results), 1), quirks=quirks)
