"""VidSitu splits as training/evaluation datasets: prompts and negatives from the builder, frames decoded lazily."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import datasets
import numpy as np
import torch

from dataset_scripts.vidsitu import VidSituTransform, attach_transform, load_vidsitu, vidsitu_transform

from .arguments import DataArguments


@dataclass
class VidSituSplit:
    """A split ready for a DataLoader, with what the trainer needs beside the rows.

    Attributes:
        dataset: rows whose frames (and, for training, fresh negatives) are produced on access.
        transform: the on-access transform; `set_epoch` it every epoch (new jitter times and negatives).
        skipped: the builder's summary of the split (clips skipped, annotator copies and empty values dropped, fill
            levels of the negatives), also when the rows come from the datasets cache.
    """

    dataset: datasets.Dataset
    transform: VidSituTransform
    skipped: dict


def clip_image_transform(image_processor) -> Callable[[np.ndarray], torch.Tensor]:
    """Frames `(n, H, W, 3)` uint8 → CLIP pixel values `(n, 3, S, S)` with the model's own image processor."""

    def transform(frames: np.ndarray) -> torch.Tensor:
        return image_processor(images=list(frames), return_tensors="pt")["pixel_values"]

    return transform


def load_split(
    data_args: DataArguments,
    vidsitu_dir: str,
    split: str,
    image_processor,
    training: bool,
    seed: int,
    max_clips: int | None,
) -> VidSituSplit:
    """Load one split with `load_vidsitu`: text rows from the builder, frames decoded on access and, for training,
    negatives drawn afresh every epoch (``data_args.negative_sampling``); evaluation always uses the fixed draw."""
    dataset, skipped = load_vidsitu(
        vidsitu_dir,
        split=split,
        video_dir=data_args.video_dir,
        frames_dir=data_args.frames_dir,
        decode_frames=data_args.frame_cache is None,
        frames_per_event=data_args.frames_per_event,
        num_negatives=data_args.num_hard_negatives,
        negatives_seed=data_args.negatives_seed,
        negative_sampling=data_args.negative_sampling if training else "fixed",
        negative_pool_size=data_args.negative_pool_size,
        prompt_style=data_args.prompt_style,
        strict=data_args.strict,
        jitter=training and data_args.temporal_jitter,
        jitter_seed=seed,
        image_transform=clip_image_transform(image_processor),
        clip_threads=data_args.decode_clip_threads,
        cache_dir=data_args.dataset_cache_dir,
        return_summary=True,
    )
    if data_args.frame_cache is not None:
        dataset = attach_transform(dataset, _with_frame_cache(dataset, data_args, image_processor, training, seed))
    if max_clips is not None:
        dataset = dataset.select(range(min(max_clips, len(dataset))))  # keeps the transform
    return VidSituSplit(dataset, vidsitu_transform(dataset), skipped)


def _with_frame_cache(dataset, data_args: DataArguments, image_processor, training: bool, seed: int) -> VidSituTransform:
    """The split's row transforms (fresh negatives, if any) followed by a `FrameCacheLoader` in place of decoding:
    the frame loader's sampling and strict/lenient handling, frames normalised as ``image_processor`` does."""
    from dataset_scripts.vidsitu.frame_cache import FrameCacheLoader

    frames = FrameCacheLoader(
        data_args.frame_cache,
        frames_per_event=data_args.frames_per_event,
        jitter=training and data_args.temporal_jitter,
        seed=seed,
        image_mean=tuple(image_processor.image_mean),
        image_std=tuple(image_processor.image_std),
        strict=data_args.strict,
    )
    frames.check_processor(image_processor)
    existing = vidsitu_transform(dataset)
    return VidSituTransform(*(existing.transforms if existing is not None else []), frames)


def collate_clips(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack frames and masks; keep prompts (`[video][event]`) and negatives (`[video][event][k]`) as strings so the
    trainer can look them up in the text-embedding cache (or tokenize them when the text encoder is trained), and
    each clip's `frames_problem` (lenient mode) so the trainer can count what was skipped."""
    return {
        "clip_ids": [row["clip_id"] for row in rows],
        "pixel_values_videos": torch.stack([torch.as_tensor(row["pixel_values_videos"]) for row in rows]).float(),
        "event_mask": torch.stack([torch.as_tensor(row["event_mask"]) for row in rows]).bool(),
        "prompts": [[event["prompt"] for event in row["events"]] for row in rows],
        "negatives": [[list(event["negative_prompts"]) for event in row["events"]] for row in rows],
        "frames_problems": [row.get("frames_problem", "") for row in rows],
    }
