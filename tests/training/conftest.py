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
