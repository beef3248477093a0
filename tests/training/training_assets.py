"""A small synthetic VidSitu-format release and a tiny random CLIP, for tests and quick smoke runs of the recipe.

`prepare_synthetic_assets(root, num_train, num_valid)` writes the release (official file names and schema, real mp4
clips) and a tiny CLIP checkpoint (tokenizer + image processor, saved like any Hub CLIP), so the real training code
runs on them end to end in seconds.
"""

from __future__ import annotations

import os
import re

import torch
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

from modeling_figclip.testing_utils import tiny_clip_config_dict
from modeling_figclip.tokenization_utils import build_word_level_clip_tokenizer


def prepare_synthetic_assets(root: str, num_train: int, num_valid: int, seed: int = 0) -> tuple[str, str, str]:
    """Write (or reuse) the synthetic release and the tiny base CLIP under `root`.

    Returns `(vidsitu_dir, video_dir, base_model_dir)`.
    """
    from dataset_scripts.vidsitu import write_synthetic_release

    data_dir = os.path.join(root, f"synthetic_vidsitu_{num_train}_{num_valid}_{seed}")
    if not os.path.isfile(os.path.join(data_dir, "vidsitu_annotations", "vseg_ann_files", "vsann_valid_lb.json")):
        write_synthetic_release(data_dir, num_train=num_train, num_valid=num_valid, seed=seed, video="mp4", size=(64, 64))
    video_dir = os.path.join(data_dir, "videos")

    base_dir = os.path.join(root, "tiny_base_clip")
    if not os.path.isfile(os.path.join(base_dir, "config.json")):
        words = set()
        annotations = os.path.join(data_dir, "vidsitu_annotations", "vseg_ann_files")
        for name in sorted(os.listdir(annotations)):
            with open(os.path.join(annotations, name), encoding="utf-8") as handle:
                words.update(re.findall(r"[a-z]+", handle.read().lower()))
        words.update("in this photo the action is where and scene of event".split())
        tokenizer = build_word_level_clip_tokenizer(sorted(words), model_max_length=77)
        torch.manual_seed(seed)
        config = CLIPConfig(**tiny_clip_config_dict(tokenizer, text_config={"max_position_embeddings": 77}))
        CLIPModel(config).save_pretrained(base_dir)
        tokenizer.save_pretrained(base_dir)
        CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(base_dir)
    return data_dir, video_dir, base_dir


def small_run_args(assets, output_dir, **overrides):
    """Command-line arguments of a 4-step run on the shared assets (plus overrides as `--key value`)."""
    values = {
        "config": None,
        "model_name_or_path": assets["base_dir"],
        "vidsitu_dir": assets["vidsitu_dir"],
        "video_dir": assets["video_dir"],
        "output_dir": str(output_dir),
        "lora_r": 4,
        "vc_num_layers": 1,
        "vc_num_attention_heads": 4,
        "per_device_train_batch_size": 4,
        "per_device_eval_batch_size": 4,
        "learning_rate": 1e-3,
        "max_steps": 4,
        "logging_steps": 1,
        "eval_steps": 0,
        "report_to": "none",
        "dataset_cache_dir": str(output_dir) + "_datasets_cache",
    }
    values.update(overrides)
    argv = []
    for key, value in values.items():
        if value is None:
            continue
        argv += [f"--{key}", str(value)]
    return argv
