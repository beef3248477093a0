"""Build the whole toy world from one seed: the web corpus, the VidSitu release and the benchmarks.

On-disk layout of ``build_world(output_dir)``::

    {output_dir}/world_manifest.json     config, fingerprint, split sizes, content digests, timings
    {output_dir}/pretrain_web/           web-style (image, caption) corpus for the base CLIP (imagefolder layout)
        metadata.jsonl                   {"file_name": "images/….png", "text": <web caption>, "clip_id", "frame"}
        images/{clip:05d}_{frame:03d}.png
    {output_dir}/vidsitu/                a VidSitu release (see `release`): `data_dir` of the VidSitu builder
    {output_dir}/benchmarks/             held-out clips in the ARO / SugarCrepe / MSR-VTT formats (see `benchmarks`)

Splits are disjoint by construction: every clip is drawn from its own generator seeded with
``(seed, split code, index)``, and clip ids are checked to be unique across splits. The same seed and config give
byte-identical files (encoder threads are fixed to 1, and nothing depends on the order in which clips are built).
A world whose manifest already has the requested fingerprint is reused, not rebuilt.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from typing import Optional

import numpy as np
from PIL import Image

from .benchmarks import IMAGE_DIRNAME, benchmark_frame_indices, image_name, write_benchmark_files
from .grammar import ClipSpec, sample_clip
from .motion import EVENT_FRAMES
from .release import VIDEO_DIRNAME, video_path, write_annotation_files
from .render import render_clip
from .text import web_caption
from .video import write_mp4

#: Bump when the world's content changes in a way the source fingerprint would not catch (e.g. a library upgrade).
WORLD_FORMAT_VERSION = 1
SPLIT_CODES = {"pretrain": 1, "train": 2, "valid": 3, "benchmark": 4}
MANIFEST_NAME = "world_manifest.json"
PRETRAIN_DIRNAME, RELEASE_DIRNAME, BENCHMARK_DIRNAME = "pretrain_web", "vidsitu", "benchmarks"


@dataclass
class WorldConfig:
    """What to generate. The defaults are the default run's world (about a minute on 2 CPU cores)."""

    seed: int = field(default=0, metadata={"help": "Seed of every split of the world."})
    num_pretrain_clips: int = field(default=1600, metadata={"help": "Clips whose frames form the web corpus."})
    pretrain_frames_per_event: int = field(default=2, metadata={"help": "Web-corpus frames drawn per event."})
    num_train_clips: int = field(default=480, metadata={"help": "VidSitu train clips (FiGCLIP adaptation)."})
    num_valid_clips: int = field(default=64, metadata={"help": "VidSitu valid clips."})
    num_benchmark_clips: int = field(default=400, metadata={"help": "Held-out clips for the benchmarks."})
    transitive_probability: float = field(default=0.55, metadata={"help": "Share of two-participant events."})
    num_workers: int = field(default=2, metadata={"help": "Rendering processes (does not change the output)."})

    def content_dict(self) -> dict:
        """The fields that determine the content (not `num_workers`)."""
        data = asdict(self)
        data.pop("num_workers")
        return data


def source_fingerprint() -> str:
    """A digest of this package's source: a changed generator invalidates cached worlds."""
    digest = hashlib.sha256(str(WORLD_FORMAT_VERSION).encode())
    package_dir = os.path.dirname(os.path.abspath(__file__))
    for name in sorted(os.listdir(package_dir)):
        if name.endswith(".py"):
            with open(os.path.join(package_dir, name), "rb") as handle:
                digest.update(name.encode() + handle.read())
    return digest.hexdigest()


def world_fingerprint(config: WorldConfig) -> str:
    """Identity of a world: its content config and the generator source."""
    payload = json.dumps({"config": config.content_dict(), "source": source_fingerprint()}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def split_clips(config: WorldConfig, split: str, count: int) -> list[ClipSpec]:
    """The clips of one split (each from its own generator, so any subset can be regenerated alone)."""
    code = SPLIT_CODES[split]
    return [sample_clip(np.random.default_rng([config.seed, code, index]), split=split,
                        transitive_probability=config.transitive_probability) for index in range(count)]


def world_clips(config: WorldConfig) -> dict[str, list[ClipSpec]]:
    """Every split's clips; raises if two splits share a clip id (they never should)."""
    clips = {
        "pretrain": split_clips(config, "pretrain", config.num_pretrain_clips),
        "train": split_clips(config, "train", config.num_train_clips),
        "valid": split_clips(config, "valid", config.num_valid_clips),
        "benchmark": split_clips(config, "benchmark", config.num_benchmark_clips),
    }
    seen: dict[str, str] = {}
    for split, split_list in clips.items():
        for clip in split_list:
            if clip.clip_id in seen:
                raise RuntimeError(f"clip id {clip.clip_id} drawn for both {seen[clip.clip_id]} and {split}")
            seen[clip.clip_id] = split
    return clips


# ---------------------------------------------------------------------------------------------------------------------
# Per-clip jobs (run in worker processes; each returns what the manifest needs)
# ---------------------------------------------------------------------------------------------------------------------
def _png_bytes(frame: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG", optimize=False, compress_level=1)
    return buffer.getvalue()


def _write_bytes(path: str, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)


def _pretrain_job(args) -> list[dict]:
    """Render a few frames per event of a pretrain clip and caption each one web-style."""
    clip, index, seed, frames_per_event, out_dir = args
    rng = np.random.default_rng([seed, SPLIT_CODES["pretrain"], index, 1])
    picks = [(k, int(tau)) for k in range(len(clip.events))
             for tau in sorted(rng.choice(EVENT_FRAMES, size=frames_per_event, replace=False))]
    frames = render_clip(clip, [EVENT_FRAMES * k + tau for k, tau in picks])
    records = []
    for (event_index, tau), frame in zip(picks, frames):
        frame_index = EVENT_FRAMES * event_index + tau
        file_name = f"images/{index:05d}_{frame_index:03d}.png"
        _write_bytes(os.path.join(out_dir, file_name), _png_bytes(frame))
        records.append({"file_name": file_name, "text": web_caption(clip, rng, clip.events[event_index]),
                        "clip_id": clip.clip_id, "frame": frame_index})
    return records


def _release_job(args) -> None:
    clip, root = args
    write_mp4(video_path(root, clip.clip_id), render_clip(clip))


def _benchmark_job(args) -> None:
    """Write the full clip as an MSR-VTT-style video and its benchmark frames as PNGs (rendered, not decoded)."""
    clip, index, video_dir, image_dir = args
    frames = render_clip(clip)
    write_mp4(os.path.join(video_dir, f"video{index}.mp4"), frames)
    for event_index, frame_index in enumerate(benchmark_frame_indices(len(clip.events))):
        _write_bytes(os.path.join(image_dir, image_name(index, event_index)), _png_bytes(frames[frame_index]))


def _run(jobs: list, function, num_workers: int) -> list:
    if num_workers <= 1 or len(jobs) < 8:
        return [function(job) for job in jobs]
    # "spawn": safe even when the caller has already started torch's threads.
    with ProcessPoolExecutor(max_workers=num_workers, mp_context=get_context("spawn")) as pool:
        return list(pool.map(function, jobs, chunksize=max(1, len(jobs) // (8 * num_workers))))


def _digest_tree(root: str) -> str:
    """sha256 over every file under `root` (relative path + bytes), in sorted order."""
    digest = hashlib.sha256()
    for directory, subdirs, files in os.walk(root):
        subdirs.sort()
        for name in sorted(files):
            path = os.path.join(directory, name)
            digest.update(os.path.relpath(path, root).encode())
            with open(path, "rb") as handle:
                digest.update(handle.read())
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------------------------------
def load_manifest(output_dir: str) -> Optional[dict]:
    path = os.path.join(output_dir, MANIFEST_NAME)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def build_world(output_dir: str, config: Optional[WorldConfig] = None, overwrite: bool = False,
                log=print) -> dict:
    """Generate the world into `output_dir` (or reuse it if its manifest has the same fingerprint).

    Returns the manifest (also written to ``world_manifest.json``): config, fingerprint, split sizes, digests of the
    web corpus, the release and the benchmarks, and how long each part took.
    """
    config = config or WorldConfig()
    fingerprint = world_fingerprint(config)
    existing = load_manifest(output_dir)
    if existing is not None and existing.get("fingerprint") == fingerprint and not overwrite:
        log(f"[toy_world] reusing the world in {output_dir} (fingerprint {fingerprint})")
        return existing
    for name in (PRETRAIN_DIRNAME, RELEASE_DIRNAME, BENCHMARK_DIRNAME, MANIFEST_NAME):
        path = os.path.join(output_dir, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)
    timings = {}
    start = time.perf_counter()
    clips = world_clips(config)
    workers = max(1, config.num_workers)

    # 1. Web corpus for the base CLIP.
    t0 = time.perf_counter()
    pretrain_dir = os.path.join(output_dir, PRETRAIN_DIRNAME)
    os.makedirs(os.path.join(pretrain_dir, "images"), exist_ok=True)
    jobs = [(clip, i, config.seed, config.pretrain_frames_per_event, pretrain_dir)
            for i, clip in enumerate(clips["pretrain"])]
    records = [record for batch in _run(jobs, _pretrain_job, workers) for record in batch]
    with open(os.path.join(pretrain_dir, "metadata.jsonl"), "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    timings["pretrain_web_s"] = round(time.perf_counter() - t0, 2)
    log(f"[toy_world] web corpus: {len(records)} captioned frames ({timings['pretrain_web_s']} s)")

    # 2. The VidSitu release (train + valid).
    t0 = time.perf_counter()
    release_dir = os.path.join(output_dir, RELEASE_DIRNAME)
    os.makedirs(os.path.join(release_dir, VIDEO_DIRNAME), exist_ok=True)
    write_annotation_files(release_dir, clips["train"], clips["valid"])
    _run([(clip, release_dir) for clip in clips["train"] + clips["valid"]], _release_job, workers)
    timings["vidsitu_release_s"] = round(time.perf_counter() - t0, 2)
    log(f"[toy_world] VidSitu release: {len(clips['train'])} train + {len(clips['valid'])} valid clips "
        f"({timings['vidsitu_release_s']} s)")

    # 3. Benchmarks from held-out clips.
    t0 = time.perf_counter()
    bench_dir = os.path.join(output_dir, BENCHMARK_DIRNAME)
    video_dir = os.path.join(bench_dir, "web_retrieval", "videos")
    image_dir = os.path.join(bench_dir, IMAGE_DIRNAME)
    os.makedirs(video_dir, exist_ok=True)
    os.makedirs(image_dir, exist_ok=True)
    _run([(clip, i, video_dir, image_dir) for i, clip in enumerate(clips["benchmark"])], _benchmark_job, workers)
    summary = write_benchmark_files(bench_dir, clips["benchmark"], image_dir, config.seed)
    timings["benchmarks_s"] = round(time.perf_counter() - t0, 2)
    counts = ", ".join(f"{name} {info['items']}" for name, info in summary.items())
    log(f"[toy_world] benchmarks: {counts} ({timings['benchmarks_s']} s)")

    timings["total_s"] = round(time.perf_counter() - start, 2)
    manifest = {
        "format_version": WORLD_FORMAT_VERSION,
        "fingerprint": fingerprint,
        "config": config.content_dict(),
        "splits": {split: len(split_list) for split, split_list in clips.items()},
        "pretrain_web": {"dir": PRETRAIN_DIRNAME, "pairs": len(records)},
        "vidsitu": {"dir": RELEASE_DIRNAME, "video_dir": os.path.join(RELEASE_DIRNAME, VIDEO_DIRNAME)},
        "benchmarks": {"dir": BENCHMARK_DIRNAME, **summary},
        "digests": {
            "pretrain_web": _digest_tree(pretrain_dir),
            "vidsitu": _digest_tree(release_dir),
            "benchmarks": _digest_tree(bench_dir),
        },
        "timings": timings,
    }
    with open(os.path.join(output_dir, MANIFEST_NAME), "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=1)
    log(f"[toy_world] done in {timings['total_s']} s -> {output_dir}")
    return manifest
