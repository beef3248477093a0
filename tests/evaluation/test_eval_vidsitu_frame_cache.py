"""`vidsitu_verbs --frame_cache`: the evaluator reads the cached segment-centre frames instead of the videos."""

import json

import pytest
from figclip_eval_helpers import load_recipe_main, read_json, save_tiny_model

from dataset_scripts.vidsitu import write_synthetic_release
from dataset_scripts.vidsitu.frame_cache import build_frame_cache, list_split_clip_ids, load_image_processor

QUIET = ["--show_progress", "false"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("vidsitu_cache_world")
    release = write_synthetic_release(str(root / "vidsitu"), num_train=6, num_valid=4, num_test=0, video="mp4",
                                      size=(32, 32))  # fmt: skip
    model = save_tiny_model(str(root / "clip"), seed=0)
    clip_ids, _ = list_split_clip_ids(release.root, ["train", "valid"])
    cache = str(root / "cache")
    build_frame_cache(cache, clip_ids, video_dir=release.video_dir, processor=load_image_processor(model),
                      jpeg_quality=95, progress=False)  # fmt: skip
    other = str(root / "cache16")
    build_frame_cache(other, clip_ids, video_dir=release.video_dir, processor=load_image_processor(size=16),
                      progress=False)  # fmt: skip
    return {"model": model, "vidsitu": release.root, "cache": cache, "cache16": other}


def test_verbs_from_the_cache_match_the_videos(world, tmp_path):
    main = load_recipe_main()
    base = ["--model", world["model"], "--task", "vidsitu_verbs", "--data_dir", world["vidsitu"], *QUIET]
    main([*base, "--output", str(tmp_path / "videos.json"), "--probe", "linear", "--probe_epochs", "5"])
    main([*base, "--output", str(tmp_path / "cache.json"), "--probe", "linear", "--probe_epochs", "5",
          "--frame_cache", world["cache"]])  # fmt: skip
    videos, cached = read_json(str(tmp_path / "videos.json")), read_json(str(tmp_path / "cache.json"))
    assert cached["settings"]["frame_cache"] == world["cache"] and cached["settings"]["video_dir"] is None
    assert cached["num_items"] == videos["num_items"] == 4
    # The same frames up to JPEG error (quality 95 here): the same predictions on this small split.
    metrics = [videos["metrics"], cached["metrics"]]
    assert metrics[1] == pytest.approx(metrics[0], abs=1e-9), json.dumps(metrics)


def test_a_cache_for_another_size_is_refused(world, tmp_path):
    main = load_recipe_main()
    with pytest.raises((SystemExit, ValueError)) as info:
        main(["--model", world["model"], "--task", "vidsitu_verbs", "--data_dir", world["vidsitu"], "--frame_cache",
              world["cache16"], "--output", str(tmp_path / "out.json"), *QUIET])  # fmt: skip
    assert "build a cache for this model" in str(info.value)
