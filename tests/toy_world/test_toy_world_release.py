"""The toy world's VidSitu release: official names and schema, loadable by the VidSitu builder in strict mode."""

import json
import os
import re

import numpy as np
import pytest
from toy_world_fixtures import TINY_WORLD

from dataset_scripts.toy_world import VERBS, build_world, world_srl_prompt, world_clips
from dataset_scripts.toy_world.release import VIDEO_DIRNAME
from dataset_scripts.toy_world.render import render_clip
from dataset_scripts.toy_world.video import read_mp4
from dataset_scripts.toy_world.world import WorldConfig

CLIP_ID = re.compile(r"^v_[A-Za-z0-9_-]{11}_seg_(\d+)_(\d+)$")


def _annotations(world_dir):
    return os.path.join(world_dir, "vidsitu", "vidsitu_annotations")


def _load(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def test_official_files_exist(tiny_world):
    root = _annotations(tiny_world[0])
    expected = [f"split_files/vseg_split_{s}_lb.json" for s in ("train", "valid", "testvb", "testsrl", "testevrel")]
    expected += [f"vinfo_files/vinfo_{s}_lb.json" for s in ("train", "valid")]
    expected += [f"vseg_ann_files/vsann_{s}_lb.json" for s in ("train", "valid")]
    expected += [f"vseg_ann_files/vsann_{s}_noann_lb.json" for s in ("testsrl", "testevrel")]
    for relative in expected:
        assert os.path.isfile(os.path.join(root, relative)), relative


@pytest.mark.parametrize("split", ["train", "valid"])
def test_annotation_schema(tiny_world, split):
    world_dir, _ = tiny_world
    root = _annotations(world_dir)
    clip_ids = _load(os.path.join(root, f"split_files/vseg_split_{split}_lb.json"))
    assert len(clip_ids) == {"train": TINY_WORLD.num_train_clips, "valid": TINY_WORLD.num_valid_clips}[split]
    for clip_id in clip_ids:
        start, end = map(int, CLIP_ID.match(clip_id).groups())
        assert end - start == 10
        assert os.path.isfile(os.path.join(world_dir, "vidsitu", VIDEO_DIRNAME, f"{clip_id}.mp4"))
    annotations = _load(os.path.join(root, f"vseg_ann_files/vsann_{split}_lb.json"))
    copies = {"train": 1, "valid": 3}[split]
    assert len(annotations) == copies * len(clip_ids)
    for annotation in annotations:
        assert sorted(annotation) == [f"Ev{k}" for k in range(1, 6)]
        for name, event in annotation.items():
            assert event["vid_seg_int"] in clip_ids and event["vid_uid"]
            assert event["VerbID"] in VERBS and event["Verb"].startswith(VERBS[event["VerbID"]].lemma + " (")
            assert set(event["Args"]) == set(event["Arg_List"])
            assert sorted(event["Arg_List"].values(), key=int) == [str(i) for i in range(len(event["Args"]))]
            assert list(event["Args"])[-1] == "Scene of the Event"
            assert ("EvRel" in event) == (name != "Ev3")
    vinfo = _load(os.path.join(root, f"vinfo_files/vinfo_{split}_lb.json"))
    assert [record["vid_seg_int"] for record in vinfo] == clip_ids
    for record in vinfo:
        for key in ("vid_uid", "genres", "duration", "name", "text", "start", "end", "movie_name", "upload_year",
                    "clip_name", "imdb_id", "year_rel"):
            assert key in record
        if split == "valid":
            for name in (f"Ev{k}" for k in range(1, 6)):
                assert len(record["vbid_lst"][name]) == 10 and len(record["vb_lst"][name]) == 10
                assert record["vb_to_use"][name] in record["vb_lst"][name]


def test_splits_are_disjoint_and_deterministic():
    config = WorldConfig(seed=5, num_pretrain_clips=30, num_train_clips=30, num_valid_clips=10, num_benchmark_clips=30)
    first, second = world_clips(config), world_clips(config)
    assert first == second
    ids = [clip.clip_id for clips in first.values() for clip in clips]
    assert len(ids) == len(set(ids))
    other = world_clips(WorldConfig(seed=6, num_pretrain_clips=30, num_train_clips=30, num_valid_clips=10,
                                    num_benchmark_clips=30))
    assert [c.clip_id for c in other["train"]] != [c.clip_id for c in first["train"]]


def test_same_seed_gives_identical_files(tiny_world, tmp_path):
    _, manifest = tiny_world
    again = build_world(str(tmp_path / "again"), TINY_WORLD, log=lambda message: None)
    assert again["fingerprint"] == manifest["fingerprint"]
    assert again["digests"] == manifest["digests"]


def test_existing_world_is_reused(tiny_world):
    world_dir, manifest = tiny_world
    messages = []
    assert build_world(world_dir, TINY_WORLD, log=messages.append) == manifest
    assert any("reusing" in message for message in messages)


def test_videos_are_full_clips(tiny_world):
    world_dir, _ = tiny_world
    clip = world_clips(TINY_WORLD)["train"][0]
    decoded = read_mp4(os.path.join(world_dir, "vidsitu", VIDEO_DIRNAME, f"{clip.clip_id}.mp4"))
    assert decoded.shape == (300, 64, 64, 3)
    rendered = render_clip(clip)
    mse = np.mean((decoded.astype(np.float64) - rendered) ** 2)
    assert 10 * np.log10(255**2 / mse) > 38  # near-lossless: the 1-pixel cues survive the codec


def test_vidsitu_builder_reads_the_release_strictly(tiny_world, tmp_path):
    from dataset_scripts.vidsitu import load_vidsitu

    world_dir, _ = tiny_world
    release = os.path.join(world_dir, "vidsitu")
    clips = {clip.clip_id: clip for clip in world_clips(TINY_WORLD)["train"] + world_clips(TINY_WORLD)["valid"]}
    for split, count in (("train", TINY_WORLD.num_train_clips), ("valid", TINY_WORLD.num_valid_clips)):
        dataset = load_vidsitu(release, split, video_dir=os.path.join(release, VIDEO_DIRNAME), strict=True,
                               cache_dir=str(tmp_path / "cache"), num_negatives=4)
        assert len(dataset) == count
        row = dataset[0]
        clip = clips[row["clip_id"]]
        assert [event["prompt"] for event in row["events"]] == [world_srl_prompt(clip, event) for event in clip.events]
        assert all(event["negative_prompts"] for event in row["events"])
        assert tuple(np.asarray(row["pixel_values_videos"]).shape) == (5, 4, 3, 64, 64)
