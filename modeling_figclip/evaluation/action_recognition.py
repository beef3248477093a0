"""Zero-shot action recognition on UCF-101, HMDB-51 and Kinetics-600 (zero-shot subsets), ViFi-CLIP/X-CLIP protocol.

A video is classified by the cosine similarity of its mean-pooled frame embedding with each class's text embedding.
Prompts: the bare class name (default, as X-CLIP/ViFi-CLIP zero-shot evaluation) or CLIP's template ensemble
(`--templates clip`: mean of the L2-normalised template embeddings, re-normalised). Metrics are averaged over the
splits present (the protocol reports the mean over the three splits); per-split numbers are in `details`.
"""

from __future__ import annotations

import os
from functools import partial

import numpy as np
import torch

from dataset_scripts.benchmarks.action_recognition import (
    ACTION_DATASETS,
    class_name_to_text,
    find_split_files,
    load_split,
)
from dataset_scripts.benchmarks.common import SkipLog
from dataset_scripts.benchmarks.video_io import read_video_frames

from . import metrics as M
from .bootstrap import items_digest
from ..utils import l2_normalize
from .arguments import EvaluationArguments
from .common import base_settings, skip_details
from .encoders import ClipEncoder
from .results import EvalResult


def class_prompts(class_names: tuple[str, ...], dataset: str, templates: str) -> list[list[str]]:
    """Per class, the prompt texts whose embeddings are averaged (one bare name, or the template ensemble)."""
    spec = ACTION_DATASETS[dataset]
    texts = [class_name_to_text(name, spec.camel_case) for name in class_names]
    if templates == "classname":
        return [[text] for text in texts]
    if templates == "clip":
        return [[template.format(text) for template in spec.templates] for text in texts]
    raise ValueError(f"templates must be 'classname' or 'clip', got {templates!r}.")


def class_embeddings(encoder: ClipEncoder, prompts: list[list[str]]) -> torch.Tensor:
    """`(classes, dim)`: the re-normalised mean of each class's normalised prompt embeddings."""
    table = encoder.encode_texts([p for class_prompts_ in prompts for p in class_prompts_], "class prompts")
    return l2_normalize(torch.stack([table.lookup(p).mean(dim=0) for p in prompts]))


def evaluate_action_recognition(
    encoder: ClipEncoder, args: EvaluationArguments, model_name: str, dataset: str
) -> EvalResult:
    """`top1`, `top5`, `mean_per_class` (percent), averaged over the splits present."""
    skip_log = SkipLog(args.skip_missing)
    video_dir = args.video_dir or os.path.join(args.data_dir, "videos")
    if not os.path.isdir(video_dir):
        from dataset_scripts.benchmarks.common import BenchmarkDataError

        raise BenchmarkDataError(f"video folder {video_dir!r} does not exist (pass --video_dir).")
    splits = [
        load_split(name, split_file, label_file, video_dir, skip_log)
        for name, split_file, label_file in find_split_files(dataset, args.data_dir, args.split_list())
    ]
    per_split_videos = {s.name: list(s.videos[: args.max_items] if args.max_items else s.videos) for s in splits}
    num_frames = args.frames_for(dataset)
    # A video listed in several splits is decoded and encoded once.
    all_paths = [path for videos in per_split_videos.values() for path, _ in videos]
    videos = encoder.encode_videos(
        all_paths,
        partial(read_video_frames, num_frames=num_frames),
        num_frames,
        use_contextualizer=args.use_contextualizer,
        desc=f"{dataset} videos",
    )
    table = videos.table()

    scored, counts, keys = {}, {}, []
    for split in splits:
        kept = []
        for path, label in per_split_videos[split.name]:
            if path in videos.failures:
                skip_log.reasons.append(f"{split.name} video {path}: {videos.failures[path]}")
            else:
                kept.append((path, label))
        if not kept:
            continue
        classes = class_embeddings(encoder, class_prompts(split.class_names, dataset, args.templates))
        scores = table.lookup([path for path, _ in kept]) @ classes.T
        scored[split.name] = (scores, np.array([label for _, label in kept]))
        counts[split.name] = len(kept)
        keys += [(split.name, path, label) for path, label in kept]
    if not scored:
        raise ValueError(f"{dataset}: no video left to evaluate.")
    item_table = M.classification_table(scored, ks=(1, 5), ties=args.ties, digest=items_digest(keys))
    values = item_table.evaluate()
    metrics = {name: value for name, value in values.items() if "/" not in name}
    per_split = {
        split: {name.split("/", 1)[1]: value for name, value in values.items() if name.startswith(f"{split}/")}
        for split in scored
    }
    return EvalResult(
        task=dataset,
        model=model_name,
        metrics=metrics,
        num_items=int(sum(counts.values())),
        settings=base_settings(
            args,
            video_dir=video_dir,
            splits=list(scored),
            num_frames=num_frames,
            frame_sampling="uniform segment centres",
            templates=args.templates,
            ties=args.ties,
            tie_rule=M.describe_ties("classification", args.ties),
            video_embedding="contextualizer video token"
            if args.use_contextualizer
            else "mean of frame embeddings (CLIP-level)",
            split_files={s.name: s.split_file for s in splits},
            label_files={s.name: s.label_file for s in splits},
            average="mean over the splits present",
        ),
        num_skipped=skip_log.count,
        details={
            "per_split": per_split,
            "num_items_per_split": counts,
            "num_classes_per_split": {s.name: len(s.class_names) for s in splits},
            **skip_details(skip_log),
        },
        item_tables=[item_table],
    )
