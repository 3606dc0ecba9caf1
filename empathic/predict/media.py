"""Reading a new recording: its audio (own track or a separate file) and chosen video frames."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import EmpathicError


def load_audio(video: Path, audio: Path | None, sample_rate: int) -> np.ndarray:
    """Mono float32 samples at `sample_rate`: from `audio` when given, else the video's track."""
    if audio is not None:
        from ..extractors.audio import load_audio as load_wav
        if not audio.is_file():
            raise EmpathicError(f"audio file not found: {audio}")
        try:
            return load_wav(audio, sample_rate).astype(np.float32)
        except Exception as e:  # soundfile raises several types
            raise EmpathicError(f"cannot read audio {audio}: {str(e).splitlines()[0]}") from None
    import av
    try:
        container = av.open(str(video))
    except (av.FFmpegError, OSError, ValueError) as e:
        raise EmpathicError(f"cannot read video {video}: {type(e).__name__}") from None
    with container:
        if not container.streams.audio:
            raise EmpathicError(f"{video} has no audio track; give the speech with --audio PATH")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        chunks = []
        try:
            for frame in container.decode(stream):
                chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
        except (av.FFmpegError, ValueError) as e:
            raise EmpathicError(f"cannot decode the audio of {video}: {type(e).__name__}") from None
    x = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    if not len(x):
        raise EmpathicError(f"the audio track of {video} is empty; give --audio PATH")
    return x


def check_video(video: Path) -> None:
    """One clear line when `video` is missing, unreadable or has no video stream."""
    import av
    if not video.is_file():
        raise EmpathicError(f"video not found: {video}")
    try:
        with av.open(str(video)) as c:
            if not c.streams.video:
                raise EmpathicError(f"{video} has no video stream")
    except (av.FFmpegError, OSError, ValueError) as e:
        raise EmpathicError(f"cannot read video {video}: {type(e).__name__}") from None


def grab_frames(video: Path, times: list[float]) -> list[np.ndarray | None]:
    """RGB frames (H, W, 3) nearest to `times` (None past the end), one sequential decode."""
    import av
    out: list[np.ndarray | None] = [None] * len(times)
    with av.open(str(video)) as c:
        s = c.streams.video[0]
        fps = float(s.average_rate or s.guessed_rate)
        want: dict[int, list[int]] = {}
        for j, t in enumerate(times):
            want.setdefault(int(round(t * fps)), []).append(j)
        last = max(want) if want else -1
        for n, frame in enumerate(c.decode(s)):
            if n in want:
                img = frame.to_ndarray(format="rgb24")
                for j in want[n]:
                    out[j] = img
            if n >= last:
                break
    return out

