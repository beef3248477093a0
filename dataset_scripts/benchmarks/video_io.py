"""Video decoding for the video benchmarks: uniform frame sampling over a whole clip with PyAV, or from a frame folder.

Sampling: the clip is split into `num_frames` equal segments and the centre frame of each is taken
(`index_i = floor((i + 0.5) * n / num_frames)`, TSN/ViFi-CLIP-style test sampling). Clips shorter than `num_frames`
repeat frames, so every clip yields exactly `num_frames` frames.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

VIDEO_EXTENSIONS: tuple[str, ...] = (".mp4", ".avi", ".webm", ".mkv", ".mov", ".m4v", ".mpg", ".mpeg", ".flv", ".3gp")
IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


class VideoDecodeError(RuntimeError):
    """A video file exists but cannot be decoded (the message names the file)."""


def uniform_frame_indices(num_available: int, num_frames: int) -> list[int]:
    """Centre indices of `num_frames` equal segments of `num_available` frames."""
    if num_available < 1:
        raise ValueError("a video needs at least one frame.")
    if num_frames < 1:
        raise ValueError(f"num_frames must be positive, got {num_frames}.")
    return [min(num_available - 1, int((i + 0.5) * num_available / num_frames)) for i in range(num_frames)]


def resolve_video_path(video_dir: str, name: str) -> str | None:
    """The file (or frame folder) for `name` in `video_dir`: `name` as given, else `name` + a known video extension."""
    direct = os.path.join(video_dir, name)
    if os.path.isfile(direct) or (os.path.isdir(direct) and list_frame_files(direct)):
        return direct
    for extension in VIDEO_EXTENSIONS:
        candidate = direct + extension
        if os.path.isfile(candidate):
            return candidate
    return None


def list_frame_files(folder: str) -> list[str]:
    """Image files of a frame folder in name order (VidSitu-style `{clip}_000001.jpg` sorts correctly)."""
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.lower().endswith(IMAGE_EXTENSIONS))


def _read_frame_folder(folder: str, num_frames: int) -> np.ndarray:
    files = list_frame_files(folder)
    if not files:
        raise VideoDecodeError(f"{folder}: frame folder has no {IMAGE_EXTENSIONS} images.")
    frames = []
    for index in uniform_frame_indices(len(files), num_frames):
        with Image.open(files[index]) as image:
            frames.append(np.asarray(image.convert("RGB")))
    return np.stack(frames)


def _decode_selected(path: str, wanted: set[int] | None) -> tuple[dict[int, np.ndarray], int]:
    """Decode `path` once, converting only the frames in `wanted` (all frames when None). Returns them and the count."""
    import av  # imported lazily so that image-only evaluations never need PyAV

    selected: dict[int, np.ndarray] = {}
    count = 0
    with av.open(path) as container:
        if not container.streams.video:
            raise VideoDecodeError(f"{path}: no video stream.")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for count, frame in enumerate(container.decode(stream), start=1):
            if wanted is None or (count - 1) in wanted:
                selected[count - 1] = frame.to_ndarray(format="rgb24")
    return selected, count


def read_video_frames(path: str, num_frames: int) -> np.ndarray:
    """`(num_frames, H, W, 3)` uint8 RGB frames sampled uniformly over the whole clip (a file or a frame folder)."""
    if os.path.isdir(path):
        return _read_frame_folder(path, num_frames)
    try:
        import av

        with av.open(path) as container:
            if not container.streams.video:
                raise VideoDecodeError(f"{path}: no video stream.")
            declared = int(container.streams.video[0].frames or 0)
        if declared > 0:
            indices = uniform_frame_indices(declared, num_frames)
            selected, count = _decode_selected(path, set(indices))
            if count == declared and all(i in selected for i in indices):
                return np.stack([selected[i] for i in indices])
        # No (or a wrong) frame count in the header: decode everything once and sample from what was decoded.
        selected, count = _decode_selected(path, None)
        if count == 0:
            raise VideoDecodeError(f"{path}: no decodable frames.")
        return np.stack([selected[i] for i in uniform_frame_indices(count, num_frames)])
    except VideoDecodeError:
        raise
    except Exception as error:  # PyAV raises its own FFmpeg error types; name the file whatever went wrong
        raise VideoDecodeError(f"{path}: cannot decode video ({type(error).__name__}: {error}).") from error


def write_test_video(path: str, frames: np.ndarray, fps: int = 8, codec: str = "mpeg4") -> str:
    """Write `(T, H, W, 3)` uint8 frames as a small video (used by tests and examples to make clips in any format)."""
    import av

    frames = np.asarray(frames, dtype=np.uint8)
    with av.open(path, "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.height, stream.width = int(frames.shape[1]), int(frames.shape[2])
        stream.pix_fmt = "yuv420p"
        for array in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
