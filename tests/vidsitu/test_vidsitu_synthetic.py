"""The synthetic VidSitu-format release: official names and schema, determinism, videos, custom content."""

import json
import os

import av
import numpy as np
import pytest
from vidsitu_fixtures import real_annotation

from dataset_scripts.vidsitu import (
    load_vidsitu,
    make_synthetic_annotations,
    parse_annotation,
    write_release,
    write_synthetic_release,
)
from dataset_scripts.vidsitu.prompts import parse_role_key
from dataset_scripts.vidsitu.synthetic import SYNTHETIC_VERBS, _colour

OFFICIAL_FILES = [
    "split_files/vseg_split_train_lb.json",
    "split_files/vseg_split_valid_lb.json",
    "split_files/vseg_split_testvb_lb.json",
    "split_files/vseg_split_testsrl_lb.json",
    "split_files/vseg_split_testevrel_lb.json",
    "vinfo_files/vinfo_train_lb.json",
    "vinfo_files/vinfo_valid_lb.json",
    "vseg_ann_files/vsann_train_lb.json",
    "vseg_ann_files/vsann_valid_lb.json",
    "vseg_ann_files/vsann_testsrl_noann_lb.json",
    "vseg_ann_files/vsann_testevrel_noann_lb.json",
]
VINFO_KEYS = {"vid_uid", "genres", "duration", "name", "text", "start", "end", "vid_seg_int", "movie_name",
              "upload_year", "clip_name", "imdb_id", "year_rel"}  # fmt: skip


def _load(release, relative):
    with open(os.path.join(release.annotations_dir, relative)) as handle:
        return json.load(handle)


def test_official_layout_and_schema(release):
    for relative in OFFICIAL_FILES:
        assert os.path.isfile(os.path.join(release.annotations_dir, relative)), relative
    assert sorted(os.listdir(release.annotations_dir)) == ["split_files", "vinfo_files", "vseg_ann_files"]
    train_ids = _load(release, OFFICIAL_FILES[0])
    assert len(train_ids) == 6 and all(clip_id.startswith("v_") and "_seg_" in clip_id for clip_id in train_ids)
    for clip_id in train_ids:  # parse as prep_data/dwn_yt.py does
        youtube_id, segment = clip_id.split("v_", 1)[1].rsplit("_seg_", 1)
        start, end = map(int, segment.split("_"))
        assert len(youtube_id) == 11 and end - start == 10

    vinfo_train, vinfo_valid = _load(release, OFFICIAL_FILES[5]), _load(release, OFFICIAL_FILES[6])
    assert all(set(record) == VINFO_KEYS for record in vinfo_train)
    assert all(set(record) == VINFO_KEYS | {"vb_to_use", "vb_lst", "vbid_lst"} for record in vinfo_valid)
    assert all(len(record["vbid_lst"][f"Ev{k}"]) == 10 for record in vinfo_valid for k in range(1, 6))

    valid = _load(release, OFFICIAL_FILES[8])
    assert len(valid) == 3 * 3  # 3 annotators per clip
    for annotation in _load(release, OFFICIAL_FILES[7]) + valid:
        assert sorted(annotation) == ["Ev1", "Ev2", "Ev3", "Ev4", "Ev5"]
        assert "EvRel" not in annotation["Ev3"]
        for name, event in annotation.items():
            expected = {"vid_uid", "vid_seg_int", "Args", "Arg_List", "Verb", "VerbID"} | (
                {"EvRel"} if name != "Ev3" else set()
            )
            assert set(event) == expected
            assert set(event["Args"]) == set(event["Arg_List"])
            assert sorted(int(position) for position in event["Arg_List"].values()) == list(range(len(event["Args"])))
            assert all(parse_role_key(key) is not None for key in event["Args"])
        parse_annotation(annotation)  # validates


def test_messy_real_strings_are_present():
    records = make_synthetic_annotations(num_train=200, num_valid=0, num_test=0, seed=0)
    keys, verbs = set(), set()
    for annotation in records["annotations"]["train"]:
        for event in annotation.values():
            keys |= set(event["Args"])
            verbs.add(event["Verb"])
    assert {"Arg0 (agent, hitter - animate only!)", "Arg1 (air, we hope)", "Arg2 (DIR or attribute of arg1)",
            "Arg0 (flipper, agent)", "Scene of the Event"} <= keys  # fmt: skip
    assert {"pull ((try to) cause motion)", "choke (to have or cause to have  difficulty in breathing)"} <= verbs


def test_deterministic_from_seed(tmp_path):
    a = write_synthetic_release(str(tmp_path / "a"), num_train=5, num_valid=2, num_test=1, seed=7)
    b = write_synthetic_release(str(tmp_path / "b"), num_train=5, num_valid=2, num_test=1, seed=7)
    c = write_synthetic_release(str(tmp_path / "c"), num_train=5, num_valid=2, num_test=1, seed=8)
    for relative in OFFICIAL_FILES:
        assert _load(a, relative) == _load(b, relative)
    assert _load(a, OFFICIAL_FILES[7]) != _load(c, OFFICIAL_FILES[7])


def test_any_size(tmp_path):
    release = write_synthetic_release(str(tmp_path), num_train=0, num_valid=1, num_test=3, seed=0)
    assert [len(release.split_ids[split]) for split in ("train", "valid", "testvb")] == [0, 1, 3]
    assert load_vidsitu(release.root, "train", cache_dir=str(tmp_path / "cache")).num_rows == 0


def test_videos_and_frame_folders(release):
    clip_id = release.split_ids["testvb"][0]  # test clips get videos too
    with av.open(os.path.join(release.video_dir, f"{clip_id}.mp4")) as container:
        stream = container.streams.video[0]
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
        assert float(stream.average_rate) == 30 and stream.codec_context.name in ("h264", "libx264", "mpeg4")
    assert len(frames) == 300 and frames[0].shape == (32, 32, 3)
    names = sorted(os.listdir(os.path.join(release.frames_dir, clip_id)))
    assert len(names) == 300
    assert names[0] == f"{clip_id}_000001.jpg" and names[-1] == f"{clip_id}_000300.jpg"


def test_default_frames_colour_encodes_the_verb(release, cache_dir):
    dataset = load_vidsitu(release.root, "train", frames_dir=release.frames_dir, cache_dir=cache_dir)
    palette = {verb_id: _colour(verb_id).astype(int) for verb_id, _, _ in SYNTHETIC_VERBS}
    for row in dataset:
        for event, frames in zip(row["events"], row["pixel_values_videos"]):
            background = frames[0, :, -1, -1].numpy().astype(int)  # a corner pixel, channels first
            assert np.abs(background - palette[event["verb_id"]]).max() <= 12  # JPEG noise aside
            # ... and the verb can be read back: its colour is the nearest of all verb colours
            nearest = min(palette, key=lambda verb_id: np.abs(background - palette[verb_id]).sum())
            assert nearest == event["verb_id"]


def test_custom_records_and_renderer(tmp_path, cache_dir):
    """What a toy world does: its own annotation records and its own frames."""
    annotation = real_annotation()
    clip_id = annotation["Ev1"]["vid_seg_int"]
    rendered = []

    def frames_fn(clip, raw_annotation, num_frames, fps, size):
        rendered.append((clip, raw_annotation is not None, num_frames, fps, size))
        return np.full((num_frames, *size, 3), 200, np.uint8)

    release = write_release(
        str(tmp_path / "toy"),
        split_ids={"train": [clip_id], "testsrl": ["v_testclip0001_seg_0_10"]},
        annotations={"train": [annotation]},
        vinfo={"train": [{"vid_seg_int": clip_id}]},
        video="mp4",
        frames_fn=frames_fn,
        size=(16, 16),
        fps=25,
        clip_seconds=10,
    )
    assert rendered == [(clip_id, True, 250, 25, (16, 16)), ("v_testclip0001_seg_0_10", False, 250, 25, (16, 16))]
    train = load_vidsitu(release.root, "train", video_dir=release.video_dir, cache_dir=cache_dir)
    row = train[0]
    assert row["events"][2]["prompt"].startswith("In this photo, the action is talk where, the talker is brunette girl")
    assert row["pixel_values_videos"].shape == (5, 4, 3, 16, 16)
    assert abs(int(row["pixel_values_videos"].float().mean()) - 200) <= 3
    assert _load(release, "split_files/vseg_split_valid_lb.json") == []  # missing splits written empty


def test_bad_video_option(tmp_path):
    with pytest.raises(ValueError, match="video"):
        write_synthetic_release(str(tmp_path), video="avi")
