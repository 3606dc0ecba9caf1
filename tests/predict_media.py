"""Media for the predict tests: a dialogue's utterance wavs mixed into one track at their true
times, muxed (PyAV) with the dialogue's video stream."""
from __future__ import annotations

import av
import numpy as np
import soundfile as sf

SR = 16000


def mixed_track(truth: pd.DataFrame, root, n: int) -> np.ndarray:
    """The dialogue's utterance wavs added at their true start times into one float track."""
    x = np.zeros(n, np.float32)
    for _, u in truth.iterrows():
        y, sr = sf.read(root / u["wav"], dtype="float32")
        assert sr == SR
        a = int(round(u["start"] * SR))
        y = y[:max(0, n - a)]
        x[a:a + len(y)] += y
    return np.clip(x, -1, 1)


def mux(video_in, x: np.ndarray | None, out) -> None:
    """Copy the video stream of `video_in` and add `x` as a 16 kHz PCM track (none when `x` is
    None), into `out` (mkv)."""
    with av.open(str(video_in)) as src, av.open(str(out), "w") as dst:
        vin = src.streams.video[0]
        vout = dst.add_stream_from_template(vin)
        if x is not None:
            aout = dst.add_stream("pcm_s16le", rate=SR, layout="mono")
            pcm = (x * 32767).astype(np.int16)
            for i in range(0, len(pcm), SR):
                frame = av.AudioFrame.from_ndarray(pcm[None, i:i + SR], format="s16",
                                                   layout="mono")
                frame.sample_rate, frame.pts = SR, i
                for p in aout.encode(frame):
                    dst.mux(p)
            for p in aout.encode(None):
                dst.mux(p)
        for packet in src.demux(vin):
            if packet.dts is not None:
                packet.stream = vout
                dst.mux(packet)
