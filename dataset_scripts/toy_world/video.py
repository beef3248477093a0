"""mp4 writing and reading with PyAV (which bundles FFmpeg, so nothing else needs installing)."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

#: H.264 in 4:4:4 keeps the colour of 1-pixel trails and eyes (4:2:0 would halve the chroma resolution of a
#: 64×64 frame). CRF 16 with the ultrafast preset: ~46 dB PSNR (visually lossless), 3× faster to encode than
#: "veryfast" at ~120 kB per 10 s clip. One encoder thread makes the output byte-for-byte reproducible.
CODEC_OPTIONS = {"crf": "16", "preset": "ultrafast", "g": "30", "threads": "1"}
PIXEL_FORMAT = "yuv444p"


def write_mp4(path: str, frames: np.ndarray, fps: int = 30, options: Optional[dict] = None,
              pixel_format: str = PIXEL_FORMAT) -> None:
    """Encode ``(T, H, W, 3)`` uint8 RGB frames as an H.264 mp4 at `fps` (one frame per input array)."""
    import av

    frames = np.ascontiguousarray(frames, dtype=np.uint8)
    with av.open(path, "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.height, stream.width = int(frames.shape[1]), int(frames.shape[2])
        stream.pix_fmt = pixel_format
        stream.options = dict(options or CODEC_OPTIONS)
        stream.thread_count = 1
        for array in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def read_mp4(path: str, frame_indices: Optional[Sequence[int]] = None) -> np.ndarray:
    """Decode an mp4 to ``(T, H, W, 3)`` uint8 RGB: every frame, or only the given 0-based frame indices."""
    import av

    wanted = None if frame_indices is None else {int(i): n for n, i in enumerate(frame_indices)}
    decoded: dict[int, np.ndarray] = {}
    with av.open(path) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if wanted is None or index in wanted:
                decoded[index] = frame.to_ndarray(format="rgb24")
    if wanted is None:
        return np.stack([decoded[i] for i in sorted(decoded)])
    missing = sorted(set(wanted) - set(decoded))
    if missing:
        raise IndexError(f"{path}: frames {missing[:5]} not in the video ({len(decoded)} decoded)")
    return np.stack([decoded[i] for i in frame_indices])
