"""Training from a frame cache (``--frame_cache``): the recipe runs without the videos, sees the same evaluation
frames within JPEG error, resumes exactly, and refuses a cache built for another input size."""

import json
import os
import sys

import pytest
import torch
from safetensors.torch import load_file

from training_assets import small_run_args
from dataset_scripts.vidsitu.frame_cache import build_frame_cache, list_split_clip_ids, load_image_processor

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "recipes"))
import train_figclip  # noqa: E402


def run(argv):
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)  # each run plays a fresh `accelerate launch`
    return train_figclip.main(argv)


@pytest.fixture(scope="module")
def frame_cache(assets, tmp_path_factory):
    """A cache of the shared release's train and valid clips at the tiny base model's input size."""
    clip_ids, _ = list_split_clip_ids(assets["vidsitu_dir"], ["train", "valid"])
    out = str(tmp_path_factory.mktemp("frame_cache"))
    build_frame_cache(out, clip_ids, video_dir=assets["video_dir"], processor=load_image_processor(assets["base_dir"]),
                      jpeg_quality=95, progress=False)  # fmt: skip
    return out


def _losses(folder):
    records = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    return [record["train_loss"] for record in records if "train_loss" in record]


@pytest.mark.slow
def test_training_reads_the_cache_instead_of_the_videos(assets, frame_cache, tmp_path):
    common = dict(max_steps=2, temporal_jitter="false", eval_split="valid")
    run(small_run_args(assets, tmp_path / "videos", **common))
    result = run(small_run_args(assets, tmp_path / "cache", video_dir=None, frame_cache=frame_cache, **common))
    assert result.global_step == 2 and os.path.isfile(tmp_path / "cache" / "adapter_model.safetensors")
    # Evaluation frames (no jitter): the same clips and frames up to JPEG error, so nearly the same losses.
    for decoded, cached in zip(_losses(tmp_path / "videos"), _losses(tmp_path / "cache")):
        assert cached == pytest.approx(decoded, rel=1e-2)
    assert result.final_metrics["eval_loss"] == pytest.approx(
        json.loads((tmp_path / "videos" / "train_results.json").read_text())["eval_loss"], rel=1e-2
    )


@pytest.mark.slow
def test_cached_training_resumes_exactly(assets, frame_cache, tmp_path):
    common = dict(max_steps=4, save_steps=2, temporal_jitter="true", video_dir=None, frame_cache=frame_cache)
    run(small_run_args(assets, tmp_path / "full", **common))
    assert run(small_run_args(assets, tmp_path / "resumed", stop_after_steps=2, **common)).stopped_early
    run(small_run_args(assets, tmp_path / "resumed", resume_from_checkpoint="latest", **common))
    full, again = (load_file(tmp_path / name / "adapter_model.safetensors") for name in ("full", "resumed"))
    for name in full:
        torch.testing.assert_close(again[name], full[name], atol=0, rtol=0, msg=name)
    assert _losses(tmp_path / "full") == _losses(tmp_path / "resumed")


def test_a_cache_for_another_input_size_is_refused(assets, tmp_path):
    clip_ids, _ = list_split_clip_ids(assets["vidsitu_dir"], ["train", "valid"])
    other = str(tmp_path / "cache16")
    build_frame_cache(other, clip_ids, video_dir=assets["video_dir"], processor=load_image_processor(size=16),
                      progress=False)  # fmt: skip
    with pytest.raises(ValueError, match="build a cache for this model"):
        run(small_run_args(assets, tmp_path / "out", video_dir=None, frame_cache=other, max_steps=1))
