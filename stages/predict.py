"""Run the trained models on a new video: per-segment emotion, valence/arousal and the predicted
listener response (not a DVC stage; a command for new recordings).

    python -m stages.predict --video talk.avi                       # audio from the video
    python -m stages.predict --video talk.avi --audio talk.wav --transcript talk.txt --side left

Segments: the transcript's time stamps when --transcript is given (IEMOCAP transcription lines
`<utt_id> [start-end]: text`, or a CSV with header `start,end,text`), else voice activity
detection on the audio (--vad: the Silero VAD network, packaged with its weights, by default;
or the energy rule), and then the text comes from an offline speech recogniser (--asr:
PocketSphinx's packaged US-English model by default; a local Whisper checkpoint with
--asr-model; Vosk for Korean), marked `asr:<recogniser>` in the text_source column. Features: the registered extractors with the `features.*`
sections of ./params.yaml, as in training. Models: every fold's checkpoint under models/<task>/
(the tasks of empathic/training/tasks/ but context: dimensional, emotion, reaction, response);
the fold models' predictions are AVERAGED (an ensemble). A segment uses only models whose
inputs it has: without a transcript there is no text, without a face no video/landmarks.
Emotion uses the model selected on validation (`best` in --metrics/emotion.json, e.g. hard_vote:
each fold model votes, prob_<class> = the share of votes) where its inputs are there, else the
soft vote of its members that can run (a note says so).

--side: the speaker's half of the frame (IEMOCAP: left = the actor with motion-capture markers),
or `full` (the whole frame: its largest face). `auto` (default) first finds the people on a few
frames: one person anywhere (a webcam clip, a face across the middle) is read from the whole
frame, two in the two halves from the halves, more (or a face across the middle beside another)
from a strip of the frame each; per segment it takes the one whose mouth moves most while the
voice is heard (the active speaker). Voice activity finds speech, not turns: turns that overlap
or follow within --min-gap become one segment; a transcript gives the turns.

Writes OUT/segments.csv (start, end, text, text_source, side, modalities, prob_<class>, emotion, valence,
arousal, dominance, listener_landmarks, reaction + reaction_<measure> summaries, status, notes,
png, reaction_mp4, reaction_png) and OUT/segment_NNN.png (the speaker's face beside the
predicted listener landmarks and the emotion probabilities); with reaction models, per segment
OUT/reaction_NNN.mp4 (the speaker's clip beside the animated predicted listener face, at the
task's frame rate, with the audio) and OUT/reaction_NNN.png (the K alternative reactions over
time). All as one set: OUT is replaced whole at the end, so an interrupted run leaves the old set
(OUT must hold nothing else).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from empathic import cli
from empathic.config import params as P
from empathic import predict as PR
from empathic.errors import EmpathicError


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m stages.predict", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", required=True, type=Path, help="the video file (any PyAV format)")
    ap.add_argument("--transcript", type=Path,
                    help="IEMOCAP transcription file or a start,end,text CSV (segments + text)")
    ap.add_argument("--audio", type=Path,
                    help="speech audio file, for a video without an audio track (or to replace it)")
    ap.add_argument("--side", default="auto", choices=[*PR.SIDES, "auto"],
                    help="the speaker's half of the frame, or full (the whole frame); default "
                         "auto: find the people, then per segment the one talking")
    ap.add_argument("--out", type=Path, help="output folder (default: predictions/<video name>)")
    ap.add_argument("--models", type=Path, default=Path("models"), help="default: models")
    ap.add_argument("--metrics", type=Path, default=Path("metrics"),
                    help="folder of emotion.json, which names the emotion model chosen on "
                         "validation (default: metrics)")
    ap.add_argument("--tasks", nargs="+", choices=PR.TASKS,
                    help="tasks to run; one that cannot (e.g. its models need text and there is "
                         "no transcript) is an error (default: every task trained under --models; "
                         "those that cannot run are skipped with a warning)")
    ap.add_argument("--vad", default=PR.VadConfig.method, choices=PR.VAD_METHODS,
                    help="voice activity detection without a transcript: silero (a trained "
                         "network, the default) or energy (a level threshold)")
    ap.add_argument("--vad-threshold", type=float, default=PR.VadConfig.threshold,
                    help="silero: speech probability that starts a segment (default 0.5)")
    ap.add_argument("--asr", default="auto", choices=PR.RECOGNISERS,
                    help="speech recognition for segments without a transcript (default auto: "
                         "pocketsphinx for English, vosk for Korean when a model is installed)")
    ap.add_argument("--asr-model", type=Path,
                    help="--asr whisper / vosk: a local model folder (e.g. a downloaded "
                         "openai/whisper-small saved with save_pretrained)")
    ap.add_argument("--min-gap", type=float, default=PR.VadConfig.min_gap,
                    help="voice activity: pauses shorter than this (s) do not split a segment")
    ap.add_argument("--min-speech", type=float, default=PR.VadConfig.min_speech,
                    help="voice activity: shorter segments (s) are dropped")
    ap.add_argument("--no-png", action="store_true",
                    help="no PNGs (segment_NNN.png, reaction_NNN.png)")
    ap.add_argument("--no-video", action="store_true",
                    help="no reaction MP4s (reaction_NNN.mp4); with --no-png: segments.csv only")
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)

    prm = P.load()
    if a.min_gap < 0 or a.min_speech <= 0:
        raise EmpathicError("--min-gap must be >= 0 and --min-speech > 0")
    if not 0 < a.vad_threshold < 1:
        raise EmpathicError("--vad-threshold must be between 0 and 1")
    for what, path in (("video", a.video), ("transcript", a.transcript), ("audio", a.audio)):
        if path is not None and not path.is_file():
            raise EmpathicError(f"{what} file not found: {path}")
    out = a.out or Path("predictions") / a.video.stem
    req = PR.Request(video=a.video, out=out, transcript=a.transcript, audio=a.audio, side=a.side,
                     models_dir=a.models, metrics_dir=a.metrics, tasks=a.tasks,
                     vad=PR.VadConfig(method=a.vad, threshold=a.vad_threshold,
                                      min_gap=a.min_gap, min_speech=a.min_speech),
                     asr=PR.AsrConfig(a.asr, str(a.asr_model) if a.asr_model else None),
                     draw=not a.no_png, mp4=not a.no_video)
    table = PR.run(req, prm, workers=P.workers(prm), progress=not a.no_progress)
    counts = table["status"].value_counts().to_dict()
    print(f"{len(table)} segments ({', '.join(f'{k}: {v}' for k, v in counts.items())}) -> "
          f"{out}/segments.csv")
    return 0


if __name__ == "__main__":
    cli.run(main)
