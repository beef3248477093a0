"""Shared assets for the training tests: one small synthetic VidSitu release and one tiny base CLIP per session."""

import os
import sys

import pytest
from training_assets import prepare_synthetic_assets

# The toy demo's orchestration lives beside the toy world's recipes (a script directory, not a package).
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if os.path.join(REPO, "recipes", "toy") not in sys.path:
    sys.path.insert(0, os.path.join(REPO, "recipes", "toy"))


@pytest.fixture(scope="session")
def assets(tmp_path_factory):
    root = tmp_path_factory.mktemp("training_assets")
    vidsitu_dir, video_dir, base_dir = prepare_synthetic_assets(str(root), num_train=12, num_valid=6)
    return {"vidsitu_dir": vidsitu_dir, "video_dir": video_dir, "base_dir": base_dir}


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
