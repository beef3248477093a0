"""Benchmark the VidSitu builder on a synthetic release of VidSitu's size, and frame loading per dataloader worker.

Reports (a markdown table):

- time to prepare the train split (read + validate the annotation files, build SRL prompts and 4 verb-role negatives
  per event, write Arrow) for ~23.6k clips x 5 events, excluding video — goal: under 10 s on one core;
- frame-loading throughput of one process (= one dataloader worker) from mp4 clips (PyAV) and from JPEG frame
  folders, sampling 5 events x 4 frames per clip.

Usage::

    python benchmarks/bench_vidsitu.py                       # full size (~1 min incl. writing the release)
    python benchmarks/bench_vidsitu.py --num-train 2000 --video-clips 4   # quick

Not a test: numbers depend on the machine and on what else runs on it (CPU time is reported next to wall time).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import datasets  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from dataset_scripts.vidsitu import (  # noqa: E402
    VidSituFrameLoader,
    default_frames_fn,
    load_vidsitu,
    write_synthetic_release,
)

# VidSitu's clips come from `ffmpeg -ss {start} -i <url> -to 10 out.mp4`: libx264 with ffmpeg's defaults.
OFFICIAL_X264 = {"preset": "medium", "crf": "23"}


def _parse_size(text: str) -> tuple[int, int]:
    height, width = text.lower().split("x")
    return int(height), int(width)


def textured_frames(clip_id, annotation, num_frames, fps, size):
    """Camera-like synthetic content: the default coloured frames blended with a smooth random texture that pans
    over time, plus mild sensor noise. Flat colours alone make H.264 and JPEG decoding unrealistically cheap."""
    height, width = size
    rng = np.random.default_rng(zlib.crc32(clip_id.encode()))
    coarse = rng.integers(0, 256, size=(height // 8 + 2, width // 8 + 2 + num_frames // 4, 3), dtype=np.uint8)
    texture = np.asarray(
        Image.fromarray(coarse).resize((coarse.shape[1] * 8, coarse.shape[0] * 8), Image.BICUBIC), dtype=np.int16
    )
    base = default_frames_fn(clip_id, annotation, num_frames, fps, size).astype(np.int16)
    out = np.empty_like(base, dtype=np.uint8)
    for index in range(num_frames):
        shift = index * 2  # pan 2 pixels per frame
        window = texture[:height, shift : shift + width]
        noise = rng.integers(-4, 5, size=(height, width, 3), dtype=np.int16)
        out[index] = np.clip(base[index] // 2 + window // 2 + noise, 0, 255)
    return out


def bench_build(root: str, work: str, repeats: int) -> dict:
    """Prepare the train split from scratch `repeats` times; report the median."""
    walls, cpus = [], []
    for attempt in range(repeats):
        cache_dir = os.path.join(work, f"cache{attempt}")
        wall, cpu = time.perf_counter(), time.process_time()
        dataset = load_vidsitu(root, "train", num_negatives=4, cache_dir=cache_dir)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        shutil.rmtree(cache_dir, ignore_errors=True)
    events = sum(len(row) for row in dataset["events"])
    negatives = sum(len(event["negative_prompts"]) for row in dataset["events"] for event in row)
    return {
        "clips": len(dataset),
        "events": events,
        "negatives_per_event": negatives / max(events, 1),
        "wall_s": statistics.median(walls),
        "cpu_s": statistics.median(cpus),
    }


def bench_frames(loader: VidSituFrameLoader, clip_ids: list[str], repeats: int) -> float:
    """Frames per second of one process decoding `clip_ids` (20 frames each), median over repeats."""
    loader.load(clip_ids[0])  # warm-up (imports, codec initialisation)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        frames = 0
        for clip_id in clip_ids:
            clip, _ = loader.load(clip_id)
            frames += clip.shape[0] * clip.shape[1]
        rates.append(frames / (time.perf_counter() - start))
    return statistics.median(rates)


def bench_batch(loader: VidSituFrameLoader, clip_ids: list[str], repeats: int) -> float:
    """Frames per second of the `with_transform` hook on one batch of `clip_ids` (what a training step waits for
    with dataloader_num_workers=0), median over repeats."""
    loader({"clip_id": clip_ids[:2]})  # warm-up (imports, codec initialisation, thread pool)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        batch = loader({"clip_id": clip_ids})
        frames = sum(int(clip.shape[0] * clip.shape[1]) for clip in batch["pixel_values_videos"])
        rates.append(frames / (time.perf_counter() - start))
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-train", type=int, default=23600, help="training clips (VidSitu: ~23.6k)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--video-clips", type=int, default=12, help="clips used for the frame-loading benchmark")
    parser.add_argument("--video-size", type=_parse_size, default=(360, 640), help="HxW of the synthetic clips")
    parser.add_argument("--frame-size", type=_parse_size, default=(224, 224), help="HxW the loader resizes to")
    parser.add_argument("--frames-per-event", type=int, default=4)
    parser.add_argument("--all-cores", action="store_true", help="do not pin the process to one core")
    parser.add_argument("--work-dir", default=None, help="where to write the synthetic release (default: a temp dir)")
    args = parser.parse_args()

    if not args.all_cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # "on one core"
    datasets.disable_progress_bars()
    work = args.work_dir or tempfile.mkdtemp(prefix="bench_vidsitu_")
    try:
        start = time.perf_counter()
        release = write_synthetic_release(
            os.path.join(work, "release"), num_train=args.num_train, num_valid=0, num_test=0, seed=0
        )
        print(
            f"wrote {args.num_train} synthetic training annotations in {time.perf_counter() - start:.1f} s", flush=True
        )
        build = bench_build(release.root, work, args.repeats)

        start = time.perf_counter()
        videos = write_synthetic_release(
            os.path.join(work, "videos"), num_train=args.video_clips, num_valid=0, num_test=0, seed=1, video="both",
            size=args.video_size, frames_fn=textured_frames, codec_options=OFFICIAL_X264,
        )  # fmt: skip
        height, width = args.video_size
        print(f"wrote {args.video_clips} textured clips ({height}x{width}, 10 s, 30 fps) as mp4 and "
              f"JPEG folders in {time.perf_counter() - start:.1f} s", flush=True)  # fmt: skip
        clip_ids = videos.split_ids["train"]
        rates = {}
        for label, source in (("mp4 (PyAV, H.264)", {"video_dir": videos.video_dir}),
                              ("JPEG folders (PIL)", {"frames_dir": videos.frames_dir})):  # fmt: skip
            for size in (args.frame_size, None):
                loader = VidSituFrameLoader(**source, frames_per_event=args.frames_per_event, frame_size=size)
                rates[(label, size)] = bench_frames(loader, clip_ids, args.repeats)
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        batch_rates = {}
        for threads in sorted({1, cores}):  # side by side in one run: the ratio is the claim, not the absolute rate
            loader = VidSituFrameLoader(video_dir=videos.video_dir, frames_per_event=args.frames_per_event,
                                        frame_size=args.frame_size, clip_threads=threads)
            batch_rates[threads] = bench_batch(loader, clip_ids, args.repeats)
    finally:
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)

    per_clip = 5 * args.frames_per_event
    print()
    print(f"VidSitu builder benchmark ({'1 core' if not args.all_cores else 'all cores'}; median of {args.repeats})")
    print()
    print("| measurement | value |")
    print("|---|---|")
    print(f"| train split: clips x events | {build['clips']:,} x 5 = {build['events']:,} events |")
    print(f"| negatives per event (asked 4) | {build['negatives_per_event']:.2f} |")
    print(f"| build time, prompts + 4 negatives + Arrow (wall) | {build['wall_s']:.2f} s (goal < 10 s) |")
    print(f"| build time (CPU) | {build['cpu_s']:.2f} s |")
    print(f"| build throughput | {build['clips'] / build['wall_s']:,.0f} clips/s |")
    for (label, size), rate in rates.items():
        resize = f"resized to {size[0]}x{size[1]}" if size else "native size"
        print(f"| {label}, {args.video_size[0]}x{args.video_size[1]} -> {resize} | {rate:,.0f} frames/s per worker "
              f"({rate / per_clip:.1f} clips/s) |")  # fmt: skip
    for threads, rate in batch_rates.items():
        print(f"| mp4 batch of {len(clip_ids)} clips through the transform, clip_threads={threads} | {rate:,.0f} frames/s "
              f"({rate / batch_rates[1]:.2f}x clip_threads=1) |")


if __name__ == "__main__":
    main()
