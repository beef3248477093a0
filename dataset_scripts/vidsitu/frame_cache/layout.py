"""What a VidSitu frame cache holds and where: candidate times, the row schema, shard names and the manifest.

A cache is a folder::

    {cache_dir}/manifest.json                          settings, shards (clips, frame counts, sha256), skip counts
    {cache_dir}/preprocessor_config.json               the CLIP image processor the frames were resized with
    {cache_dir}/frames-00000-of-00012.arrow            Arrow IPC shards (what `datasets` writes), one row per clip
    {cache_dir}/frames-00000-of-00012.json             written after its shard: the shard is complete
    {cache_dir}/build.json                             the settings fingerprint a resumed build must match

Per clip it stores, resized and centre-cropped as the model's image processor does, as JPEG:

- the **evaluation frames**: the frames shown at the segment centres, exactly the frame loader's deterministic
  sampling (S1–S4 in `frames.py`);
- **K candidate times per segment** for training jitter: segment ``s`` of length ``L`` gets the times
  ``start_s + (j + 0.5) L / K`` for ``j = 0..K-1`` (the centres of K equal sub-segments). The loader's jitter draws
  a uniform offset ``u`` per segment (seeded as f(seed, epoch, clip)); the cache makes the same draw and uses
  candidate ``floor(u K)``, whose sub-segment contains the loader's time — so a cached training time is within
  ``L / (2K)`` of the decoded loader's (62.5 ms for 4 frames per event and K = 4: at most 2 frames at 30 fps).

A frame shown at several of these times is stored once; the rows index into their own frame list.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

import datasets
import numpy as np

from ..frames import segment_starts
from ..schema import EVENT_SECONDS, NUM_EVENTS, VidSituFormatError

FORMAT_NAME = "figclip-vidsitu-frame-cache"
FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
SHARD_PREFIX = "frames"
#: Where a row's frame index says "no frame at this time" (a short video, or a clip that failed to decode).
NO_FRAME = -1

ERROR_FEATURES = {
    name: datasets.Value("string") for name in ("reason", "problem", "file", "clip_id", "event", "field")
}
#: One row per clip. ``frames`` are JPEG bytes in a `datasets.Image` column (``Dataset.from_file(shard)[i]["frames"]``
#: gives PIL images); ``eval_index`` is ``events x frames_per_event`` and ``candidate_index`` ``events x
#: frames_per_event x K``, both flattened row-major, each an index into ``frames`` or `NO_FRAME`; ``error`` is the
#: `VidSituFormatError` of a clip that could not be decoded (lenient builds only), else None.
FEATURES = datasets.Features(
    {
        "clip_id": datasets.Value("string"),
        "source": datasets.Value("string"),
        "frames": datasets.List(datasets.Image()),
        "eval_index": datasets.List(datasets.Value("int32")),
        "candidate_index": datasets.List(datasets.Value("int32")),
        "error": ERROR_FEATURES,
    }
)


def candidate_times(
    frames_per_event: int, candidates: int, num_events: int = NUM_EVENTS, event_seconds: float = EVENT_SECONDS
) -> np.ndarray:
    """The stored training times in seconds, shape ``(num_events, frames_per_event, candidates)``."""
    if candidates < 1:
        raise ValueError(f"candidates must be >= 1, got {candidates}")
    segment = event_seconds / frames_per_event
    fractions = (np.arange(candidates) + 0.5) / candidates
    return segment_starts(frames_per_event, num_events, event_seconds)[..., None] + fractions * segment


def candidate_choice(offsets: np.ndarray, candidates: int) -> np.ndarray:
    """Which candidate a uniform offset in [0, 1) picks: the one whose sub-segment contains it."""
    return np.minimum((np.asarray(offsets) * candidates).astype(np.int64), candidates - 1)


def error_record(error: VidSituFormatError) -> dict[str, str | None]:
    """A `VidSituFormatError` as an ``error`` column value."""
    return {name: getattr(error, name) for name in ERROR_FEATURES}


def error_from_record(record: dict[str, str | None]) -> VidSituFormatError:
    """The `VidSituFormatError` an ``error`` column value stores (same message, reason, file, clip, event, field)."""
    fields = {name: record.get(name) for name in ("file", "clip_id", "event", "field")}
    return VidSituFormatError(record["problem"], reason=record["reason"], **fields)


def shard_name(index: int, count: int) -> str:
    """``frames-00003-of-00012.arrow`` (the naming `datasets` uses for its own shards)."""
    return f"{SHARD_PREFIX}-{index:05d}-of-{count:05d}.arrow"


def done_marker(shard_path: str) -> str:
    """The JSON written next to a shard once it is complete (``….arrow`` → ``….json``)."""
    return shard_path[: -len(".arrow")] + ".json"


@dataclass
class CacheSettings:
    """Everything that decides a cache's bytes; a build resumes only into a folder with the same settings."""

    source_kind: str  # "mp4" | "frames"
    frames_per_event: int
    candidates: int
    jpeg_quality: int
    chroma_subsampling: str  # "4:2:0" | "4:4:4"
    crop_size: tuple[int, int]  # (H, W) of the stored frames
    resize: dict  # the image processor's resize/crop settings (size, crop_size, resample)
    image_mean: tuple[float, ...]
    image_std: tuple[float, ...]
    tolerance_s: float
    clips_per_shard: int
    strict: bool

    def fingerprint(self, clip_ids: list[str]) -> str:
        payload = json.dumps({"version": FORMAT_VERSION, **asdict(self), "clips": clip_ids}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass
class ShardRecord:
    """One complete shard, as its done-marker and the manifest list it."""

    file: str
    clip_ids: list[str]
    num_frames: int
    num_bytes: int
    sha256: str
    fingerprint: str
    skipped: dict = field(default_factory=dict)  # reason -> clips (lenient builds)


@dataclass
class Manifest:
    """``manifest.json``: the cache's settings, its shards and the clips each holds."""

    settings: CacheSettings
    shards: list[ShardRecord]
    splits: dict  # split -> number of clips taken from its split file
    source_dir: str
    build_seconds: float = 0.0
    format: str = FORMAT_NAME
    version: int = FORMAT_VERSION

    @property
    def num_clips(self) -> int:
        return sum(len(shard.clip_ids) for shard in self.shards)

    @property
    def num_frames(self) -> int:
        return sum(shard.num_frames for shard in self.shards)

    @property
    def num_bytes(self) -> int:
        return sum(shard.num_bytes for shard in self.shards)

    @property
    def skipped(self) -> dict:
        total: dict[str, int] = {}
        for shard in self.shards:
            for reason, count in shard.skipped.items():
                total[reason] = total.get(reason, 0) + count
        return dict(sorted(total.items()))

    def to_json(self) -> dict[str, Any]:
        record = asdict(self)
        record.update(
            num_clips=self.num_clips, num_frames=self.num_frames, num_bytes=self.num_bytes, skipped=self.skipped
        )
        return record

    def save(self, cache_dir: str) -> None:
        write_json_atomic(os.path.join(cache_dir, MANIFEST_FILE), self.to_json())

    @classmethod
    def load(cls, cache_dir: str) -> Manifest:
        path = os.path.join(cache_dir, MANIFEST_FILE)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"{cache_dir} is not a complete frame cache (no {MANIFEST_FILE}); build it with "
                "`python -m dataset_scripts.vidsitu.frame_cache` (an interrupted build resumes when rerun)."
            )
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
        if record.get("format") != FORMAT_NAME or record.get("version") != FORMAT_VERSION:
            raise ValueError(f"{path}: not a version-{FORMAT_VERSION} {FORMAT_NAME} manifest.")
        settings = record["settings"]
        settings["crop_size"] = tuple(settings["crop_size"])
        settings["image_mean"], settings["image_std"] = tuple(settings["image_mean"]), tuple(settings["image_std"])
        return cls(
            settings=CacheSettings(**settings),
            shards=[ShardRecord(**shard) for shard in record["shards"]],
            splits=record["splits"],
            source_dir=record["source_dir"],
            build_seconds=record.get("build_seconds", 0.0),
        )


def write_json_atomic(path: str, payload: Any) -> None:
    """Write JSON to a temporary file and rename it into place (readers never see half a file)."""
    temporary = f"{path}.tmp-{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def file_sha256(path: str, chunk_bytes: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_bytes), b""):
            digest.update(chunk)
    return digest.hexdigest()
