"""`extract_features`: per-clip frame-, event- and video-level embeddings for downstream models.

Sources:

- a VidSitu release (`data_dir` holds `vidsitu_annotations/`): every clip of `--vidsitu_split`, 5 events x
  `--frames_per_event` frames sampled by VidSitu's frame loader;
- any folder of videos (`--video_dir`, default `data_dir/videos`; or the `video_id` column of `--csv_file`):
  `--num_frames` frames (default 20) sampled uniformly over each clip, grouped into consecutive events of
  `--frames_per_event` frames.

Outputs in `--output_dir`:

- `--features_format npy` (PDVC-style, one file per clip and level): `frame/{key}.npy` `(events*frames, dim)` (the
  frame sequence in time order, what dense-captioning models such as PDVC read), `event/{key}.npy` `(events, dim)`,
  `video/{key}.npy` `(dim,)`, and with `--use_contextualizer` also `vc_event/` and `vc_video/`;
- `--features_format safetensors`: one `features.safetensors` with `(clips, ...)` tensors per level + `frame_mask`;
- always `index.json`: model, settings, levels with shapes, and per clip its key, row and files.

All embeddings are L2-normalised, in CLIP's joint space (so they can be compared with text embeddings directly).
"""

from __future__ import annotations

import json
import os
import re
from functools import partial
from typing import Any

import numpy as np
import torch

from dataset_scripts.benchmarks.common import BenchmarkDataError, SkipLog
from dataset_scripts.benchmarks.retrieval_csv import load_retrieval_csv
from dataset_scripts.benchmarks.video_io import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, read_video_frames

from .arguments import EvaluationArguments
from .common import base_settings, skip_details
from .encoders import ClipEncoder, VideoEmbeddings
from .results import EvalResult

DEFAULT_GENERIC_FRAMES = 20


def _is_vidsitu(data_dir: str) -> bool:
    return os.path.isdir(os.path.join(data_dir, "vidsitu_annotations")) or os.path.isdir(
        os.path.join(data_dir, "split_files")
    )


def _file_key(key: str) -> str:
    """A safe file name for a clip key (clip ids are safe already; paths and odd characters are flattened)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", key)


def _generic_videos(args: EvaluationArguments, skip_log: SkipLog) -> tuple[list[str], list[str], str]:
    """`(keys, paths, video_dir)` of the videos (or frame folders) to extract."""
    video_dir = args.video_dir or os.path.join(args.data_dir, "videos")
    if args.csv_file:
        csv_path = args.csv_file if os.path.isabs(args.csv_file) else os.path.join(args.data_dir, args.csv_file)
        data = load_retrieval_csv(csv_path, video_dir, skip_log)
        return data.video_ids, data.video_paths, video_dir
    if not os.path.isdir(video_dir):
        raise BenchmarkDataError(f"video folder {video_dir!r} does not exist (pass --video_dir).")
    keys, paths = [], []
    for name in sorted(os.listdir(video_dir)):
        path = os.path.join(video_dir, name)
        stem, extension = os.path.splitext(name)
        if os.path.isfile(path) and extension.lower() in VIDEO_EXTENSIONS:
            keys.append(stem)
            paths.append(path)
        elif os.path.isdir(path) and any(f.lower().endswith(IMAGE_EXTENSIONS) for f in os.listdir(path)):
            keys.append(name)
            paths.append(path)
    if not keys:
        raise BenchmarkDataError(f"{video_dir}: no video files ({', '.join(VIDEO_EXTENSIONS)}) or frame folders.")
    return keys, paths, video_dir


def _levels(videos: VideoEmbeddings) -> dict[str, torch.Tensor]:
    levels = {"frame": videos.frames, "event": videos.clip_events, "video": videos.clip_videos}
    if videos.contextualized:
        levels.update(vc_event=videos.events, vc_video=videos.videos)
    return levels


def write_features(output_dir: str, keys: list[str], videos: VideoEmbeddings, fmt: str) -> list[dict[str, Any]]:
    """Write every level for `keys` (in that order) and return the per-clip index entries."""
    os.makedirs(output_dir, exist_ok=True)
    rows = [videos.rows[key] for key in keys]
    levels = {name: tensor[rows] for name, tensor in _levels(videos).items()}
    mask = videos.frame_mask[rows]
    entries = []
    if fmt == "safetensors":
        from safetensors.torch import save_file

        save_file(
            {**{name: t.contiguous() for name, t in levels.items()}, "frame_mask": mask.contiguous()},
            os.path.join(output_dir, "features.safetensors"),
        )
        return [{"key": key, "row": row} for row, key in enumerate(keys)]
    for name in levels:
        os.makedirs(os.path.join(output_dir, name), exist_ok=True)
    for row, key in enumerate(keys):
        files = {}
        for name, tensor in levels.items():
            value = tensor[row]
            if name == "frame":  # the present frames in time order: (T, dim)
                value = value[mask[row]]
            files[name] = os.path.join(name, f"{_file_key(key)}.npy")
            np.save(os.path.join(output_dir, files[name]), value.numpy().astype(np.float32))
        entries.append({"key": key, "row": row, "files": files, "num_frames": int(mask[row].sum())})
    return entries


def extract_features(encoder: ClipEncoder, args: EvaluationArguments, model_name: str) -> EvalResult:
    """Extract and write the embeddings (see the module docstring); the result records where they went."""
    if not args.output_dir:
        raise ValueError("extract_features needs --output_dir (where the .npy/.safetensors files and index.json go).")
    skip_log = SkipLog(args.skip_missing)
    if _is_vidsitu(args.data_dir):
        from dataset_scripts.vidsitu.schema import canonical_split

        from .vidsitu import NUM_EVENTS, ClipFrames, annotation_index, clip_id_of, read_split, resolve_video_source

        split = canonical_split(args.vidsitu_split)
        annotations_dir, _ = annotation_index(args.data_dir, split)
        video_dir, frames_dir = resolve_video_source(args)
        keys = [clip_id_of(c) for c in read_split(annotations_dir, split, skip_log)]
        keys = keys[: args.max_items] if args.max_items else keys
        load, num_frames, events = (
            ClipFrames(video_dir, frames_dir, args.frames_per_event),
            NUM_EVENTS * args.frames_per_event,
            NUM_EVENTS,
        )
        source = {"source": "vidsitu", "split": split, "video_dir": video_dir, "frames_dir": frames_dir}
        paths = keys
    else:
        keys, paths, video_dir = _generic_videos(args, skip_log)
        keys, paths = (keys[: args.max_items], paths[: args.max_items]) if args.max_items else (keys, paths)
        num_frames = args.num_frames or DEFAULT_GENERIC_FRAMES
        if num_frames % args.frames_per_event:
            raise ValueError(
                f"--num_frames {num_frames} must be a multiple of --frames_per_event "
                f"{args.frames_per_event} (frames are grouped into equal events)."
            )
        load, events = partial(read_video_frames, num_frames=num_frames), num_frames // args.frames_per_event
        source = {"source": "video folder", "video_dir": video_dir, "frame_sampling": "uniform segment centres"}
    path_to_key = dict(zip(paths, keys))
    videos = encoder.encode_videos(
        paths, load, num_frames, use_contextualizer=args.use_contextualizer, events=events, desc="clips"
    )
    for path, reason in videos.failures.items():
        skip_log.reasons.append(f"clip {path_to_key[path]}: {reason}")
    kept = [(key, path) for key, path in zip(keys, paths) if path not in videos.failures]
    if not kept:
        raise BenchmarkDataError("extract_features: no clip could be encoded.")
    videos.rows = {path_to_key[path]: row for path, row in videos.rows.items()}
    entries = write_features(args.output_dir, [key for key, _ in kept], videos, args.features_format)
    levels = _levels(videos)
    index = {
        "model": model_name,
        "format": args.features_format,
        "levels": {
            name: {
                "shape_per_clip": list(t.shape[1:])
                if name != "frame" or args.features_format != "npy"
                else ["num_frames", int(t.shape[-1])]
            }
            for name, t in levels.items()
        },
        "normalized": True,
        "events": events,
        "frames_per_event": num_frames // events,
        "settings": {**source, "use_contextualizer": args.use_contextualizer},
        "clips": entries,
    }
    index_path = os.path.join(args.output_dir, "index.json")
    with open(index_path, "w", encoding="utf-8") as handle:
        json.dump(index, handle, indent=1)
    return EvalResult(
        task="extract_features",
        model=model_name,
        metrics={},
        num_items=len(entries),
        settings=base_settings(
            args,
            output_dir=args.output_dir,
            index_file=index_path,
            format=args.features_format,
            levels=list(levels),
            num_frames=num_frames,
            events=events,
            **source,
        ),
        num_skipped=skip_log.count,
        details=skip_details(skip_log),
    )
