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
from dataclasses import dataclass
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


@dataclass
class _ClipSource:
    """Which clips to encode and how: ids, what the loader takes, frames per clip, events, and a record."""

    keys: list[str]
    paths: list[str]
    load: Any
    num_frames: int
    events: int
    record: dict[str, Any]


def extract_features(encoder: ClipEncoder, args: EvaluationArguments, model_name: str) -> EvalResult:
    """Extract and write the embeddings (see the module docstring); the result records where they went."""
    if not args.output_dir:
        raise ValueError("extract_features needs --output_dir (where the .npy/.safetensors files and index.json go).")
    skip_log = SkipLog(args.skip_missing)
    clips = _vidsitu_clips(args, skip_log) if _is_vidsitu(args.data_dir) else _folder_clips(args, skip_log)
    path_to_key = dict(zip(clips.paths, clips.keys))
    videos = encoder.encode_videos(
        clips.paths, clips.load, clips.num_frames, use_contextualizer=args.use_contextualizer, events=clips.events,
        desc="clips",
    )  # fmt: skip
    for path, reason in videos.failures.items():
        skip_log.reasons.append(f"clip {path_to_key[path]}: {reason}")
    kept = [key for key, path in zip(clips.keys, clips.paths) if path not in videos.failures]
    if not kept:
        raise BenchmarkDataError("extract_features: no clip could be encoded.")
    videos.rows = {path_to_key[path]: row for path, row in videos.rows.items()}
    entries = write_features(args.output_dir, kept, videos, args.features_format)
    levels = _levels(videos)
    index_path = _write_index(args, model_name, clips, levels, entries)
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
            num_frames=clips.num_frames,
            events=clips.events,
            **clips.record,
        ),
        num_skipped=skip_log.count,
        details=skip_details(skip_log),
    )


def _vidsitu_clips(args: EvaluationArguments, skip_log: SkipLog) -> _ClipSource:
    """The clips of a VidSitu split, 5 events of `frames_per_event` frames each (the training sampling)."""
    from dataset_scripts.vidsitu.schema import canonical_split

    from .vidsitu import NUM_EVENTS, ClipFrames, annotation_index, clip_id_of, read_split, resolve_video_source

    split = canonical_split(args.vidsitu_split)
    annotations_dir, _ = annotation_index(args.data_dir, split)
    video_dir, frames_dir = resolve_video_source(args)
    keys = [clip_id_of(c) for c in read_split(annotations_dir, split, skip_log)]
    keys = keys[: args.max_items] if args.max_items else keys
    record = {"source": "vidsitu", "split": split, "video_dir": video_dir, "frames_dir": frames_dir}
    return _ClipSource(keys, keys, ClipFrames(video_dir, frames_dir, args.frames_per_event),
                       NUM_EVENTS * args.frames_per_event, NUM_EVENTS, record)


def _folder_clips(args: EvaluationArguments, skip_log: SkipLog) -> _ClipSource:
    """The videos of a folder, `num_frames` uniform segment centres grouped into equal events."""
    keys, paths, video_dir = _generic_videos(args, skip_log)
    keys, paths = (keys[: args.max_items], paths[: args.max_items]) if args.max_items else (keys, paths)
    num_frames = args.num_frames or DEFAULT_GENERIC_FRAMES
    if num_frames % args.frames_per_event:
        raise ValueError(
            f"--num_frames {num_frames} must be a multiple of --frames_per_event "
            f"{args.frames_per_event} (frames are grouped into equal events)."
        )
    record = {"source": "video folder", "video_dir": video_dir, "frame_sampling": "uniform segment centres"}
    return _ClipSource(keys, paths, partial(read_video_frames, num_frames=num_frames), num_frames,
                       num_frames // args.frames_per_event, record)


def _write_index(args: EvaluationArguments, model_name: str, clips: _ClipSource, levels: dict, entries: list) -> str:
    """`index.json`: model, format, each level's shape per clip, events, settings and the clips' files."""
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
        "events": clips.events,
        "frames_per_event": clips.num_frames // clips.events,
        "settings": {**clips.record, "use_contextualizer": args.use_contextualizer},
        "clips": entries,
    }
    index_path = os.path.join(args.output_dir, "index.json")
    with open(index_path, "w", encoding="utf-8") as handle:
        json.dump(index, handle, indent=1)
    return index_path
