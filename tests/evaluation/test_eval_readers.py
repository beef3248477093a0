"""Readers of the official benchmark files: formats, clear errors naming file and row, `--skip_missing` counts."""

import json
import os

import numpy as np
import pytest
from figclip_eval_helpers import (
    ACTION_CLASSES,
    fake_pos_tagger,
    synthetic_frames,
    write_action_dataset,
    write_aro_vg,
    write_karpathy,
    write_msrvtt,
    write_sugarcrepe,
)

from dataset_scripts.benchmarks import (
    KINETICS_TEMPLATES,
    UCF101_TEMPLATES,
    BenchmarkDataError,
    SkipLog,
    TextShuffler,
    class_name_to_text,
    find_split_files,
    load_class_names,
    load_order,
    load_retrieval_csv,
    load_split,
    load_sugarcrepe,
    load_vg,
    pre_caption,
    read_video_frames,
    uniform_frame_indices,
    vg_relation_excluded,
)
from dataset_scripts.benchmarks.perturbations import load_pos_tagger, trigrams
from dataset_scripts.benchmarks.video_io import write_test_video


# ----------------------------------------------------------------------------------------------------------- SugarCrepe
def test_sugarcrepe_reads_present_subsets_with_noncontiguous_keys(tmp_path):
    write_sugarcrepe(str(tmp_path / "data"), str(tmp_path / "val2017"), subsets=("swap_obj", "add_att"))
    items = load_sugarcrepe(str(tmp_path / "data"), str(tmp_path / "val2017"))
    assert [it.subset for it in items] == ["add_att"] * 4 + ["swap_obj"] * 4  # official order
    assert [it.key for it in items[:4]] == ["1", "3", "5", "7"]
    assert items[0].image_path.endswith("000000000001.jpg")


def test_sugarcrepe_missing_image_names_file_and_key(tmp_path):
    write_sugarcrepe(str(tmp_path / "data"), str(tmp_path / "val2017"), subsets=("add_att",))
    os.remove(tmp_path / "val2017" / "000000000002.jpg")
    with pytest.raises(BenchmarkDataError, match=r"add_att\.json, key '3': image .*000000000002\.jpg not found"):
        load_sugarcrepe(str(tmp_path / "data"), str(tmp_path / "val2017"))
    log = SkipLog(skip_missing=True)
    items = load_sugarcrepe(str(tmp_path / "data"), str(tmp_path / "val2017"), skip_log=log)
    assert len(items) == 3 and log.count == 1


def test_sugarcrepe_malformed_record_and_json(tmp_path):
    data = tmp_path / "data"
    write_sugarcrepe(str(data), str(tmp_path / "val2017"), subsets=("add_att",))
    records = json.loads((data / "add_att.json").read_text())
    records["5"] = {"filename": "000000000001.jpg", "caption": "x"}
    (data / "add_att.json").write_text(json.dumps(records))
    with pytest.raises(BenchmarkDataError, match=r"add_att\.json, key '5': malformed record"):
        load_sugarcrepe(str(data), str(tmp_path / "val2017"))
    (data / "add_att.json").write_text("{not json")
    with pytest.raises(BenchmarkDataError, match=r"add_att\.json: malformed JSON at line 1"):
        load_sugarcrepe(str(data), str(tmp_path / "val2017"))
    with pytest.raises(BenchmarkDataError, match="no SugarCrepe file"):
        load_sugarcrepe(str(tmp_path), str(tmp_path / "val2017"))
    with pytest.raises(BenchmarkDataError, match="Unknown SugarCrepe subset"):
        load_sugarcrepe(str(data), str(tmp_path / "val2017"), subsets=["add_color"])


# ----------------------------------------------------------------------------------------------------------- ARO
def test_excluded_relations_are_the_official_list():
    excluded = vg_relation_excluded()
    assert len(excluded) == 157 and "next to" in excluded and "on" not in excluded


def test_vg_relation_items_crop_to_bbox_and_group_by_relation(tmp_path):
    records = write_aro_vg(str(tmp_path), "relation")
    items = load_vg(str(tmp_path), "relation")
    assert len(items) == len(records)
    first = records[0]
    assert items[0].crop_box == (
        first["bbox_x"],
        first["bbox_y"],
        first["bbox_x"] + first["bbox_w"],
        first["bbox_y"] + first["bbox_h"],
    )
    assert [it.group for it in items[:3]] == ["on", "next to", "holding"]


def test_vg_attribution_groups_by_attribute_pair(tmp_path):
    write_aro_vg(str(tmp_path), "attribution")
    assert [it.group for it in load_vg(str(tmp_path), "attribution")[:2]] == ["red_small", "blue_big"]


def test_vg_errors_name_file_and_row(tmp_path):
    records = write_aro_vg(str(tmp_path), "relation")
    records[2]["bbox_w"] = 0
    records[4]["image_path"] = "missing.jpg"
    (tmp_path / "visual_genome_relation.json").write_text(json.dumps(records))
    with pytest.raises(BenchmarkDataError, match=r"visual_genome_relation\.json, row 2: empty bounding box"):
        load_vg(str(tmp_path), "relation")
    log = SkipLog(skip_missing=True)
    assert len(load_vg(str(tmp_path), "relation", skip_log=log)) == len(records) - 2
    assert log.count == 2 and "row 4: image" in log.reasons[1]


def test_pre_caption_matches_blip():
    assert pre_caption("A man (in red) rides: a horse!  ") == "a man in red rides a horse"
    assert pre_caption(" ".join(["w"] * 40)) == " ".join(["w"] * 30)


def test_trigrams_keep_the_remainder():
    assert trigrams(list("abcdefgh")) == [["a", "b", "c"], ["d", "e", "f"], ["g", "h"]]


def test_perturbations_keep_pos_classes_in_place_and_are_seeded():
    caption = "A red dog chases a small cat on the street."
    shuffler = TextShuffler(fake_pos_tagger(), seed=1)
    options = shuffler.caption_options(caption)
    assert options[0] == "a red dog chases a small cat on the street"
    tokens = options[1].split()
    assert tokens[0] == "a" and tokens[3] == "chases"  # only nouns/adjectives moved
    assert sorted([tokens[2], tokens[6], tokens[9]]) == ["cat", "dog", "street"]
    assert sorted([tokens[1], tokens[5]]) == ["red", "small"]
    # Before pre_caption the period is a token too; nouns and adjectives stay at their positions.
    allbut = TextShuffler(fake_pos_tagger(), seed=3).shuffle_allbut_nouns_and_adj(caption).split()
    assert [allbut[i] for i in (1, 2, 5, 6, 9)] == ["red", "dog", "small", "cat", "street"]
    assert sorted(allbut) == sorted(["A", "red", "dog", "chases", "a", "small", "cat", "on", "the", "street", "."])
    assert sorted(options[3].split()) == sorted(options[0].split())
    assert sorted(options[4].split()) == sorted(options[0].split())
    assert TextShuffler(fake_pos_tagger(), seed=1).caption_options(caption) == options
    assert any(TextShuffler(fake_pos_tagger(), seed=s).caption_options(caption) != options for s in range(2, 6))


def test_perturbations_follow_aros_random_streams():
    """Noun/adjective shuffles use NumPy's generator, trigram shuffles Python's, both seeded like ARO's seed_all."""
    import random

    caption = "a red dog chases a small cat"
    shuffler = TextShuffler(fake_pos_tagger(), word_tokenize=str.split, seed=7)
    numpy_rng, python_rng = np.random.RandomState(7), random.Random(7)
    tokens = np.array(caption.split(), dtype=object)
    tokens[[2, 6]] = numpy_rng.permutation(tokens[[2, 6]])
    tokens[[1, 5]] = numpy_rng.permutation(tokens[[1, 5]])
    assert shuffler.shuffle_nouns_and_adj(caption) == " ".join(tokens)
    groups = trigrams(caption.split())
    for group in groups:
        python_rng.shuffle(group)
    assert shuffler.shuffle_within_trigrams(caption) == " ".join(" ".join(g) for g in groups)


def test_order_reader_builds_five_options_per_caption(tmp_path):
    write_karpathy(str(tmp_path), "coco", num_images=3, captions_per_image=2)
    items = load_order(str(tmp_path), "coco", TextShuffler(fake_pos_tagger()))
    assert len(items) == 6 and all(len(it.caption_options) == 5 for it in items)
    assert items[0].image_path.endswith("val2014/COCO_val2014_000000000000.jpg")
    os.remove(items[-1].image_path)
    with pytest.raises(BenchmarkDataError, match=r"coco_karpathy_test\.json, row 2, caption 0: image"):
        load_order(str(tmp_path), "coco", TextShuffler(fake_pos_tagger()))
    log = SkipLog(skip_missing=True)
    assert len(load_order(str(tmp_path), "coco", TextShuffler(fake_pos_tagger()), skip_log=log)) == 4
    assert log.count == 2  # both captions of the missing image


def test_spacy_tagger_missing_gives_install_instructions(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_spacy(name, *args, **kwargs):
        if name == "spacy":
            raise ImportError("No module named 'spacy'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_spacy)
    with pytest.raises(ImportError, match="python -m spacy download en_core_web_sm"):
        load_pos_tagger("spacy")
    with pytest.raises(ValueError, match="module:factory"):
        load_pos_tagger("nonsense")


# ----------------------------------------------------------------------------------------------------------- retrieval CSV
def test_retrieval_csv_reader(tmp_path):
    ids = write_msrvtt(str(tmp_path), num_videos=3, extra_rows=["ret9,msr9770,video9770,a second caption"])
    data = load_retrieval_csv(str(tmp_path / "MSRVTT_JSFUSION_test.csv"), str(tmp_path / "videos"))
    assert data.video_ids == ids
    assert data.sentence_video_index == [0, 1, 2, 0]
    assert data.video_positives() == [[0, 3], [1], [2]]


def test_retrieval_csv_errors_name_file_and_line(tmp_path):
    write_msrvtt(str(tmp_path), num_videos=2, extra_rows=["ret7,msr1,video_missing,a caption", "ret8,msr2,,"])
    csv_path = str(tmp_path / "MSRVTT_JSFUSION_test.csv")
    with pytest.raises(BenchmarkDataError, match=r"MSRVTT_JSFUSION_test\.csv, line 4: video 'video_missing' not found"):
        load_retrieval_csv(csv_path, str(tmp_path / "videos"))
    log = SkipLog(skip_missing=True)
    data = load_retrieval_csv(csv_path, str(tmp_path / "videos"), log)
    assert len(data.sentences) == 2 and log.count == 2 and "line 5: malformed row" in log.reasons[1]
    (tmp_path / "bad.csv").write_text("id,caption\n1,x\n")
    with pytest.raises(BenchmarkDataError, match=r"lacks column\(s\) \['video_id', 'sentence'\]"):
        load_retrieval_csv(str(tmp_path / "bad.csv"), str(tmp_path / "videos"))


# ----------------------------------------------------------------------------------------------------------- video
def test_uniform_frame_indices():
    assert uniform_frame_indices(10, 5) == [1, 3, 5, 7, 9]
    assert uniform_frame_indices(3, 6) == [0, 0, 1, 1, 2, 2]  # short clips repeat frames
    assert uniform_frame_indices(1, 2) == [0, 0]


@pytest.mark.parametrize("extension,codec", [(".mp4", "mpeg4"), (".avi", "mpeg4"), (".webm", "libvpx")])
def test_read_video_frames_samples_uniformly(tmp_path, extension, codec):
    frames = np.stack([np.full((32, 32, 3), 20 * t, np.uint8) for t in range(10)])
    path = write_test_video(str(tmp_path / f"clip{extension}"), frames, codec=codec)
    sampled = read_video_frames(path, 5)
    assert sampled.shape == (5, 32, 32, 3)
    # Lossy codecs: compare mean intensities with the expected frames 1, 3, 5, 7, 9.
    assert np.allclose(sampled.reshape(5, -1).mean(1), [20, 60, 100, 140, 180], atol=12)


def test_read_video_frames_from_a_frame_folder(tmp_path):
    from PIL import Image

    for t, frame in enumerate(synthetic_frames(0, num_frames=6)):
        Image.fromarray(frame).save(tmp_path / f"clip_{t + 1:06d}.jpg")
    assert read_video_frames(str(tmp_path), 3).shape == (3, 32, 32, 3)


def test_undecodable_video_names_the_file(tmp_path):
    from dataset_scripts.benchmarks import VideoDecodeError

    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(VideoDecodeError, match="broken.mp4"):
        read_video_frames(str(bad), 4)


# ----------------------------------------------------------------------------------------------------------- action recognition
def test_class_names_to_prompt_text():
    assert class_name_to_text("ApplyEyeMakeup", camel_case=True) == "apply eye makeup"
    assert class_name_to_text("YoYo", camel_case=True) == "yo yo"
    assert class_name_to_text("brush_hair") == "brush hair"
    assert class_name_to_text("backflip (human)") == "backflip (human)"


def test_clip_template_lists():
    assert len(UCF101_TEMPLATES) == 48 and UCF101_TEMPLATES[0] == "a photo of a person {}."
    assert UCF101_TEMPLATES[-1] == "a demonstration of the person practicing {}."
    assert len(KINETICS_TEMPLATES) == 28 and KINETICS_TEMPLATES[:2] == ("a photo of {}.", "a photo of a person {}.")
    assert KINETICS_TEMPLATES[-1] == "a demonstration of a person practicing {}."


@pytest.mark.parametrize("dataset", ["ucf101", "hmdb51", "k600"])
def test_action_split_files_in_the_vifi_clip_layout(tmp_path, dataset):
    written = write_action_dataset(str(tmp_path), dataset, splits=(1, 3))
    found = find_split_files(dataset, str(tmp_path))
    assert [name for name, _, _ in found] == ["split1", "split3"]
    split = load_split(*found[0], video_dir=str(tmp_path / "videos"))
    assert split.class_names == tuple(ACTION_CLASSES[dataset])
    assert [label for _, label in split.videos] == [label for _, label in written[1]]
    with pytest.raises(BenchmarkDataError, match="split 2 list not found"):
        find_split_files(dataset, str(tmp_path), splits=[2])


def test_action_errors_name_file_and_line(tmp_path):
    write_action_dataset(str(tmp_path), "ucf101", splits=(1,))
    split_file = tmp_path / "datasets_splits" / "ucf_splits" / "val1.txt"
    split_file.write_text(split_file.read_text() + "v_unknown.avi 7\nmissing.avi 0\njunk\n")
    label_file = str(tmp_path / "labels" / "ucf_101_labels.csv")
    with pytest.raises(BenchmarkDataError, match=r"val1\.txt, line 4: unknown class id 7"):
        load_split("split1", str(split_file), label_file, str(tmp_path / "videos"))
    log = SkipLog(skip_missing=True)
    split = load_split("split1", str(split_file), label_file, str(tmp_path / "videos"), log)
    assert len(split.videos) == 3 and log.count == 3
    assert "line 5: video 'missing.avi' not found" in log.reasons[1] and "line 6: malformed" in log.reasons[2]
    (tmp_path / "labels.csv").write_text("id,name\n0,a\n2,c\n")
    with pytest.raises(BenchmarkDataError, match=r"labels\.csv: class ids must be 0\.\.1; missing \[1\]"):
        load_class_names(str(tmp_path / "labels.csv"))
