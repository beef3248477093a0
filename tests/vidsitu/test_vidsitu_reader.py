"""Bad input: strict mode raises a `VidSituFormatError` naming file, clip, event and field; lenient mode skips the
record and counts it in a summary that the builder prints and returns."""

import copy
import os

import pytest
from vidsitu_fixtures import PAPER_EVENT, REAL_EV1, real_annotation

from dataset_scripts.vidsitu import (
    VidSituFormatError,
    load_vidsitu,
    make_synthetic_annotations,
    parse_annotation,
    parse_event,
    write_release,
)
from dataset_scripts.vidsitu.reader import read_annotated_split


def _records(seed=1, **counts):
    return make_synthetic_annotations(**{"num_train": 4, "num_valid": 2, "num_test": 1, "seed": seed, **counts})


def _write(tmp_path, records):
    return write_release(str(tmp_path / "release"), **records).root


def _first_key(event, prefix="Arg"):
    return next(key for key in event["Arg_List"] if key.startswith(prefix))


# --- parsing ----------------------------------------------------------------------------------------------------------
def test_parse_event_output():
    event = parse_event(REAL_EV1)
    assert event == {
        "verb": "dive (to drop)",
        "verb_lemma": "dive",
        "verb_id": "dive.02",
        "evrel": "Causes",
        "roles": [
            {"key": "Arg1 (thing falling)", "short": "Arg1", "description": "thing falling", "value": "man in wetsuit"},
            {"key": "ArgM (direction)", "short": "ADir", "description": "direction", "value": "downward"},
            {"key": "Scene of the Event", "short": "AScn", "description": "scene of the event", "value": "lake"},
        ],
    }


def test_parse_annotation_keeps_events_in_order_and_ev3_has_no_relation():
    clip_id, events = parse_annotation(real_annotation())
    assert clip_id == "v_M3u94uEBq9o_seg_80_90"
    assert [event["verb_lemma"] for event in events] == ["dive", "flip", "talk", "strike", "pull"]
    assert [event["evrel"] for event in events] == ["Causes", "Enables", None, "Reaction To", "Causes"]


@pytest.mark.parametrize(
    "mutate, reason, field",
    [
        (lambda e: e.pop("Verb"), "missing_field", "Verb"),
        (lambda e: e.update(Verb="(go)"), "bad_verb", "Verb"),
        (lambda e: e.update(VerbID=""), "missing_field", "VerbID"),
        (lambda e: e.pop("Args"), "missing_field", "Args"),
        (lambda e: e["Arg_List"].pop("ArgM (manner)"), "bad_arg_list", "Arg_List"),
        (lambda e: e["Arg_List"].update({"ArgM (manner)": "first"}), "bad_arg_list", "Arg_List['ArgM (manner)']"),
        (lambda e: e["Arg_List"].update({"ArgM (manner)": "0"}), "bad_arg_list", "Arg_List"),
        (lambda e: e["Args"].update({"ArgM (manner)": None}), "bad_value", "Args['ArgM (manner)']"),
        (lambda e: e["Args"].update({"ArgM (manner)": ["slowly"]}), "bad_value", "Args['ArgM (manner)']"),
        (lambda e: e.update(EvRel="Because"), "unknown_evrel", "EvRel"),
    ],
)
def test_parse_event_errors_name_the_field(mutate, reason, field):
    event = copy.deepcopy(PAPER_EVENT)
    mutate(event)
    with pytest.raises(VidSituFormatError) as info:
        parse_event(event, file="vsann_train_lb.json", clip_id="v_x_seg_0_10", event="Ev2")
    error = info.value
    assert (error.reason, error.field, error.event, error.clip_id) == (reason, field, "Ev2", "v_x_seg_0_10")
    assert "vsann_train_lb.json" in str(error) and "v_x_seg_0_10" in str(error) and "Ev2" in str(error)


def test_unknown_role_key_error():
    event = copy.deepcopy(PAPER_EVENT)
    event["Args"]["ArgM (time)"] = "at night"
    event["Arg_List"]["ArgM (time)"] = "4"
    with pytest.raises(VidSituFormatError) as info:
        parse_event(event, file="f.json", clip_id="c", event="Ev1")
    assert info.value.reason == "unknown_role_key"
    assert info.value.field == "Args['ArgM (time)']"


def test_null_evrel_is_none():
    event = copy.deepcopy(REAL_EV1)
    event["EvRel"] = "Null"
    assert parse_event(event)["evrel"] is None


# --- files and splits ---------------------------------------------------------------------------------------------
def _corrupt_first_train(records, mutate):
    clip_id = records["split_ids"]["train"][0]
    mutate(records["annotations"]["train"][0])
    return clip_id


@pytest.mark.parametrize(
    "mutate, reason, event, field",
    [
        (lambda a: a.pop("Ev4"), "missing_event", "Ev4", "Ev4"),
        (
            lambda a: (
                a["Ev2"]["Args"].__setitem__("ArgM (time)", "now"),
                a["Ev2"]["Arg_List"].__setitem__("ArgM (time)", "9"),
            ),
            "unknown_role_key",
            "Ev2",
            "Args['ArgM (time)']",
        ),
        (lambda a: a["Ev5"]["Args"].__setitem__(_first_key(a["Ev5"]), 3), "bad_value", "Ev5", None),
        (lambda a: a["Ev1"].__setitem__("EvRel", "Because"), "unknown_evrel", "Ev1", "EvRel"),
    ],
)
def test_strict_errors_name_file_clip_event_field(tmp_path, cache_dir, mutate, reason, event, field):
    records = _records()
    clip_id = _corrupt_first_train(records, mutate)
    root = _write(tmp_path, records)
    with pytest.raises(VidSituFormatError) as info:  # our error, not datasets' generic DatasetGenerationError
        load_vidsitu(root, "train", cache_dir=cache_dir)
    error = info.value
    assert error.reason == reason and error.clip_id == clip_id and error.event == event
    if field is not None:
        assert error.field == field
    message = str(error)
    assert "vsann_train_lb.json" in message and clip_id in message and event in message


def test_lenient_skips_and_counts(tmp_path, cache_dir, capsys):
    records = _records(num_train=6)
    ids = records["split_ids"]["train"]
    train = records["annotations"]["train"]
    train[0].pop("Ev4")  # missing event
    ev2 = train[1]["Ev2"]
    ev2["Args"]["ArgM (time)"], ev2["Arg_List"]["ArgM (time)"] = "now", "9"  # unknown role key
    train[2]["Ev5"]["Args"][_first_key(train[2]["Ev5"])] = 0.5  # not a noun phrase
    records["split_ids"]["train"] = ids + ["v_notAnnotated_seg_0_10"]  # clip id without annotation
    root = _write(tmp_path, records)

    dataset, summary = load_vidsitu(root, "train", strict=False, cache_dir=cache_dir, return_summary=True)
    assert sorted(dataset["clip_id"]) == sorted(ids[3:])
    assert summary["clips_in_split"] == 7 and summary["clips_kept"] == 3
    assert summary["skipped_clips"] == {
        "missing_event": 1,
        "unknown_role_key": 1,
        "bad_value": 1,
        "missing_annotation": 1,
    }
    assert any("v_notAnnotated_seg_0_10" in message for message in summary["examples"])
    printed = capsys.readouterr().out
    assert "kept 3/7 clips" in printed and "missing_event" in printed

    # From the cache: no regeneration, the summary is read back.
    dataset, summary_again = load_vidsitu(root, "train", strict=False, cache_dir=cache_dir, return_summary=True)
    assert summary_again == summary and len(dataset) == 3


def test_strict_missing_annotation(tmp_path, cache_dir):
    records = _records()
    records["split_ids"]["train"].append("v_notAnnotated_seg_0_10")
    root = _write(tmp_path, records)
    with pytest.raises(VidSituFormatError, match="v_notAnnotated_seg_0_10") as info:
        load_vidsitu(root, "train", cache_dir=cache_dir)
    assert info.value.reason == "missing_annotation"


@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize(
    "relative",
    [
        "split_files/vseg_split_train_lb.json",
        "vseg_ann_files/vsann_train_lb.json",
    ],
)
def test_missing_file_is_always_an_error(tmp_path, cache_dir, relative, strict):
    root = _write(tmp_path, _records())
    path = os.path.join(root, "vidsitu_annotations", relative)
    os.remove(path)
    with pytest.raises(VidSituFormatError, match="file not found") as info:
        load_vidsitu(root, "train", strict=strict, cache_dir=cache_dir)
    assert info.value.reason == "missing_file" and info.value.file == path


def test_missing_vinfo_file_for_valid(tmp_path, cache_dir):
    root = _write(tmp_path, _records())
    os.remove(os.path.join(root, "vidsitu_annotations", "vinfo_files", "vinfo_valid_lb.json"))
    with pytest.raises(VidSituFormatError, match="vinfo_valid_lb.json"):
        load_vidsitu(root, "valid", cache_dir=cache_dir)
    load_vidsitu(root, "train", cache_dir=cache_dir)  # train does not need it


def test_no_annotations_folder(tmp_path, cache_dir):
    with pytest.raises(VidSituFormatError, match="vidsitu_annotations"):
        load_vidsitu(str(tmp_path), "train", cache_dir=cache_dir)


def test_bad_json(tmp_path, cache_dir):
    root = _write(tmp_path, _records())
    with open(os.path.join(root, "vidsitu_annotations", "vseg_ann_files", "vsann_train_lb.json"), "w") as handle:
        handle.write("[{")
    with pytest.raises(VidSituFormatError, match="not valid JSON"):
        load_vidsitu(root, "train", cache_dir=cache_dir)


def test_duplicate_clip_in_split(tmp_path):
    records = _records()
    records["split_ids"]["train"].append(records["split_ids"]["train"][0])
    root = _write(tmp_path, records)
    annotations_dir = os.path.join(root, "vidsitu_annotations")
    with pytest.raises(VidSituFormatError, match="listed twice"):
        read_annotated_split(annotations_dir, "train", strict=True)
    clips, summary = read_annotated_split(annotations_dir, "train", strict=False)
    assert len(clips) == 4 and summary.skipped_clips == {"duplicate_clip": 1}


def test_valid_drops_a_bad_annotator_copy_but_keeps_the_clip(tmp_path):
    records = _records()
    valid = records["annotations"]["valid"]  # 3 copies per clip, clip by clip
    valid[1].pop("Ev2")  # second annotator of the first clip
    for copy_index in (3, 4, 5):  # every copy of the second clip
        valid[copy_index]["Ev1"]["Args"][_first_key(valid[copy_index]["Ev1"])] = None
    root = _write(tmp_path, records)
    annotations_dir = os.path.join(root, "vidsitu_annotations")
    with pytest.raises(VidSituFormatError, match="Ev2"):
        read_annotated_split(annotations_dir, "valid", strict=True)
    clips, summary = read_annotated_split(annotations_dir, "valid", strict=False)
    assert [clip.clip_id for clip in clips] == records["split_ids"]["valid"][:1]
    assert len(clips[0].annotations) == 2
    assert summary.dropped_annotations == {"missing_event": 1}
    assert summary.skipped_clips == {"bad_value": 1}


def test_valid_vinfo_problems(tmp_path):
    records = _records()
    first, second = records["split_ids"]["valid"]
    records["vinfo"]["valid"] = [record for record in records["vinfo"]["valid"] if record["vid_seg_int"] != second]
    records["vinfo"]["valid"][0]["vbid_lst"].pop("Ev3")
    root = _write(tmp_path, records)
    annotations_dir = os.path.join(root, "vidsitu_annotations")
    with pytest.raises(VidSituFormatError) as info:
        read_annotated_split(annotations_dir, "valid", strict=True)
    assert (info.value.clip_id, info.value.event, info.value.field) == (first, "Ev3", "vbid_lst['Ev3']")
    clips, summary = read_annotated_split(annotations_dir, "valid", strict=False)
    assert clips == [] and summary.skipped_clips == {"missing_event": 1, "missing_vinfo": 1}


def test_annotations_of_other_clips_are_ignored(tmp_path):
    records = _records()
    records["split_ids"]["train"] = records["split_ids"]["train"][:2]
    records["annotations"]["train"][3].pop("Ev1")  # broken, but not in the split: irrelevant
    root = _write(tmp_path, records)
    clips, summary = read_annotated_split(os.path.join(root, "vidsitu_annotations"), "train", strict=True)
    assert len(clips) == 2 and summary.unused_annotations == 2
