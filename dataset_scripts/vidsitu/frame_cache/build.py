"""Build a frame cache: decode every clip once, resize and crop as the model's image processor does, store JPEG.

- Decoding is the frame loader's own (`VidSituFrameLoader.decode_at`: same S1–S4 sampling, same PyAV/PIL code,
  same errors), at the evaluation times and the K candidate times of every segment (`layout`).
- Resize + centre crop is the CLIP image processor's (without rescaling/normalising), so a cached evaluation frame
  differs from the decoded-then-processed one only by JPEG loss.
- Clips are encoded in ``num_proc`` worker processes (``multiprocessing`` pool, one clip per task) and written in
  order by the main process into shards of ``clips_per_shard`` clips. A shard is written to a temporary file,
  flushed, checksummed and renamed into place, then a done-marker is written: a rerun skips complete shards and
  redoes the rest (an interrupted build resumes; a changed setting is refused unless ``overwrite``).
- Bad videos: ``strict=True`` stops at the first missing/corrupt/short clip with the frame loader's
  `VidSituFormatError`; ``strict=False`` stores the clip with its error (or its missing times) and counts it per
  reason in the manifest, and the reader then masks and counts it exactly as the frame loader would.
"""

from __future__ import annotations

import glob
import logging
import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..frames import DEFAULT_TOLERANCE_S, VidSituFrameLoader, event_sample_times, incomplete_clip_error
from ..schema import NUM_EVENTS, VidSituFormatError
from .jpeg import CHROMA_SUBSAMPLING, encode_jpegs
from .layout import (
    FEATURES,
    MANIFEST_FILE,
    NO_FRAME,
    SHARD_PREFIX,
    CacheSettings,
    Manifest,
    ShardRecord,
    candidate_times,
    done_marker,
    error_from_record,
    error_record,
    file_sha256,
    shard_name,
    write_json_atomic,
)

logger = logging.getLogger(__name__)

BUILD_FILE = "build.json"  # the settings fingerprint of the build in progress (for resume)
DEFAULT_SIZE = 224


# ---------------------------------------------------------------------------------------------------------------------
# Image processor: resize + centre crop, uint8 in, uint8 out
# ---------------------------------------------------------------------------------------------------------------------
def load_image_processor(model_name_or_path: str | None = None, size: int | None = None):
    """The model's image processor (``model_name_or_path``), or CLIP's at ``size`` (shortest edge = crop = size)."""
    if model_name_or_path is not None and size is not None:
        raise ValueError("Give model_name_or_path or size, not both (the processor decides the size).")
    if model_name_or_path is not None:
        from transformers import AutoImageProcessor

        return AutoImageProcessor.from_pretrained(model_name_or_path)
    from transformers import CLIPImageProcessor

    size = size or DEFAULT_SIZE
    return CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size})


def processor_settings(processor) -> tuple[tuple[int, int], dict]:
    """``(crop (H, W), resize settings)`` of a CLIP-style processor (shortest-edge resize + centre crop)."""
    crop = getattr(processor, "crop_size", None)
    if not getattr(processor, "do_center_crop", False) or not crop:
        raise ValueError(f"{type(processor).__name__} does not centre-crop: the cache needs one fixed frame size.")
    crop = dict(crop)
    crop_hw = (int(crop["height"]), int(crop["width"]))
    size = getattr(processor, "size", None)
    resize = {
        "size": dict(size) if size is not None else None,
        "crop_size": {"height": crop_hw[0], "width": crop_hw[1]},
        "resample": int(getattr(processor, "resample", 3) or 3),
        "processor": type(processor).__name__,
    }
    return crop_hw, resize


def resize_and_crop(processor, frames: Sequence[np.ndarray]):
    """uint8 ``(H, W, 3)`` frames → uint8 ``(N, 3, crop_h, crop_w)`` (the processor without rescale/normalise)."""
    import torch

    pixels = processor(images=list(frames), do_rescale=False, do_normalize=False, return_tensors="pt")["pixel_values"]
    if pixels.dtype != torch.uint8:  # a processor that computes in float: round back to the stored precision
        pixels = pixels.round().clamp_(0, 255).to(torch.uint8)
    return pixels


# ---------------------------------------------------------------------------------------------------------------------
# One clip
# ---------------------------------------------------------------------------------------------------------------------
class ClipEncoder:
    """``clip_id`` → one cache row (picklable: the pool sends it to every worker once)."""

    def __init__(
        self,
        processor,
        *,
        video_dir: str | None = None,
        frames_dir: str | None = None,
        frames_per_event: int = 4,
        candidates: int = 4,
        jpeg_quality: int = 90,
        chroma_subsampling: str = "4:2:0",
        tolerance_s: float = DEFAULT_TOLERANCE_S,
    ):
        self.processor = processor
        self.loader = VidSituFrameLoader(
            video_dir=video_dir, frames_dir=frames_dir, frames_per_event=frames_per_event, tolerance_s=tolerance_s
        )
        self.frames_per_event = frames_per_event
        self.jpeg_quality = jpeg_quality
        self.chroma_subsampling = chroma_subsampling
        self.eval_times = event_sample_times(frames_per_event).reshape(-1)
        self.candidate_times = candidate_times(frames_per_event, candidates).reshape(-1)

    def __call__(self, clip_id: str) -> dict[str, Any]:
        source = self.loader.source_of(clip_id)
        times = np.concatenate([self.eval_times, self.candidate_times])
        try:
            decoded = self.loader.decode_at(clip_id, times)
        except VidSituFormatError as error:
            return self._row(clip_id, source, [], [NO_FRAME] * len(times), error_record(error))
        arrays: list[np.ndarray] = []
        position: dict[int, int] = {}  # id(array) -> index in `arrays`: the loader returns one object per frame
        indices = []
        for frame in decoded:
            if frame is None:
                indices.append(NO_FRAME)
                continue
            if id(frame) not in position:
                position[id(frame)] = len(arrays)
                arrays.append(frame)
            indices.append(position[id(frame)])
        pixels = resize_and_crop(self.processor, arrays) if arrays else None
        blobs = encode_jpegs(pixels, self.jpeg_quality, self.chroma_subsampling) if arrays else []
        return self._row(clip_id, source, blobs, indices, None)

    def _row(self, clip_id: str, source: str, blobs: list[bytes], indices: list[int], error) -> dict[str, Any]:
        split = len(self.eval_times)
        return {
            "clip_id": clip_id,
            "source": source,
            "frames": [{"bytes": blob, "path": None} for blob in blobs],
            "eval_index": indices[:split],
            "candidate_index": indices[split:],
            "error": error,
        }


def row_problem(row: dict[str, Any], frames_per_event: int, candidates: int) -> VidSituFormatError | None:
    """The frame loader's error for a row: its decoding error, else ``short_video`` if a stored time has no frame
    (evaluation times first, so an evaluation-time problem is reported exactly as the loader reports it)."""
    if row["error"] is not None:
        return error_from_record(row["error"])
    checks = ((row["eval_index"], frames_per_event), (row["candidate_index"], frames_per_event * candidates))
    for indices, per_event in checks:
        missing = [k for k, index in enumerate(indices) if index == NO_FRAME]
        if missing:
            return incomplete_clip_error(row["source"], row["clip_id"], missing, len(indices), per_event)
    return None


# ---------------------------------------------------------------------------------------------------------------------
# Shards
# ---------------------------------------------------------------------------------------------------------------------
def write_shard(path: str, rows: Iterable[dict[str, Any]], on_row=None) -> tuple[int, int]:
    """Write rows to ``path`` atomically (temporary file, fsync, rename). Returns ``(rows, frames)``."""
    from datasets.arrow_writer import ArrowWriter

    temporary = f"{path}.tmp"
    writer = ArrowWriter(features=FEATURES, path=temporary, writer_batch_size=8)
    count = frames = 0
    try:
        for row in rows:
            writer.write(row)
            count += 1
            frames += len(row["frames"])
            if on_row is not None:
                on_row(row)
        writer.finalize()
    finally:
        writer.close()
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    return count, frames


def shard_is_complete(path: str, fingerprint: str) -> ShardRecord | None:
    """The shard's record if its done-marker matches ``fingerprint`` and the file has the recorded size."""
    import json

    marker = done_marker(path)
    if not (os.path.isfile(marker) and os.path.isfile(path)):
        return None
    with open(marker, encoding="utf-8") as handle:
        record = ShardRecord(**json.load(handle))
    if record.fingerprint != fingerprint or os.path.getsize(path) != record.num_bytes:
        return None
    return record


def _cache_files(output_dir: str) -> list[str]:
    names = [MANIFEST_FILE, BUILD_FILE, "preprocessor_config.json"]
    files = [os.path.join(output_dir, name) for name in names]
    files += glob.glob(os.path.join(output_dir, f"{SHARD_PREFIX}-*"))
    return [path for path in files if os.path.exists(path)]


# ---------------------------------------------------------------------------------------------------------------------
# Worker processes
# ---------------------------------------------------------------------------------------------------------------------
_WORKER_ENCODER: ClipEncoder | None = None


def _init_worker(encoder: ClipEncoder) -> None:
    import torch

    global _WORKER_ENCODER
    torch.set_num_threads(1)  # one clip per process: parallelism comes from the processes
    _WORKER_ENCODER = encoder


def _encode_in_worker(clip_id: str) -> dict[str, Any]:
    return _WORKER_ENCODER(clip_id)


def _encoded_rows(encoder: ClipEncoder, clip_ids: list[str], num_proc: int) -> Iterator[dict[str, Any]]:
    """Rows in ``clip_ids`` order, encoded here or in ``num_proc`` processes."""
    if num_proc <= 1 or len(clip_ids) < 2:
        yield from (encoder(clip_id) for clip_id in clip_ids)
        return
    # Not "fork": a parent that has run torch ops holds OpenMP threads, and forked children can hang in them. A fork
    # server starts clean and imports this module once, so workers start in well under a second.
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__, type(encoder.processor).__module__])
    else:
        context = multiprocessing.get_context("spawn")
    with context.Pool(min(num_proc, len(clip_ids)), initializer=_init_worker, initargs=(encoder,)) as pool:
        yield from pool.imap(_encode_in_worker, clip_ids, chunksize=1)


# ---------------------------------------------------------------------------------------------------------------------
# The build
# ---------------------------------------------------------------------------------------------------------------------
@dataclass
class BuildResult:
    """What `build_frame_cache` did."""

    manifest: Manifest
    built_shards: int
    reused_shards: int
    seconds: float
    clips_encoded: int


def list_split_clip_ids(vidsitu_dir: str, splits: Sequence[str]) -> tuple[list[str], dict[str, int]]:
    """The clip ids of the split files (official order; a clip listed in several splits once), and per-split counts."""
    from ..reader import IssueLog, ReadSummary, read_split_ids, resolve_annotations_dir
    from ..schema import canonical_split

    annotations_dir = resolve_annotations_dir(vidsitu_dir)
    ordered: dict[str, None] = {}
    counts: dict[str, int] = {}
    for split in splits:
        split = canonical_split(split)
        ids = read_split_ids(annotations_dir, split, IssueLog(False, ReadSummary(split)))
        counts[split] = len(ids)
        ordered.update(dict.fromkeys(ids))
    return list(ordered), counts


def build_frame_cache(
    output_dir: str,
    clip_ids: Sequence[str],
    *,
    video_dir: str | None = None,
    frames_dir: str | None = None,
    processor=None,
    frames_per_event: int = 4,
    candidates: int = 4,
    jpeg_quality: int = 90,
    chroma_subsampling: str = "4:2:0",
    clips_per_shard: int = 128,
    num_proc: int = 1,
    strict: bool = True,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    overwrite: bool = False,
    splits: dict[str, int] | None = None,
    progress: bool = True,
) -> BuildResult:
    """Build (or resume building) a frame cache of ``clip_ids`` in ``output_dir``; see the module docstring.

    Args:
        processor: the model's image processor (`load_image_processor`); default CLIP's at 224.
        candidates: K stored times per segment for training jitter.
        jpeg_quality, chroma_subsampling: JPEG settings (`jpeg.encode_jpegs`).
        clips_per_shard: clips per Arrow shard (~1.3 MB per clip at 224², 4 x 5 frames, K = 4, quality 90).
        num_proc: worker processes decoding and encoding clips.
        strict: stop at the first bad video (True) or store and count it (False).
        overwrite: replace a cache built with other settings (otherwise refused).
        splits: split -> clip count, recorded in the manifest.
    """
    from tqdm.auto import tqdm

    if (video_dir is None) == (frames_dir is None):
        raise ValueError("Give exactly one of video_dir (mp4 clips) and frames_dir (JPEG frame folders)")
    if not 1 <= jpeg_quality <= 100:
        raise ValueError(f"jpeg_quality must be in 1..100, got {jpeg_quality}")
    if chroma_subsampling not in CHROMA_SUBSAMPLING:
        raise ValueError(f"chroma_subsampling must be one of {CHROMA_SUBSAMPLING}, got {chroma_subsampling!r}")
    if clips_per_shard < 1 or num_proc < 1:
        raise ValueError("clips_per_shard and num_proc must be >= 1")
    clip_ids = list(dict.fromkeys(clip_ids))
    if not clip_ids:
        raise ValueError("no clips to cache")
    processor = processor if processor is not None else load_image_processor()
    crop, resize = processor_settings(processor)
    settings = CacheSettings(
        source_kind="mp4" if video_dir is not None else "frames",
        frames_per_event=frames_per_event,
        candidates=candidates,
        jpeg_quality=jpeg_quality,
        chroma_subsampling=chroma_subsampling,
        crop_size=crop,
        resize=resize,
        image_mean=tuple(float(v) for v in processor.image_mean),
        image_std=tuple(float(v) for v in processor.image_std),
        tolerance_s=float(tolerance_s),
        clips_per_shard=clips_per_shard,
        strict=strict,
    )
    os.makedirs(output_dir, exist_ok=True)
    _claim_folder(output_dir, settings.fingerprint(clip_ids), overwrite)

    plan = [clip_ids[start : start + clips_per_shard] for start in range(0, len(clip_ids), clips_per_shard)]
    paths = [os.path.join(output_dir, shard_name(index, len(plan))) for index in range(len(plan))]
    fingerprints = [settings.fingerprint(shard) for shard in plan]
    records: list[ShardRecord | None] = [shard_is_complete(p, f) for p, f in zip(paths, fingerprints)]
    pending = [index for index, record in enumerate(records) if record is None]
    logger.info("Frame cache %s: %d of %d shards complete, %d to build.", output_dir, len(plan) - len(pending),
                len(plan), len(pending))

    encoder = ClipEncoder(
        processor, video_dir=video_dir, frames_dir=frames_dir, frames_per_event=frames_per_event,
        candidates=candidates, jpeg_quality=jpeg_quality, chroma_subsampling=chroma_subsampling,
        tolerance_s=tolerance_s,
    )  # fmt: skip
    started = time.perf_counter()
    todo = [clip_id for index in pending for clip_id in plan[index]]
    rows = _encoded_rows(encoder, todo, num_proc)
    with tqdm(total=len(todo), unit="clip", desc="frame cache", disable=not progress) as bar:
        try:
            for index in pending:
                skipped: Counter = Counter()

                def check(row: dict[str, Any]) -> None:
                    problem = row_problem(row, frames_per_event, candidates)
                    if problem is not None:
                        if strict:
                            raise problem
                        skipped[problem.reason] += 1
                        logger.warning("Frame cache (lenient): %s", problem)
                    bar.update(1)

                shard_rows = (next(rows) for _ in plan[index])
                _, num_frames = write_shard(paths[index], shard_rows, on_row=check)
                record = ShardRecord(
                    file=os.path.basename(paths[index]), clip_ids=plan[index], num_frames=num_frames,
                    num_bytes=os.path.getsize(paths[index]), sha256=file_sha256(paths[index]),
                    fingerprint=fingerprints[index], skipped=dict(sorted(skipped.items())),
                )  # fmt: skip
                write_json_atomic(done_marker(paths[index]), asdict(record))
                records[index] = record
        finally:
            rows.close()  # stops the worker pool (also when a strict error or an interrupt ends the build early)
    seconds = time.perf_counter() - started

    processor.save_pretrained(output_dir)
    manifest = Manifest(
        settings=settings,
        shards=[record for record in records if record is not None],
        splits=dict(splits or {}),
        source_dir=os.path.abspath(video_dir or frames_dir),
        build_seconds=round(seconds, 3),
    )
    manifest.save(output_dir)
    return BuildResult(manifest, len(pending), len(plan) - len(pending), seconds, len(todo))


def _claim_folder(output_dir: str, fingerprint: str, overwrite: bool) -> None:
    """Record the build's fingerprint; refuse (or, with ``overwrite``, clear) a cache of other settings; remove the
    temporary files an interrupted build left behind."""
    import json

    path = os.path.join(output_dir, BUILD_FILE)
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as handle:
            previous = json.load(handle).get("fingerprint")
        if previous != fingerprint:
            if not overwrite:
                raise ValueError(
                    f"{output_dir} holds a frame cache built with other settings or clips; choose another "
                    "output_dir or pass overwrite=True (--overwrite)."
                )
            for stale in _cache_files(output_dir):
                os.remove(stale)
    elif _cache_files(output_dir) and not overwrite:
        raise ValueError(
            f"{output_dir} holds frame-cache files of unknown settings; pass overwrite=True (--overwrite)."
        )
    elif overwrite:
        for stale in _cache_files(output_dir):
            os.remove(stale)
    for leftover in glob.glob(os.path.join(output_dir, f"{SHARD_PREFIX}-*.tmp*")):
        os.remove(leftover)
    # A resumed build rewrites the manifest at the end; until then the folder is not a complete cache.
    if os.path.exists(os.path.join(output_dir, MANIFEST_FILE)):
        os.remove(os.path.join(output_dir, MANIFEST_FILE))
    write_json_atomic(path, {"fingerprint": fingerprint})


# ---------------------------------------------------------------------------------------------------------------------
# Verification
# ---------------------------------------------------------------------------------------------------------------------
def verify_frame_cache(cache_dir: str) -> Manifest:
    """Check every shard against the manifest: sha256, size, clip ids in order, frame counts, index ranges and
    lengths. Raises `ValueError` listing every problem; returns the manifest when all is well."""
    import datasets

    manifest = Manifest.load(cache_dir)
    settings = manifest.settings
    per_clip = NUM_EVENTS * settings.frames_per_event
    problems = []
    for shard in manifest.shards:
        path = os.path.join(cache_dir, shard.file)
        if not os.path.isfile(path):
            problems.append(f"{shard.file}: missing")
            continue
        if os.path.getsize(path) != shard.num_bytes or file_sha256(path) != shard.sha256:
            problems.append(f"{shard.file}: size or sha256 differs from the manifest")
            continue
        table = datasets.Dataset.from_file(path).data.table
        if table.column("clip_id").to_pylist() != shard.clip_ids:
            problems.append(f"{shard.file}: clip ids differ from the manifest")
        frames = table.column("frames").combine_chunks()
        counts = np.diff(frames.offsets.to_numpy())
        if int(counts.sum()) != shard.num_frames:
            problems.append(f"{shard.file}: {int(counts.sum())} frames, the manifest says {shard.num_frames}")
        for name, length in (("eval_index", per_clip), ("candidate_index", per_clip * settings.candidates)):
            for row, (count, indices) in enumerate(zip(counts, table.column(name).to_pylist())):
                if len(indices) != length or any(not (NO_FRAME <= i < count) for i in indices):
                    problems.append(f"{shard.file} row {row}: {name} has a wrong length or an index out of range")
    if problems:
        raise ValueError(f"frame cache {cache_dir} failed verification:\n  " + "\n  ".join(problems))
    return manifest
