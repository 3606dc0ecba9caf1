"""Inference on a new video: speech segments, their emotion, and the listener's predicted face.

The steps of `python -m stages.predict` (each a function here):

1. audio: the video's own audio track (decoded with PyAV, mixed to mono, resampled to
   ``features.audio.sample_rate``) or a separate file (``--audio``);
2. segments: the transcript's time stamps when one is given (IEMOCAP transcription lines
   ``<utt_id> [start-end]: text``, or a CSV with columns ``start,end,text``), else voice
   activity detection (:func:`segments.detect_speech`: the Silero VAD network, or an energy
   rule), whose segments get their text from an offline speech recogniser (:mod:`asr`;
   ``text_source`` in segments.csv says ``asr:<recogniser>``);
3. features: each segment's audio is written to a temporary wav and the segments become a small
   utterances table (``wav``, ``video`` = the input video, ``video_side``, ``start``, ``end``,
   ``text``) that the REGISTERED extractors read with the params sections of params.yaml, so the
   features are computed by the code, and with the settings, the models were trained on;
4. side: ``left`` / ``right`` name the half of the frame the speaker sits in, ``full`` the whole
   frame (its largest face); ``auto`` first finds the people (:mod:`layout`: faces on a few
   frames at every detector scale, grouped by place: one person anywhere -> the whole frame,
   two in the two halves -> the halves, else a strip per person), runs the face extractor on
   each person's part of every segment and takes, per segment, the one whose face moves its
   mouth most (mean frame-to-frame change of the inner-lip gap), or the only one with a face
   (:func:`features.choose_sides`). Per segment, because in a dialogue the speaker changes.
   Voice activity finds stretches of speech, not turns: turns that overlap or follow each
   other within ``--min-gap`` become one segment (give a transcript for turns);
5. models: every fold's checkpoint of each task under ``models/`` (:class:`models.ModelSet`); the fold
   models' outputs are averaged (an ensemble). Per segment only models whose inputs are all
   available run: no transcript means no text, no face means no video/landmarks. The emotion
   task uses the model it selected on validation (``best`` in metrics/emotion.json: a
   checkpoint, or a decision fusion of its members, :mod:`decision`) when its inputs are
   available, else the soft vote of its single-modality / early-fusion members that are (a
   printed note says which and why); response and dimensional have one model kind each; the
   reaction task reads the speaker's frames on its grid (:mod:`reaction`). The tasks are those
   of the registry (empathic/training/tasks/) but context. A task named in ``--tasks`` that runs
   on no segment is an error;
6. outputs: ``segments.csv`` (one row per segment) and ``segment_NNN.png`` (the speaker's face
   from the segment's middle frame beside the predicted listener landmarks and the emotion
   probabilities), with reaction models ``reaction_NNN.mp4`` and ``reaction_NNN.png``
   (:mod:`reaction_video`: the speaker's clip beside the animated predicted listener face; the K
   reactions), written as one set (:mod:`output`: a temporary folder that replaces the old
   one at the end, so an interrupted run leaves the old set or the new one).

Modules: ``segments`` (transcripts, voice activity), ``asr`` (speech recognition), ``media`` (audio and frames of the input),
``layout`` (where the people are), ``features`` (the registered extractors on the segments, side choice), ``models`` (fold
ensembles of each task and their predictions), ``decision`` (the emotion members' vote),
``reaction`` (the reaction task's inputs, predictions and summaries), ``reaction_video`` (its
MP4s and strips), ``rendering`` (the PNGs), ``output`` (the folder as one set); this module runs
them.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from .. import extractors
from ..config import params as P
from ..atomic import write_csv
from ..errors import EmpathicError
from .asr import RECOGNISERS, AsrConfig, resolve, transcribe
from .layout import find_parts
from .features import (MODALITY_EXTRACTOR, SIDES, choose_sides, mouth_motion, run_extractors,
                       segment_features, utterance_rows, write_segment_wavs)
from .media import check_video, grab_frames, load_audio
from .models import (TASKS, Ensemble, ModelSet, Predictions, add_frame_stats, describe,
                     never_runnable, predict_segments, text_skipped, unpredicted)
from .output import output_set, prepare
from .reaction import Reactions, predict_reactions, summary as reaction_summary
from .reaction_video import write_all as draw_reactions
from .rendering import draw_all, draw_segment, face_crop
from .segments import (VAD_METHODS, Segment, VadConfig, detect_speech, energy_speech, frame_db,
                       read_transcript, silero_speech)

__all__ = ["AsrConfig", "RECOGNISERS", "Ensemble", "MODALITY_EXTRACTOR", "ModelSet", "Predictions",
           "Reactions", "Request", "SIDES",
           "Segment", "TASKS", "VAD_METHODS", "VadConfig", "check_video", "choose_sides",
           "describe", "detect_speech", "draw_all", "draw_segment", "energy_speech", "find_parts",
           "face_crop", "frame_db", "grab_frames", "load_audio",
           "mouth_motion", "never_runnable", "predict_segments", "read_transcript", "run",
           "run_extractors", "segment_features", "segments_table", "silero_speech",
           "trained_on", "trained_tasks", "utterance_rows", "write_segment_wavs"]


@dataclass
class Request:
    video: Path
    out: Path
    transcript: Path | None = None
    audio: Path | None = None
    side: str = "auto"
    models_dir: Path = Path("models")
    metrics_dir: Path = Path("metrics")
    tasks: list[str] | None = None       # None: every task trained under models_dir
    vad: VadConfig = VadConfig()
    asr: AsrConfig = AsrConfig()
    draw: bool = True                    # the PNGs
    mp4: bool = True                     # the reaction task's MP4s


def recognise(segs: list[Segment], x: np.ndarray, sr: int, cfg: AsrConfig, corpus: str,
              log=print) -> None:
    """Fill each segment's text by speech recognition (marked in `source`)."""
    method, note = resolve(cfg, corpus)
    if note:
        log(f"warning: {note}")
    if method == "none":
        return
    texts = transcribe(x, sr, [(s.start, s.end) for s in segs], method, cfg.model)
    for s, t in zip(segs, texts):
        s.text, s.source = t, f"asr:{method}"
    log(f"speech recognition ({method}): words in {sum(bool(t) for t in texts)} of "
        f"{len(segs)} segments")


SAMPLE_NOTE = ("note: these models were trained on the built-in synthetic sample; the "
               "predictions show the pipeline working, not a recogniser trained on real people")


def trained_on(ms: ModelSet) -> list[str]:
    """Lines saying which corpus the models were trained on (the checkpoints record it), and
    for the built-in sample that the predictions only show the pipeline working."""
    seen = {}
    for e in ms.all_ensembles():
        c = e.models[0].info.get("corpus") or {}
        seen.setdefault((str(c.get("name", "unknown corpus")), bool(c.get("sample"))), []).append(
            e.task)
    lines = [f"models trained on {name}{' (the built-in sample)' if sample else ''}: "
             f"{', '.join(sorted(set(tasks)))}" for (name, sample), tasks in sorted(seen.items())]
    return lines + ([SAMPLE_NOTE] if any(sample for _, sample in seen) else [])


def trained_tasks(models_dir: Path) -> list[str]:
    found = [t for t in TASKS if (models_dir / t).is_dir()]
    if not found:
        raise EmpathicError(f"no trained models in {models_dir}/ (run `dvc repro` first)")
    return found


def run(req: Request, prm: dict, workers: int = 1, progress: bool = True,
        log=print) -> pd.DataFrame:
    """Predict every segment of `req.video`; write req.out/segments.csv and the PNGs."""
    if req.side not in (*SIDES, "auto"):
        raise EmpathicError(f"--side is {req.side!r}; expected left, right, full or auto")
    check_video(req.video)
    prepare(req.out, log)
    ms = ModelSet.load(req.models_dir, req.metrics_dir, req.tasks or trained_tasks(req.models_dir))
    for line in trained_on(ms):
        log(line)
    segs = read_transcript(req.transcript) if req.transcript else None
    sr = P.section(prm, "features.audio").sample_rate
    x = load_audio(req.video, req.audio, sr)
    if segs is None:
        segs = detect_speech(x, sr, req.vad)
        log(f"voice activity ({req.vad.method}): {len(segs)} speech segments in "
            f"{len(x) / sr:.1f} s of audio")
        if not segs:
            raise EmpathicError(f"no speech found in the audio of {req.video} (silent track?)")
    else:
        log(f"transcript: {len(segs)} segments")
    corpus = str(P.get(prm, "data.corpus", "iemocap"))
    if req.transcript is None:
        recognise(segs, x, sr, req.asr, corpus, log)
    have_text = any(s.text for s in segs)
    skip = never_runnable(ms, have_text)
    for why in skip.values():
        log(f"warning: {why}")
    if not have_text:
        cause = ("the transcript has no words" if req.transcript else "--asr none"
                 if req.asr.method == "none" else "speech recognition heard no words")
        for why in text_skipped(ms):
            log(f"warning: no text ({cause}): {why}")
    if skip and (req.tasks or len(skip) == len(ms.tasks())):   # asked for, or nothing left
        raise EmpathicError("; ".join(skip.values()))
    needed = ms.needed_modalities()
    names = [e for e in ("text", "audio", "face", "ssl")
             if (e != "text" or (have_text and "text" in needed)) and (e != "ssl" or e in needed)]
    sides = (find_parts(req.video, segs, P.get(prm, "features.face"), log)
             if req.side == "auto" else (req.side,))
    with tempfile.TemporaryDirectory(prefix="empathic-predict-") as tmp:
        wavs = write_segment_wavs(x, sr, segs, Path(tmp))
        utts = utterance_rows(segs, wavs, req.video, sides, corpus)
        results = run_extractors(names, utts, prm, workers, progress)
    feats = {m: r.features for m, r in results.items()}
    ms.check_names(feats)
    rows, side_notes = choose_sides(results.get("landmarks"), len(segs), sides,
                                    results.get("audio"))
    X, ok = segment_features(feats, rows, len(sides))
    add_frame_stats(ms, feats, rows, len(sides), X, ok)
    pred = predict_segments(ms, X, ok, len(segs), skip)
    if ms.reaction is not None and "reaction" not in skip:
        pred.reaction = predict_reactions(ms.reaction, prm, feats, rows, segs)
        for i, nt in enumerate(pred.reaction.notes):
            pred.notes[i] += nt
    for msg, k in pred.fallbacks.items():
        log(f"note: {msg} ({k} of {len(segs)} segments)")
    missing = unpredicted(pred, req.tasks or [])
    if missing:
        raise EmpathicError("; ".join(missing.values()))
    table = segments_table(segs, rows, sides, side_notes, pred, results)
    with output_set(req.out) as tmp:          # old set or new set, never a mix
        if req.draw:
            draw_all(replace(req, out=tmp), segs, rows, sides, side_notes, pred,
                     feats.get("landmarks"), table, progress)
        if pred.reaction is not None and (req.draw or req.mp4):
            names = draw_reactions(tmp, segs, rows, sides, pred.reaction, feats.get("landmarks"),
                                   req.video, x, sr, req.mp4, req.draw, progress)
            for i, (mp4, png) in names.items():
                table.loc[i, ["reaction_mp4", "reaction_png"]] = [mp4, png]
        write_csv(tmp / "segments.csv", table)
    return table


def segments_table(segs, rows, sides, side_notes, pred: Predictions,
                   results: dict[str, extractors.Result]) -> pd.DataFrame:
    n = len(segs)
    out = pd.DataFrame({
        "segment": [f"seg{i:03d}" for i in range(n)],
        "start": [s.start for s in segs], "end": [s.end for s in segs],
        "transcript_id": [s.ref for s in segs], "text": [s.text for s in segs],
        "text_source": [s.source if s.text else "" for s in segs],
        "side": [sides[r % len(sides)] if r >= 0 else "" for r in rows],
        "modalities": pred.modalities,
    })
    for j, c in enumerate(pred.classes):
        out[f"prob_{c}"] = np.round(pred.probs[:, j], 4)
    if pred.classes:
        out["emotion"] = [pred.classes[int(np.argmax(p))] if np.all(np.isfinite(p)) else ""
                          for p in pred.probs]
        out["emotion_model"] = pred.emotion_model
    for j, d in enumerate(pred.dims):
        out[d] = np.round(pred.dim_values[:, j], 3)
    out["listener_landmarks"] = np.all(np.isfinite(pred.listener), axis=1)
    if pred.reaction is not None:
        out["reaction"] = pred.reaction.done
        for k, v in reaction_summary(pred.reaction).items():
            out[k] = v
    notes = []
    for i in range(n):
        extra = [side_notes[i]] if side_notes[i] else []
        for m, res in results.items():
            r = rows[i] if rows[i] >= 0 else i * len(sides)
            if not res.features.ok[r] and MODALITY_EXTRACTOR[m] != "face":
                extra.append(f"{m} failed: {res.reasons.get(res.features.ids[r], 'unknown')}")
        notes.append(extra + pred.notes[i])
    out["status"] = ["ok" if not nt else "partial" for nt in notes]
    out.loc[out["modalities"] == "", "status"] = "failed"
    out["notes"] = ["; ".join(nt) for nt in notes]
    out["png"] = ""
    if pred.reaction is not None:
        out["reaction_mp4"] = out["reaction_png"] = ""
    return out

