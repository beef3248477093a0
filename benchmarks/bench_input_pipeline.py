"""Input-pipeline throughput per dataloader worker: mp4 vs JPEG frame folders vs the frame cache, side by side.

One process pinned to one core (= one dataloader worker) loads batches of textured 360x640 clips (H.264 with
ffmpeg's defaults, like VidSitu's trimmed clips; `bench_vidsitu.textured_frames`) through the row transforms the
recipes use, 5 events x 4 frames per clip with seeded training jitter, and reports frames per second for:

- uint8 frames at 224² (mp4: PyAV + swscale resize, as `bench_vidsitu.py` measures; folders: PIL with draft
  decoding; cache: torchvision's `decode_jpeg`, and PIL for comparison);
- model-ready CLIP pixel values (mp4 / folders: frames at native size through the CLIP image processor, what
  `load_split` does without a cache; cache: decode + normalise, what it does with ``--frame_cache``);

plus the cache's size per clip, its build rate (one process) and how close its evaluation frames are to decoded
ones (PSNR of the 224² crops). Every source is measured in every round, in rotating order, so machine drift spreads
over all of them; the table reports medians and the ratios come from the same run.

    python benchmarks/bench_input_pipeline.py            # 12 clips, 3 rounds (~2.5 min on 2 cores)
    python benchmarks/bench_input_pipeline.py --quick    # 3 clips, 2 rounds (< 2 min); last line: the ratio

Not a test: numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from bench_vidsitu import OFFICIAL_X264, textured_frames  # noqa: E402  (the real release's kind of source)

from dataset_scripts.vidsitu import VidSituFrameLoader, write_synthetic_release  # noqa: E402
from dataset_scripts.vidsitu.frame_cache import (  # noqa: E402
    FrameCacheLoader,
    JpegDecoder,
    build_frame_cache,
    load_image_processor,
)


def _parse_size(text: str) -> tuple[int, int]:
    height, width = text.lower().split("x")
    return int(height), int(width)


def batch_rate(transform, clip_ids: list[str]) -> float:
    """Frames per second of one call of a row transform on a batch of clips."""
    start = time.perf_counter()
    batch = transform({"clip_id": clip_ids})
    seconds = time.perf_counter() - start
    frames = sum(int(pixels.shape[0] * pixels.shape[1]) for pixels in batch["pixel_values_videos"])
    return frames / seconds


def fidelity_psnr(cache_dir: str, video_dir: str, processor, clip_ids: list[str]) -> float:
    """PSNR (dB) of the cached evaluation frames against decoded frames through the same resize + crop."""
    cached = torch.stack(FrameCacheLoader(cache_dir)({"clip_id": clip_ids})["pixel_values_videos"]).float()
    loader = VidSituFrameLoader(video_dir=video_dir, image_transform=lambda frames: processor(
        images=list(frames), do_rescale=False, do_normalize=False, return_tensors="pt")["pixel_values"])
    decoded = torch.stack(loader({"clip_id": clip_ids})["pixel_values_videos"]).float()
    return float(10 * torch.log10(255**2 / (cached - decoded).pow(2).mean()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 clips, 2 rounds: under 2 minutes on 2 cores")
    parser.add_argument("--clips", type=int, default=None, help="clips per batch (default 12; --quick 3)")
    parser.add_argument("--rounds", type=int, default=None, help="measurement rounds (default 3; --quick 2)")
    parser.add_argument("--video-size", type=_parse_size, default=(360, 640), help="HxW of the synthetic clips")
    parser.add_argument("--size", type=int, default=224, help="model input size (CLIP resize + centre crop)")
    parser.add_argument("--jpeg-quality", type=int, default=90)
    parser.add_argument("--candidates", type=int, default=4)
    parser.add_argument("--all-cores", action="store_true", help="do not pin the process to one core")
    parser.add_argument("--work-dir", default=None, help="where to write clips and cache (default: a temp dir)")
    args = parser.parse_args()
    clips = args.clips or (3 if args.quick else 12)
    rounds = args.rounds or (2 if args.quick else 3)

    warnings.filterwarnings("ignore")
    if not args.all_cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one dataloader worker = one core
    torch.set_num_threads(1)
    work = args.work_dir or tempfile.mkdtemp(prefix="bench_input_pipeline_")
    processor = load_image_processor(size=args.size)
    size = (args.size, args.size)
    try:
        start = time.perf_counter()
        release = write_synthetic_release(
            os.path.join(work, "release"), num_train=clips, num_valid=0, num_test=0, seed=1, video="both",
            size=args.video_size, frames_fn=textured_frames, codec_options=OFFICIAL_X264,
        )  # fmt: skip
        clip_ids = release.split_ids["train"]
        print(f"wrote {clips} textured clips ({args.video_size[0]}x{args.video_size[1]}, 10 s, 30 fps, H.264 "
              f"medium/crf 23) as mp4 and JPEG folders in {time.perf_counter() - start:.1f} s", flush=True)

        cache_dir = os.path.join(work, "cache")
        build = build_frame_cache(cache_dir, clip_ids, video_dir=release.video_dir, processor=processor,
                                  jpeg_quality=args.jpeg_quality, candidates=args.candidates, progress=False)
        manifest = build.manifest
        print(f"built the frame cache in {build.seconds:.1f} s", flush=True)

        def pixel_values(frames):
            return processor(images=list(frames), return_tensors="pt")["pixel_values"]

        jitter = dict(jitter=True, seed=0)
        norm = dict(image_mean=processor.image_mean, image_std=processor.image_std)
        transforms = {
            ("uint8", "mp4 (PyAV + swscale resize)"): VidSituFrameLoader(video_dir=release.video_dir,
                                                                        frame_size=size, **jitter),
            ("uint8", "JPEG folders (PIL, draft)"): VidSituFrameLoader(frames_dir=release.frames_dir,
                                                                       frame_size=size, **jitter),
            ("uint8", "cache (torchvision decode_jpeg)"): FrameCacheLoader(cache_dir, **jitter),
            ("uint8", "cache (PIL)"): FrameCacheLoader(cache_dir, decoder=JpegDecoder(backend="pil"), **jitter),
            ("pixels", "mp4 + CLIP image processor"): VidSituFrameLoader(video_dir=release.video_dir,
                                                                         image_transform=pixel_values, **jitter),
            ("pixels", "JPEG folders + CLIP image processor"): VidSituFrameLoader(frames_dir=release.frames_dir,
                                                                                  image_transform=pixel_values,
                                                                                  **jitter),
            ("pixels", "cache (decode_jpeg + normalise)"): FrameCacheLoader(cache_dir, **jitter, **norm),
        }  # fmt: skip
        for transform in transforms.values():
            transform({"clip_id": clip_ids[:1]})  # warm-up: imports, codec and thread set-up
        rates: dict[tuple[str, str], list[float]] = {key: [] for key in transforms}
        keys = list(transforms)
        for round_index in range(rounds):
            for key in keys[round_index % len(keys) :] + keys[: round_index % len(keys)]:
                transforms[key].set_epoch(round_index)  # new jitter draws every round
                rates[key].append(batch_rate(transforms[key], clip_ids))
        psnr = fidelity_psnr(cache_dir, release.video_dir, processor, clip_ids)
    finally:
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)

    median = {key: statistics.median(values) for key, values in rates.items()}
    mp4_uint8, mp4_pixels = median[keys[0]], median[keys[4]]
    per_clip_mib = manifest.num_bytes / manifest.num_clips / 2**20
    print()
    print(f"Input pipeline per worker ({'1 core' if not args.all_cores else 'all cores'}, torch 1 thread; "
          f"{clips} clips x 5 events x 4 frames per batch, seeded jitter; median of {rounds} rounds)")
    print()
    print("| output | source | frames/s per worker | vs mp4 |")
    print("|---|---|---|---|")
    for (output, label), rate in median.items():
        reference = mp4_uint8 if output == "uint8" else mp4_pixels
        shape = f"uint8 {args.size}²" if output == "uint8" else f"CLIP pixel values {args.size}²"
        print(f"| {shape} | {label} | {rate:,.0f} | {rate / reference:.2f}x |")
    print()
    print("| frame cache | value |")
    print("|---|---|")
    print(f"| stored frames per clip (20 evaluation + {args.candidates} x 20 candidates, shared frames once) | "
          f"{manifest.num_frames / manifest.num_clips:.0f} |")
    print(f"| size per clip (JPEG q{args.jpeg_quality}, 4:2:0, {args.size}²) | {per_clip_mib:.2f} MiB |")
    print(f"| build rate, one process ({args.video_size[0]}x{args.video_size[1]} mp4 source) | "
          f"{build.clips_encoded / build.seconds:.2f} clips/s |")
    print(f"| evaluation frames vs decoded + same resize/crop | PSNR {psnr:.1f} dB |")
    print()
    print(f"cache/mp4 frames-per-second ratio, uint8 frames: {median[keys[2]] / mp4_uint8:.2f}")
    print(f"cache/mp4 frames-per-second ratio: {median[keys[6]] / mp4_pixels:.2f}")


if __name__ == "__main__":
    main()
