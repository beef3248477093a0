"""VidSitu splits as training/evaluation datasets: prompts and negatives from the builder, frames decoded lazily."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import datasets
import numpy as np
import torch

from dataset_scripts.vidsitu import VidSituFrameLoader, load_vidsitu

from .arguments import DataArguments


@dataclass
class VidSituSplit:
    """A split with its lazy frame loader (kept so the trainer can set the loader's epoch)."""

    dataset: datasets.Dataset
    frame_loader: VidSituFrameLoader
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
    """Load one split: text columns from the VidSitu builder, frames through a `VidSituFrameLoader` transform."""
    dataset, skipped = load_vidsitu(
        vidsitu_dir,
        split=split,
        video_dir=data_args.video_dir,
        frames_dir=data_args.frames_dir,
        frames_per_event=data_args.frames_per_event,
        num_negatives=data_args.num_hard_negatives,
        negatives_seed=data_args.negatives_seed,
        prompt_style=data_args.prompt_style,
        strict=data_args.strict,
        decode_frames=False,
        cache_dir=data_args.dataset_cache_dir,
        return_summary=True,
    )
    if max_clips is not None:
        dataset = dataset.select(range(min(max_clips, len(dataset))))
    loader = VidSituFrameLoader(
        video_dir=data_args.video_dir,
        frames_dir=data_args.frames_dir,
        frames_per_event=data_args.frames_per_event,
        jitter=training and data_args.temporal_jitter,
        seed=seed,
        image_transform=clip_image_transform(image_processor),
        strict=data_args.strict,
        clip_threads=data_args.decode_clip_threads,
    )
    return VidSituSplit(dataset.with_transform(loader), loader, skipped)


def collate_clips(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack frames and masks; keep prompts (`[video][event]`) and negatives (`[video][event][k]`) as strings so the
    trainer can look them up in the text-embedding cache (or tokenize them when the text encoder is trained)."""
    return {
        "clip_ids": [row["clip_id"] for row in rows],
        "pixel_values_videos": torch.stack([torch.as_tensor(row["pixel_values_videos"]) for row in rows]).float(),
        "event_mask": torch.stack([torch.as_tensor(row["event_mask"]) for row in rows]).bool(),
        "prompts": [[event["prompt"] for event in row["events"]] for row in rows],
        "negatives": [[list(event["negative_prompts"]) for event in row["events"]] for row in rows],
    }
