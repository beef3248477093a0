"""``python -m dataset_scripts.vidsitu.frame_cache``: build (or resume, or verify) a VidSitu frame cache."""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field

from ..frames import DEFAULT_TOLERANCE_S

ALL_SPLITS = "train,valid,testvb,testsrl,testevrel"


@dataclass
class FrameCacheArguments:
    """Where the clips are, which ones to cache, at which size and quality."""

    output_dir: str = field(metadata={"help": "Cache folder (created; an interrupted build there resumes)."})
    vidsitu_dir: str | None = field(
        default=None, metadata={"help": "Folder holding vidsitu_annotations/: its split files list the clips."}
    )
    video_dir: str | None = field(default=None, metadata={"help": "Folder of {clip_id}.mp4 clips."})
    frames_dir: str | None = field(default=None, metadata={"help": "Folder of {clip_id}/{clip_id}_%06d.jpg frames."})
    splits: str = field(default=ALL_SPLITS, metadata={"help": "Comma-separated splits whose clips are cached."})
    model_name_or_path: str | None = field(
        default=None, metadata={"help": "Model whose image processor sets the frame size (resize + centre crop)."}
    )
    size: int | None = field(
        default=None, metadata={"help": "Without a model: CLIP's processor at this size (default 224)."}
    )
    frames_per_event: int = field(default=4, metadata={"help": "Frames per 2 s event (paper: 4)."})
    candidates: int = field(default=4, metadata={"help": "K candidate times per segment for training jitter."})
    jpeg_quality: int = field(default=90, metadata={"help": "JPEG quality of the stored frames (1-100)."})
    chroma_subsampling: str = field(
        default="4:2:0",
        metadata={"help": "4:2:0 (smaller, faster) or 4:4:4 (fine colour detail, e.g. the toy world).",
                  "choices": ["4:2:0", "4:4:4"]},
    )
    clips_per_shard: int = field(default=128, metadata={"help": "Clips per Arrow shard (~1.3 MB per clip at 224²)."})
    num_proc: int = field(default=1, metadata={"help": "Processes decoding and encoding clips."})
    strict: bool = field(default=True, metadata={"help": "Stop at a bad video (True) or store and count it (False)."})
    tolerance_s: float = field(default=DEFAULT_TOLERANCE_S, metadata={"help": "How far past the end a time may fall."})
    overwrite: bool = field(default=False, metadata={"help": "Replace a cache of other settings in output_dir."})
    verify: bool = field(default=False, metadata={"help": "Only verify an existing cache (checksums, counts)."})


def main(argv: list[str] | None = None) -> int:
    from transformers import HfArgumentParser

    from .build import build_frame_cache, list_split_clip_ids, load_image_processor, verify_frame_cache

    (args,) = HfArgumentParser(FrameCacheArguments).parse_args_into_dataclasses(args=argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.verify:
        manifest = verify_frame_cache(args.output_dir)
        print(f"{args.output_dir}: OK ({manifest.num_clips} clips, {manifest.num_frames} frames, "
              f"{len(manifest.shards)} shards, {manifest.num_bytes / 2**20:.1f} MiB)")
        return 0
    if args.vidsitu_dir is None:
        raise SystemExit("--vidsitu_dir is required (its split files list the clips to cache)")
    clip_ids, counts = list_split_clip_ids(args.vidsitu_dir, [s.strip() for s in args.splits.split(",") if s.strip()])
    processor = load_image_processor(args.model_name_or_path, args.size)
    result = build_frame_cache(
        args.output_dir, clip_ids, video_dir=args.video_dir, frames_dir=args.frames_dir, processor=processor,
        frames_per_event=args.frames_per_event, candidates=args.candidates, jpeg_quality=args.jpeg_quality,
        chroma_subsampling=args.chroma_subsampling,
        clips_per_shard=args.clips_per_shard, num_proc=args.num_proc, strict=args.strict,
        tolerance_s=args.tolerance_s, overwrite=args.overwrite, splits=counts,
    )  # fmt: skip
    manifest = result.manifest
    rate = result.clips_encoded / result.seconds if result.seconds > 0 else float("nan")
    print(f"{os.path.abspath(args.output_dir)}: {manifest.num_clips} clips in {len(manifest.shards)} shards "
          f"({result.built_shards} built, {result.reused_shards} reused), {manifest.num_frames} frames, "
          f"{manifest.num_bytes / 2**20:.1f} MiB ({manifest.num_bytes / max(manifest.num_clips, 1) / 2**20:.2f} MiB "
          f"per clip); {result.clips_encoded} clips encoded in {result.seconds:.1f} s ({rate:.2f} clips/s)")
    if manifest.skipped:
        print(f"bad videos stored masked (lenient): {manifest.skipped}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
