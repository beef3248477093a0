"""Frames of VidSitu clips, sampled per event, decoded lazily in the dataloader.

Two sources, as users can have them (data_formats.md §1.6):

- the official trimmed clips ``{video_dir}/{clip_id}.mp4`` (any frame rate; decoded with PyAV, which bundles FFmpeg
  and needs no system packages);
- extracted frame folders ``{frames_dir}/{clip_id}/{clip_id}_%06d.jpg`` at 30 fps, 1-indexed (``ffmpeg -r 30``).

Sampling (S1–S4):

- **S1** Event k (1..5) covers seconds [2(k-1), 2k). Each window is cut into ``frames_per_event`` equal segments.
- **S2** Evaluation (``jitter=False``) takes each segment's centre: for 4 frames per event, 0.25, 0.75, 1.25 and
  1.75 s into the event. Training (``jitter=True``) takes a uniformly random time inside each segment (TSN-style), so
  frames stay ordered and spread over the event.
- **S3** A time t maps to the frame shown at t: for mp4, the last decoded frame whose timestamp (relative to the first
  frame) is <= t; for JPEG folders, frame ``floor(t * 30)`` (file number + 1).
- **S4** A clip may end a little early (the official check accepts >= 290 of 300 frames): a time within
  ``tolerance_s`` (default 1/3 s = 10 frames at 30 fps) after the last frame uses the last frame. Anything later is a
  *short* video.

Failures — a missing file, a corrupt file (or one with no video stream), a short video: with ``strict=True`` a
`VidSituFormatError` naming the file, clip, event and field; with ``strict=False`` the affected events are returned as
zeros with ``event_mask=False`` and counted in `VidSituFrameLoader.stats` (a warning is logged once per clip).
"""

from __future__ import annotations

import bisect
import logging
import math
import os
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from .schema import CLIP_SECONDS, EVENT_NAMES, EVENT_SECONDS, NUM_EVENTS, VidSituFormatError

logger = logging.getLogger(__name__)

FRAMES_FPS = 30  # `ffmpeg -i clip.mp4 -r 30 …` in prep_data/dwn_yt.py
DEFAULT_TOLERANCE_S = 1.0 / 3.0
_EPS = 1e-6


# ---------------------------------------------------------------------------------------------------------------------
# Sampling
# ---------------------------------------------------------------------------------------------------------------------
def event_sample_times(
    frames_per_event: int = 4,
    *,
    jitter: bool = False,
    rng: np.random.Generator | None = None,
    num_events: int = NUM_EVENTS,
    event_seconds: float = EVENT_SECONDS,
) -> np.ndarray:
    """Sampling times in seconds, shape ``(num_events, frames_per_event)`` (rules S1–S2)."""
    offsets = segment_offsets(frames_per_event, jitter=jitter, rng=rng, num_events=num_events)
    return segment_starts(frames_per_event, num_events, event_seconds) + offsets * (event_seconds / frames_per_event)


def segment_offsets(
    frames_per_event: int = 4,
    *,
    jitter: bool = False,
    rng: np.random.Generator | None = None,
    num_events: int = NUM_EVENTS,
) -> np.ndarray:
    """Where in its segment each frame is taken, as a fraction in [0, 1), shape ``(num_events, frames_per_event)``:
    0.5 (the centre) for evaluation, one uniform draw per segment from ``rng`` for training (S2). The frame cache
    (`frame_cache`) makes the same draws to pick among its stored candidate times."""
    if frames_per_event < 1:
        raise ValueError(f"frames_per_event must be >= 1, got {frames_per_event}")
    if jitter:
        rng = rng if rng is not None else np.random.default_rng()
        return rng.random((num_events, frames_per_event))
    return np.full((num_events, frames_per_event), 0.5)


def segment_starts(
    frames_per_event: int = 4, num_events: int = NUM_EVENTS, event_seconds: float = EVENT_SECONDS
) -> np.ndarray:
    """Start time in seconds of every segment, shape ``(num_events, frames_per_event)`` (S1)."""
    segment = event_seconds / frames_per_event
    return np.arange(num_events)[:, None] * event_seconds + np.arange(frames_per_event)[None, :] * segment


def jitter_generator(seed: int, epoch: int, clip_id: str) -> np.random.Generator:
    """The generator of a clip's seeded jitter: a pure function of ``(seed, epoch, clip_id)``, so the times do not
    depend on the dataloader worker, the batch order or worker restarts (shared by the frame loader and the cache)."""
    return np.random.default_rng([seed, epoch, zlib.crc32(clip_id.encode())])


def frame_path(frames_dir: str, clip_id: str, frame_number: int) -> str:
    """``{frames_dir}/{clip_id}/{clip_id}_{frame_number:06d}.jpg`` (1-indexed, as ffmpeg's ``%06d`` writes it)."""
    return os.path.join(frames_dir, clip_id, f"{clip_id}_{frame_number:06d}.jpg")


def video_path(video_dir: str, clip_id: str) -> str:
    """``{video_dir}/{clip_id}.mp4``."""
    return os.path.join(video_dir, f"{clip_id}.mp4")


def _event_of(flat_index: int, frames_per_event: int) -> str:
    return EVENT_NAMES[flat_index // frames_per_event] if flat_index // frames_per_event < NUM_EVENTS else "?"


def incomplete_clip_error(
    source: str, clip_id: str, missing: Sequence[int], num_times: int, frames_per_event: int
) -> VidSituFormatError:
    """The ``short_video`` error of a clip with no frame at the flat sampling indices ``missing`` (S4)."""
    return VidSituFormatError(
        f"video too short or incomplete: no frame for {len(missing)} of {num_times} sampling times",
        file=source,
        clip_id=clip_id,
        event=_event_of(missing[0], frames_per_event),
        field="frames",
        reason="short_video",
    )


# ---------------------------------------------------------------------------------------------------------------------
# mp4
# ---------------------------------------------------------------------------------------------------------------------
def decode_mp4_at(
    path: str,
    times: Sequence[float],
    *,
    clip_id: str | None = None,
    size: tuple[int, int] | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    threads: int = 1,
    reformatter: Any = None,
    skip_nonref: bool = True,
) -> list[np.ndarray | None]:
    """Decode the frames shown at ``times`` (seconds) of an mp4, as RGB uint8 ``(H, W, 3)`` arrays (rules S3–S4).

    Decodes sequentially and stops after the last needed frame (trimmed VidSitu clips are re-encoded with long GOPs,
    so seeking buys little). Entries are None for times after the end of a short video. Pass a long-lived
    ``av.video.reformatter.VideoReformatter`` to reuse its swscale context across clips (PyAV otherwise sets one up
    for every frame, which costs ~10x the conversion itself). With ``skip_nonref``, non-reference frames (most
    B-frames) that no sampling time can show are not decoded at all (~30% less decoding on x264 defaults).

    Raises:
        VidSituFormatError: ``missing_video`` (no file) or ``corrupt_video`` (FFmpeg cannot decode it, or it has no
            video stream or no frames).
    """
    import av
    from av.video.reformatter import VideoReformatter

    if not os.path.isfile(path):
        raise VidSituFormatError("video file not found", file=path, clip_id=clip_id, reason="missing_video")
    reformatter = reformatter if reformatter is not None else VideoReformatter()
    width, height = (size[1], size[0]) if size is not None else (None, None)
    order = sorted(range(len(times)), key=lambda index: times[index])
    out: list[np.ndarray | None] = [None] * len(times)
    converted: tuple[Any, np.ndarray | None] = (None, None)

    def convert(frame) -> np.ndarray:
        nonlocal converted
        if converted[0] is not frame:  # several sampling times can fall on the same frame
            array = reformatter.reformat(frame, width=width, height=height, format="rgb24").to_ndarray()
            converted = (frame, array)
        return converted[1]

    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise VidSituFormatError("no video stream", file=path, clip_id=clip_id, reason="corrupt_video")
            stream = container.streams.video[0]
            stream.codec_context.thread_count = threads
            stream.thread_type = "AUTO" if threads != 1 else "SLICE"
            rate = float(stream.average_rate or stream.guessed_rate or FRAMES_FPS)
            targets = sorted(times) if skip_nonref else None
            first_time, previous, previous_time, next_target, decoded = None, None, 0.0, 0, 0
            for frame in _decode_frames(container, stream, targets, 1.0 / rate):
                time = frame.time if frame.time is not None else decoded / rate
                decoded += 1
                if first_time is None:
                    first_time = time
                time -= first_time
                # Targets before this frame's timestamp are shown by the previous frame (or by this one if first).
                while next_target < len(order) and times[order[next_target]] < time - _EPS:
                    out[order[next_target]] = convert(previous if previous is not None else frame)
                    next_target += 1
                if next_target == len(order):
                    break
                previous, previous_time = frame, time
            else:
                if previous is None:
                    raise VidSituFormatError("no decodable frames", file=path, clip_id=clip_id, reason="corrupt_video")
                end_time = previous_time + 1.0 / rate
                for index in order[next_target:]:
                    if times[index] < end_time + tolerance_s:  # S4
                        out[index] = convert(previous)
    except VidSituFormatError:
        raise
    except (av.FFmpegError, OSError, ValueError) as error:
        raise VidSituFormatError(
            f"cannot decode ({type(error).__name__}: {error})", file=path, clip_id=clip_id, reason="corrupt_video"
        ) from None
    return out


def _decode_frames(container, stream, targets: list[float] | None, frame_duration: float) -> Iterator[Any]:
    """Decoded frames in presentation order. With sorted ``targets`` (seconds), a packet whose frame cannot be the
    one shown at any target — its timestamp is not within [target - 2 frames, target + 1 frame] — is decoded with
    ``skip_frame="NONREF"``: FFmpeg drops it if no other frame references it, and decodes it anyway otherwise.
    Only frames far from every target are dropped, so the frame shown at each target is always decoded."""
    codec = stream.codec_context
    time_base = float(stream.time_base) if stream.time_base is not None else None
    origin = None
    for packet in container.demux(stream):
        if targets is not None and packet.pts is not None and time_base is not None:
            if origin is None:
                origin = packet.pts  # the opening keyframe: the clip's first presented frame
            time = (packet.pts - origin) * time_base
            index = bisect.bisect_left(targets, time - frame_duration)
            needed = index < len(targets) and targets[index] < time + 2 * frame_duration
            codec.skip_frame = "DEFAULT" if needed else "NONREF"
        elif targets is not None:
            codec.skip_frame = "DEFAULT"
        yield from codec.decode(packet)


def probe_mp4(path: str, *, clip_id: str | None = None, tolerance_s: float = DEFAULT_TOLERANCE_S) -> float:
    """Open an mp4, decode its first frame and return its duration in seconds; raise if missing, corrupt or short."""
    import av

    if not os.path.isfile(path):
        raise VidSituFormatError("video file not found", file=path, clip_id=clip_id, reason="missing_video")
    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise VidSituFormatError("no video stream", file=path, clip_id=clip_id, reason="corrupt_video")
            stream = container.streams.video[0]
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / 1e6
            else:
                duration = float("nan")
            next(iter(container.decode(stream)))
    except VidSituFormatError:
        raise
    except (av.FFmpegError, OSError, ValueError, StopIteration) as error:
        raise VidSituFormatError(
            f"cannot decode ({type(error).__name__}: {error})", file=path, clip_id=clip_id, reason="corrupt_video"
        ) from None
    if not math.isnan(duration) and duration < CLIP_SECONDS - tolerance_s:
        raise VidSituFormatError(
            f"video lasts {duration:.2f} s, less than the {CLIP_SECONDS:g} s - {tolerance_s:.2f} s the 5 events need",
            file=path,
            clip_id=clip_id,
            reason="short_video",
        )
    return duration


# ---------------------------------------------------------------------------------------------------------------------
# JPEG folders
# ---------------------------------------------------------------------------------------------------------------------
def list_frame_numbers(frames_dir: str, clip_id: str) -> set[int]:
    """The 1-based frame numbers present in ``{frames_dir}/{clip_id}/``; raises ``missing_video`` if no folder."""
    folder = os.path.join(frames_dir, clip_id)
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        raise VidSituFormatError(
            "frame folder not found", file=folder, clip_id=clip_id, reason="missing_video"
        ) from None
    prefix, numbers = f"{clip_id}_", set()
    for name in names:
        if name.startswith(prefix) and name.endswith(".jpg"):
            digits = name[len(prefix) : -4]
            if digits.isdigit():
                numbers.add(int(digits))
    return numbers


def read_jpeg(path: str, size: tuple[int, int] | None = None, *, clip_id: str | None = None) -> np.ndarray:
    """One JPEG as RGB uint8 ``(H, W, 3)``, optionally resized to ``size=(H, W)``."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            if size is not None:
                # Let libjpeg decode at a reduced scale (1/2, 1/4, 1/8) when the target is much smaller: much faster.
                image.draft("RGB", (size[1], size[0]))
            image = image.convert("RGB")
            if size is not None and image.size != (size[1], size[0]):
                image = image.resize((size[1], size[0]), Image.BILINEAR)
            return np.asarray(image)
    except FileNotFoundError:
        raise VidSituFormatError("frame file not found", file=path, clip_id=clip_id, reason="missing_video") from None
    except OSError as error:  # PIL.UnidentifiedImageError and truncated files are OSErrors
        raise VidSituFormatError(
            f"cannot decode ({type(error).__name__}: {error})", file=path, clip_id=clip_id, reason="corrupt_video"
        ) from None


def frame_numbers_at(
    times: Sequence[float], available: set[int], *, fps: int = FRAMES_FPS, tolerance_s: float = DEFAULT_TOLERANCE_S
) -> list[int | None]:
    """Map times to 1-based frame numbers of a folder (S3), clamping to the last frame within the tolerance (S4)."""
    last = max(available) if available else 0
    numbers: list[int | None] = []
    for time in times:
        number = int(math.floor(time * fps + _EPS)) + 1
        if number in available:
            numbers.append(number)
        elif number > last and last and time < last / fps + tolerance_s:
            numbers.append(last)
        else:
            numbers.append(None)
    return numbers


def probe_frame_folder(
    frames_dir: str, clip_id: str, *, fps: int = FRAMES_FPS, tolerance_s: float = DEFAULT_TOLERANCE_S
) -> int:
    """Check a frame folder (exists, enough frames, first and last frames decode); return its frame count."""
    numbers = list_frame_numbers(frames_dir, clip_id)
    needed = int(math.ceil((CLIP_SECONDS - tolerance_s) * fps - _EPS))
    if len(numbers) < needed or (numbers and max(numbers) < needed):
        raise VidSituFormatError(
            f"{len(numbers)} frames, fewer than the {needed} the 5 events need at {fps} fps",
            file=os.path.join(frames_dir, clip_id),
            clip_id=clip_id,
            reason="short_video",
        )
    for number in (min(numbers), max(numbers)):
        read_jpeg(frame_path(frames_dir, clip_id, number), size=(8, 8), clip_id=clip_id)
    return len(numbers)


def check_video(
    clip_id: str,
    *,
    video_dir: str | None = None,
    frames_dir: str | None = None,
    probe: bool = False,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> None:
    """Prepare-time check of one clip's video: it exists (cheap), and with ``probe=True`` it decodes and is long
    enough. Raises `VidSituFormatError` (``missing_video`` / ``corrupt_video`` / ``short_video``)."""
    if video_dir is not None:
        path = video_path(video_dir, clip_id)
        if probe:
            probe_mp4(path, clip_id=clip_id, tolerance_s=tolerance_s)
        elif not os.path.isfile(path) or os.path.getsize(path) == 0:
            raise VidSituFormatError(
                "video file not found (or empty)", file=path, clip_id=clip_id, reason="missing_video"
            )
    if frames_dir is not None:
        if probe:
            probe_frame_folder(frames_dir, clip_id, tolerance_s=tolerance_s)
        elif not os.path.isdir(os.path.join(frames_dir, clip_id)):
            raise VidSituFormatError(
                "frame folder not found",
                file=os.path.join(frames_dir, clip_id),
                clip_id=clip_id,
                reason="missing_video",
            )


# ---------------------------------------------------------------------------------------------------------------------
# The lazy transform
# ---------------------------------------------------------------------------------------------------------------------
class VidSituFrameLoader:
    """Decode a clip's per-event frames on access; use with ``dataset.with_transform(loader)``.

    For every row it adds:

    - ``pixel_values_videos``: a ``torch.uint8`` tensor of shape ``(5, frames_per_event, 3, H, W)`` — channels first,
      the layout `FigClipModel.get_video_features` takes (batch dimension added by the collator). With
      ``image_transform`` the tensor is whatever it returns, reshaped to ``(5, frames_per_event, *frame_shape)``.
    - ``event_mask``: a ``torch.bool`` tensor of shape ``(5,)``, False for events whose frames could not be loaded
      (lenient mode only; strict mode raises instead).
    - ``frames_problem``: ``""``, or in lenient mode the reason (``"missing_video"``, ``"short_video"``, …) a clip lost
      frames, so that a consumer in another process (the training collator) can count what was skipped.

    Other columns pass through unchanged. A batch without ``clip_id`` (e.g. ``dataset["events"]``) is returned as is,
    so reading text columns never decodes video.

    Args:
        video_dir: folder of ``{clip_id}.mp4`` (give exactly one of ``video_dir`` and ``frames_dir``).
        frames_dir: folder of ``{clip_id}/{clip_id}_%06d.jpg`` frame folders (30 fps).
        frames_per_event: frames sampled uniformly inside each 2 s event (paper: 4).
        jitter: random time inside each segment (training) instead of its centre (evaluation).
        seed: makes jitter reproducible: a clip's sampling times are then a function of ``(seed, epoch, clip_id)``
            only — not of the dataloader worker, the batch order or how often workers are restarted. Call
            `set_epoch` (or set ``epoch``) every epoch to draw new times. None: fresh OS entropy per process.
        frame_size: ``(H, W)`` to resize every frame to (needed to batch clips of different resolutions unless
            ``image_transform`` resizes). None keeps the native size.
        image_transform: called once per clip on the uint8 frames as a numpy array ``(5 * frames_per_event, H, W, 3)``;
            must return an array/tensor with the frames on the first axis, e.g. the CLIP processor::

                lambda frames: processor(images=list(frames), return_tensors="pt")["pixel_values"]

        strict: raise on a missing/corrupt/short video (True) or mask the events and count it (False).
        tolerance_s: how far past the last frame a sampling time may fall and still use the last frame (S4).
        decode_threads: FFmpeg threads per decoder (1 is best when every dataloader worker decodes its own clip).
        clip_threads: decode the clips of a batch (and apply ``image_transform`` to them) in this many threads of
            the calling process. PyAV releases the GIL while it decodes, so with ``dataloader_num_workers=0`` this
            uses idle cores without forking workers. The output is identical to ``clip_threads=1``.
        fallback_size: frame size for a clip that failed entirely in lenient mode when ``frame_size`` is None and no
            clip was decoded before in this process.
    """

    def __init__(
        self,
        video_dir: str | None = None,
        frames_dir: str | None = None,
        frames_per_event: int = 4,
        jitter: bool = False,
        seed: int | None = None,
        frame_size: tuple[int, int] | None = None,
        image_transform: Callable[[np.ndarray], Any] | None = None,
        strict: bool = True,
        tolerance_s: float = DEFAULT_TOLERANCE_S,
        decode_threads: int = 1,
        clip_threads: int = 1,
        fallback_size: tuple[int, int] = (224, 224),
    ):
        if (video_dir is None) == (frames_dir is None):
            raise ValueError("Give exactly one of video_dir (mp4 clips) and frames_dir (JPEG frame folders)")
        if frames_per_event < 1:
            raise ValueError(f"frames_per_event must be >= 1, got {frames_per_event}")
        if clip_threads < 1:
            raise ValueError(f"clip_threads must be >= 1, got {clip_threads}")
        self.video_dir = os.fspath(video_dir) if video_dir is not None else None
        self.frames_dir = os.fspath(frames_dir) if frames_dir is not None else None
        self.frames_per_event = frames_per_event
        self.jitter = jitter
        self.seed = seed
        self.frame_size = tuple(frame_size) if frame_size is not None else None
        self.image_transform = image_transform
        self.strict = strict
        self.tolerance_s = tolerance_s
        self.decode_threads = decode_threads
        self.clip_threads = int(clip_threads)
        self.fallback_size = tuple(fallback_size)
        #: with a seed, jitter depends on (seed, epoch, clip id); see `set_epoch`
        self.epoch = 0
        #: reason -> number of clips with that problem (lenient mode), per process
        self.stats: Counter = Counter()
        self._problem = ""  # the reason the clip being finished lost frames (see `__call__`)
        self._rng: np.random.Generator | None = None
        self._rng_pid: int | None = None
        self._last_size: tuple[int, int] | None = None
        #: PyAV swscale contexts by (process id, thread id): one per thread, and never one a forked dataloader
        #: worker inherited from its parent (swscale state is not fork- or thread-safe; a forked eval worker was
        #: once seen hanging inside sws_scale, cause not pinned down)
        self._reformatters: dict[tuple[int, int], Any] = {}
        self._executor: ThreadPoolExecutor | None = None  # for clip_threads > 1, created per process
        self._executor_pid: int | None = None

    def set_epoch(self, epoch: int) -> None:
        """Seeded jitter draws new sampling times each epoch (set before the epoch's dataloader workers start)."""
        self.epoch = int(epoch)

    def _generator(self, clip_id: str) -> np.random.Generator:
        if self.seed is not None:
            return jitter_generator(self.seed, self.epoch, clip_id)
        # Unseeded: one generator per process. A forked dataloader worker must not reuse the parent's state (the
        # classic duplicated-augmentation bug), hence the pid check.
        if self._rng is None or self._rng_pid != os.getpid():
            self._rng = np.random.default_rng()
            self._rng_pid = os.getpid()
        return self._rng

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_rng"], state["_rng_pid"], state["_reformatters"] = None, None, {}
        state["_executor"], state["_executor_pid"] = None, None
        return state

    def sample_times(self, clip_id: str = "") -> np.ndarray:
        """Sampling times ``(5, frames_per_event)`` in seconds for a clip (rules S1–S2)."""
        rng = self._generator(clip_id) if self.jitter else None
        return event_sample_times(self.frames_per_event, jitter=self.jitter, rng=rng)

    def load(self, clip_id: str) -> tuple[np.ndarray, np.ndarray]:
        """Frames ``(5, frames_per_event, H, W, 3)`` uint8 and ``event_mask`` ``(5,)`` bool for one clip."""
        times = self.sample_times(clip_id).reshape(-1)
        return self._finish(clip_id, times, self._try_decode(clip_id, times))

    def _try_decode(self, clip_id: str, times: np.ndarray) -> list[np.ndarray | None] | VidSituFormatError:
        """`_decode`, returning a format error instead of raising it (so a worker thread can hand it back)."""
        try:
            return self._decode(clip_id, times)
        except VidSituFormatError as error:
            return error

    def _finish(self, clip_id: str, times: np.ndarray,
                decoded: list[np.ndarray | None] | VidSituFormatError) -> tuple[np.ndarray, np.ndarray]:
        """Strict/lenient handling of a decoding error, then `_assemble` (always in the calling thread)."""
        if isinstance(decoded, VidSituFormatError):
            if self.strict:
                raise decoded
            self._count(decoded)
            decoded = [None] * len(times)
        return self._assemble(clip_id, decoded)

    def _map(self, function: Callable, items: list) -> list:
        """`function` over `items`, in `clip_threads` threads when there is more than one item."""
        if self.clip_threads == 1 or len(items) < 2:
            return [function(item) for item in items]
        if self._executor is None or self._executor_pid != os.getpid():
            self._executor = ThreadPoolExecutor(self.clip_threads, thread_name_prefix="vidsitu-decode")
            self._executor_pid = os.getpid()
        return list(self._executor.map(function, items))

    def _thread_reformatter(self):
        key = (os.getpid(), threading.get_ident())
        if key not in self._reformatters:
            from av.video.reformatter import VideoReformatter

            self._reformatters[key] = VideoReformatter()
        return self._reformatters[key]

    def decode_at(self, clip_id: str, times: Sequence[float] | np.ndarray) -> list[np.ndarray | None]:
        """The frames shown at ``times`` (seconds) of a clip, uint8 ``(H, W, 3)`` at ``frame_size`` (S3–S4); None for
        times past the end of a short video. Frames shown at several times are the same array object. Raises
        `VidSituFormatError` (``missing_video`` / ``corrupt_video``) whatever ``strict`` is: the frame cache builds
        on this with the loader's own decoding."""
        return self._decode(clip_id, np.asarray(times, dtype=float).reshape(-1))

    def source_of(self, clip_id: str) -> str:
        """The file or folder a clip's frames come from (named in errors)."""
        return video_path(self.video_dir, clip_id) if self.video_dir else os.path.join(self.frames_dir, clip_id)

    def _decode(self, clip_id: str, times: np.ndarray) -> list[np.ndarray | None]:
        if self.video_dir is not None:
            return decode_mp4_at(
                video_path(self.video_dir, clip_id),
                times.tolist(),
                clip_id=clip_id,
                size=self.frame_size,
                tolerance_s=self.tolerance_s,
                threads=self.decode_threads,
                reformatter=self._thread_reformatter(),
            )
        numbers = frame_numbers_at(
            times.tolist(), list_frame_numbers(self.frames_dir, clip_id), tolerance_s=self.tolerance_s
        )
        cache: dict[int, np.ndarray] = {}
        frames: list[np.ndarray | None] = []
        for number in numbers:
            if number is not None and number not in cache:
                cache[number] = read_jpeg(
                    frame_path(self.frames_dir, clip_id, number), self.frame_size, clip_id=clip_id
                )
            frames.append(cache.get(number) if number is not None else None)
        return frames

    def _assemble(self, clip_id: str, frames: list[np.ndarray | None]) -> tuple[np.ndarray, np.ndarray]:
        per_event = self.frames_per_event
        missing = [index for index, frame in enumerate(frames) if frame is None]
        if missing:
            error = incomplete_clip_error(self.source_of(clip_id), clip_id, missing, len(frames), per_event)
            if self.strict:
                raise error
            if len(missing) < len(frames):
                self._count(error)
        present = next((frame for frame in frames if frame is not None), None)
        if present is not None:
            height, width = present.shape[:2]
            self._last_size = (height, width)
        else:
            height, width = self.frame_size or self._last_size or self.fallback_size
        output = np.zeros((NUM_EVENTS, per_event, height, width, 3), dtype=np.uint8)
        event_mask = np.ones(NUM_EVENTS, dtype=bool)
        for index, frame in enumerate(frames):
            event, slot = divmod(index, per_event)
            if frame is None:
                event_mask[event] = False
            elif frame.shape[:2] == (height, width):
                output[event, slot] = frame
            else:  # a frame folder with mixed sizes: follow the first frame
                from PIL import Image

                output[event, slot] = np.asarray(Image.fromarray(frame).resize((width, height), Image.BILINEAR))
        output[~event_mask] = 0
        return output, event_mask

    def _count(self, error: VidSituFormatError) -> None:
        self.stats[error.reason] += 1
        self._problem = error.reason
        logger.warning("Skipping frames (lenient mode): %s", error)

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        """The ``with_transform``/``set_transform`` hook: adds ``pixel_values_videos`` and ``event_mask``."""
        if "clip_id" not in batch:
            return batch
        import torch

        clip_ids = list(batch["clip_id"])
        # Sampling times, error handling and assembly stay in this thread (in clip order: they touch the generator,
        # the lenient-mode counts and the last-size fallback); decoding and the image transform are pure per clip.
        times = [self.sample_times(clip_id).reshape(-1) for clip_id in clip_ids]
        decoded = self._map(lambda item: self._try_decode(*item), list(zip(clip_ids, times)))
        loaded, problems = [], []
        for clip_id, clip_times, clip_decoded in zip(clip_ids, times, decoded):
            self._problem = ""  # set by `_count` while this clip is finished
            loaded.append(self._finish(clip_id, clip_times, clip_decoded))
            problems.append(self._problem)

        def to_pixels(frames: np.ndarray):
            if self.image_transform is None:
                return torch.from_numpy(np.ascontiguousarray(frames.transpose(0, 1, 4, 2, 3)))
            result = self.image_transform(frames.reshape(-1, *frames.shape[2:]))
            transformed = result if isinstance(result, torch.Tensor) else torch.as_tensor(np.asarray(result))
            return transformed.reshape(NUM_EVENTS, self.frames_per_event, *transformed.shape[1:])

        pixel_values = self._map(to_pixels, [frames for frames, _ in loaded])
        masks = [torch.from_numpy(event_mask) for _, event_mask in loaded]
        return {**batch, "pixel_values_videos": pixel_values, "event_mask": masks, "frames_problem": problems}

    def __repr__(self) -> str:
        source = f"video_dir={self.video_dir!r}" if self.video_dir else f"frames_dir={self.frames_dir!r}"
        return (
            f"VidSituFrameLoader({source}, frames_per_event={self.frames_per_event}, jitter={self.jitter}, "
            f"frame_size={self.frame_size}, strict={self.strict})"
        )
